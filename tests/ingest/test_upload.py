"""Raw and multipart uploads: durable originals, duplicates, limits, bad files."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.config import get_settings
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.ingest.models import Media
from app.jobs.models import ProcessingJob
from tests.ingest.conftest import store_files, upload
from tests.media import avi_wrapped, concat_playlist, hls_playlist


def media_root() -> Path:
    return Path(get_settings().media_root)


def test_raw_upload_stores_a_read_only_original_and_queues_processing(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    code = new_clip()
    data = phone_clip.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    r = upload(client, contributor, code, data, name="VID_0001.mp4")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["sha256"] == sha and body["hash"] == f"SHA-256:{sha}"
    assert body["size"] == len(data) and body["filename"] == "VID_0001.mp4"
    assert body["via"] == "raw" and r.headers["location"].endswith(f"/{code}/media")
    meta = body["metadata"]
    assert meta["width"] == 160 and meta["video_codec"] == "h264" and meta["audio_codec"] == "aac"
    assert meta["gps"] == "+35.6892+051.3890/" and meta["device_model"] == "iPhone 12"
    assert set(body["sensitive_fields"]) >= {"gps", "device_make", "device_model"}
    assert body["processing"]["state"] == "queued" and body["processing"]["step"] == "probe"

    path = media_root() / "originals" / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store_files(media_root())["tmp"] == []
    with session_scope() as s:
        ev = s.scalars(select(CustodyEvent).where(CustodyEvent.action == "media.ingested")).one()
        assert ev.clip_code == code and ev.payload["sha256"] == sha
        assert ev.payload["size"] == len(data) and ev.payload["filename"] == "VID_0001.mp4"
        job = s.scalars(select(ProcessingJob)).one()
        assert (job.step, job.state, job.original_sha256) == ("probe", "queued", sha)
    # the team API returns the metadata
    r = client.get(f"/api/v1/clips/{code}/media", headers=contributor.headers)
    assert r.status_code == 200 and r.json()["metadata"]["gps"] == "+35.6892+051.3890/"


def test_multipart_upload_is_streamed_and_keeps_the_filename_as_metadata(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    code = new_clip()
    data = phone_clip.read_bytes()
    r = client.post(
        f"/api/v1/clips/{code}/media",
        headers=contributor.headers,
        files={"file": ("../../etc/evil name.mp4", data, "video/mp4")},
        data={"note": "hello"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["via"] == "multipart" and body["filename"] == "../../etc/evil name.mp4"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    files = store_files(media_root())
    assert files["tmp"] == [] and files["originals"] == [
        f"{body['sha256'][:2]}/{body['sha256'][2:4]}/{body['sha256']}"
    ]


def test_multipart_without_a_file_field_is_refused(
    client: Any, contributor: Any, new_clip: Any
) -> None:
    code = new_clip()
    r = client.post(
        f"/api/v1/clips/{code}/media",
        headers=contributor.headers,
        files={"other": ("x.mp4", b"abc", "video/mp4")},
    )
    assert r.status_code == 400 and "no file field" in r.json()["detail"]
    assert store_files(media_root())["tmp"] == []


def test_exact_duplicate_gets_409_naming_the_clip(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    first, second = new_clip(), new_clip()
    data = phone_clip.read_bytes()
    assert upload(client, contributor, first, data).status_code == 201
    r = upload(client, contributor, second, data)
    assert r.status_code == 409
    assert r.json()["error"] == "duplicate_media" and r.json()["clip"] == first
    assert first in r.json()["detail"]
    assert store_files(media_root())["tmp"] == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 1


def test_a_clip_keeps_its_first_original(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, other_clip: Path
) -> None:
    code = new_clip()
    assert upload(client, contributor, code, phone_clip.read_bytes()).status_code == 201
    r = upload(client, contributor, code, other_clip.read_bytes())
    assert r.status_code == 409 and r.json()["error"] == "clip_has_media"


def test_size_limit_is_enforced_while_streaming(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_MAX_UPLOAD_BYTES", "10000")
    get_settings.cache_clear()
    code = new_clip()
    data = phone_clip.read_bytes()
    assert len(data) > 10000

    def body() -> Any:  # no Content-Length: the limit must bite while streaming
        for i in range(0, len(data), 4096):
            yield data[i : i + 4096]

    r = client.post(
        f"/api/v1/clips/{code}/media",
        content=body(),
        headers={**contributor.headers, "Content-Type": "video/mp4"},
    )
    assert r.status_code == 413 and r.json()["error"] == "upload_too_large"
    r = upload(client, contributor, code, data)  # declared length: refused before reading
    assert r.status_code == 413
    files = store_files(media_root())
    assert files["tmp"] == [] and files["originals"] == []


@pytest.mark.parametrize("case", ["text", "jpeg", "empty", "truncated", "pdf"])
def test_bad_files_get_a_clear_error_and_leave_nothing(
    client: Any, contributor: Any, new_clip: Any, truncated_clip: Path, jpeg_bytes: bytes, case: str
) -> None:
    data, status, words = {
        "text": (b"hello, this is not a video at all\n" * 20, 415, "text"),
        "jpeg": (jpeg_bytes, 415, "JPEG"),
        "empty": (b"", 415, "empty"),
        "truncated": (truncated_clip.read_bytes(), 422, "truncated"),
        "pdf": (b"%PDF-1.4\n" + b"x" * 100, 415, "PDF"),
    }[case]
    code = new_clip()
    r = upload(client, contributor, code, data, name="evidence.mp4")
    assert r.status_code == status, r.text
    assert words in r.json()["detail"] and r.json()["field"] == "file"
    files = store_files(media_root())
    assert files["tmp"] == [] and files["originals"] == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 0
        assert s.scalar(select(func.count()).select_from(ProcessingJob)) == 0


@pytest.mark.parametrize("kind", ["hls", "concat", "hls-in-avi", "concat-in-avi"])
def test_playlists_are_refused_without_any_outbound_request(
    client: Any, contributor: Any, new_clip: Any, canary: tuple[int, list[str]], kind: str
) -> None:
    port, hits = canary
    payload = {
        "hls": hls_playlist(port),
        "concat": concat_playlist(port),
        "hls-in-avi": avi_wrapped(hls_playlist(port)),
        "concat-in-avi": avi_wrapped(concat_playlist(port)),
    }[kind]
    code = new_clip()
    r = upload(client, contributor, code, payload, name="playlist.mp4")
    assert r.status_code in (415, 422), r.text
    assert r.json()["detail"]
    assert hits == []
    files = store_files(media_root())
    assert files["tmp"] == [] and files["originals"] == []


def test_wrong_content_type_and_unknown_clip(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    code = new_clip()
    r = upload(client, contributor, code, b"{}", ctype="application/json")
    assert r.status_code == 415 and r.json()["field"] == "content-type"
    r = upload(client, contributor, "IRN999", phone_clip.read_bytes())
    assert r.status_code == 404


def test_uploads_need_a_team_member(client: Any, new_clip: Any, phone_clip: Path) -> None:
    code = new_clip()
    r = client.post(
        f"/api/v1/clips/{code}/media",
        content=phone_clip.read_bytes(),
        headers={"Content-Type": "video/mp4"},
    )
    assert r.status_code == 401


def test_failing_commit_leaves_no_row_and_a_reusable_original(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the row's commit fails after the promote, the response is an error (never 201),
    nothing references the file, the next sweep sets the unreferenced original aside in
    quarantine/ (never deleted), and uploading the same bytes again succeeds."""
    from sqlalchemy.orm import Session

    from app.ingest import consistency
    from app.ingest.tasks import sweep_temp_files as sweep_temp
    from app.storage import get_store

    code = new_clip()
    data = phone_clip.read_bytes()
    real_commit = Session.commit
    calls = {"n": 0}

    def failing_commit(self: Session) -> None:
        if calls["n"] == 0 and _has_pending_media(self):
            calls["n"] += 1
            self.rollback()
            raise RuntimeError("database went away")
        real_commit(self)

    monkeypatch.setattr(Session, "commit", failing_commit)
    with pytest.raises(RuntimeError):
        upload(client, contributor, code, data)
    monkeypatch.setattr(Session, "commit", real_commit)
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 0
    sha = hashlib.sha256(data).hexdigest()
    tmp = store_files(media_root())["tmp"]
    assert len(tmp) == 1 and tmp[0].endswith(f".{sha}.promote")  # the promotion's intent
    sweep_temp()  # the commit's outcome is settled from the database: no row
    files = store_files(media_root())
    assert files["tmp"] == [] and files["originals"] == []
    assert (media_root() / "quarantine" / sha).read_bytes() == data
    with session_scope() as s:
        assert consistency.check(s, get_store()) == []
    r = upload(client, contributor, code, data)
    assert r.status_code == 201, r.text


def _has_pending_media(session: Any) -> bool:
    from sqlalchemy import select as sel

    try:
        return session.scalar(sel(func.count()).select_from(Media)) > 0
    except Exception:  # noqa: BLE001
        return False


def test_temp_sweep_removes_only_stale_files(db_url: str) -> None:
    from app.storage import MediaStore

    store = MediaStore(get_settings().media_root)
    store.ensure()
    old, fresh = store.tmp / "old.part", store.tmp / "fresh.part"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(old, (1, 1))
    assert store.sweep_temp(3600) == 1
    assert not old.exists() and fresh.exists()
