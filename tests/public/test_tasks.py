"""The playback job step: makes the copy from the stored original and logs an update."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import session_scope
from tests.public.conftest import Key, make_original


def test_run_playback_then_serve(
    client: TestClient, add_clip: Callable[..., str], full_key: Key, tmp_path: Path
) -> None:
    from app.clips.models import Clip
    from app.ingest.models import Media
    from app.public import tasks
    from app.storage.store import get_store

    code = add_clip(title_en="needs a playback copy")
    original = tmp_path / "o.mov"
    make_original(original)
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    store = get_store()
    target = store.original_path(sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(original.read_bytes())
    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        media = Media(clip_id=clip.id, sha256=sha, size=target.stat().st_size,
                      container="mov", probe={"duration": 2.0}, via="raw")  # fmt: skip
        session.add(media)
        session.flush()
        media_id = media.id
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404
    since = client.get("/api/v1/changes?limit=500", headers=full_key.headers).json()["next_cursor"]
    seen: list[float] = []
    outcome = tasks.run_playback(media_id, sha, seen.append)
    assert seen == [1.0]
    with session_scope() as session:
        outcome.apply(session)
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 200
    events = client.get(f"/api/v1/changes?since={since}", headers=full_key.headers).json()
    assert [(e["kind"], e["code"]) for e in events["events"]] == [("updated", code)]
    assert events["events"][0]["clip"]["media"]["playback_url"].endswith("/playback.mp4")
    assert tasks.remove_playback(sha) is True
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404
