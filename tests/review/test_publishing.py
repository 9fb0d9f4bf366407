"""Publishing queues the public playback copy; retraction deletes it; the partner feed hears
about every change to a published clip's public output exactly once."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import session_scope
from app.jobs import runner
from app.jobs import service as jobs
from app.jobs.models import ProcessingJob
from tests.public.conftest import CANARY_DEVICE, CANARY_GPS, make_original
from tests.review.conftest import Api, Team
from tests.review.test_team_web import HTML, login


def run_jobs(limit: int = 20) -> list[str]:
    """Run queued jobs in this thread; returns the steps that ran, in order."""
    ran: list[str] = []
    while len(ran) < limit:
        with session_scope() as s:
            step = s.scalar(
                select(ProcessingJob.step)
                .where(ProcessingJob.state == "queued")
                .order_by(ProcessingJob.id)
            )
        if step is None or not runner.execute("test-worker"):
            return ran
        ran.append(step)
    return ran


@pytest.fixture()
def full_key(db_url: str) -> Any:
    """A partner key with every scope (for the change feed)."""
    from app.partners import service as partners
    from tests.public.conftest import Key

    with session_scope() as s:
        partner = partners.get_or_create_partner(s, "Newsroom")
        key, plain = partners.create_key(s, partner, ["read", "export", "feed"], actor="test")
        return Key(key.id, plain, ["read", "export", "feed"])


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("publishing") / "phone.mov"
    make_original(path)  # H.264/AAC .mov with GPS and device tags
    return path.read_bytes()


def upload(api: Api, who: Any, code: str, data: bytes) -> str:
    r = api.c.post(
        f"/api/v1/clips/{code}/media",
        params={"filename": "phone.mov"},
        content=data,
        headers={**who.headers, "Content-Type": "video/quicktime"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["sha256"])


def verified_with_media(api: Api, team: Team, data: bytes) -> tuple[str, str]:
    code = api.new_clip(team.uploader, title_en="Footage for the public")
    sha = upload(api, team.uploader, code, data)
    assert run_jobs() == ["probe", "keyframes", "hashes", "match"]
    api.ok_move(code, team.uploader, "submitted", "please review")
    api.ok_move(code, team.r1, "in_review", "starting")
    api.complete_checklist(code, team.r1)
    assert api.approve(code, team.r1).status_code == 201
    assert api.approve(code, team.r2).json()["status"] == "verified"
    return code, sha


def cursor(client: TestClient, key: Any) -> str:
    r = client.get("/api/v1/changes?limit=500", headers=key.headers)
    assert r.status_code == 200, r.text
    return str(r.json()["next_cursor"])


def events_since(client: TestClient, key: Any, since: str) -> list[tuple[str, str]]:
    r = client.get(f"/api/v1/changes?since={since}", headers=key.headers)
    assert r.status_code == 200, r.text
    return [(e["kind"], e["code"]) for e in r.json()["events"]]


def ffprobe(data: bytes, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "served.mp4"
    path.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def playback_file(sha: str) -> Path:
    from app.public import sources

    return sources.playback_path(sources.MediaInfo(sha, None, None, None, None))


def steps_of(client: TestClient, who: Any, code: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/clips/{code}/processing", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_publishing_makes_the_playback_copy_and_retraction_deletes_it(
    client: TestClient, api: Api, team: Team, original: bytes, full_key: Any, tmp_path: Path
) -> None:
    code, sha = verified_with_media(api, team, original)
    since = cursor(client, full_key)
    api.ok_move(code, team.publisher, "published", "public now")
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404  # not made yet
    assert "playback.mp4" not in client.get(f"/clips/{code}", headers=HTML).text
    assert events_since(client, full_key, since) == [("published", code)]

    assert run_jobs() == ["playback"]
    assert playback_file(sha).is_file()
    page = client.get(f"/clips/{code}", headers=HTML)
    assert f'src="/clips/{code}/playback.mp4"' in page.text
    served = client.get(f"/clips/{code}/playback.mp4")
    assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"
    info = ffprobe(served.content, tmp_path)
    codecs = sorted(s["codec_name"] for s in info["streams"])
    assert codecs == ["aac", "h264"]
    tags = json.dumps(
        [info["format"].get("tags", {})] + [s.get("tags", {}) for s in info["streams"]]
    )
    assert CANARY_GPS not in tags and CANARY_DEVICE not in tags and "location" not in tags
    assert (
        CANARY_DEVICE.encode() not in served.content and CANARY_GPS.encode() not in served.content
    )
    part = client.get(f"/clips/{code}/playback.mp4", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == served.content[10:20]

    # the feed: published, then updated once the copy exists (with its URL)
    assert events_since(client, full_key, since) == [("published", code), ("updated", code)]
    detail = client.get(f"/api/v1/published/{code}", headers=full_key.headers).json()
    assert detail["media"]["playback_url"].endswith(f"/clips/{code}/playback.mp4")

    # the ingest state stays "done"; the playback job is listed next to the ingest steps
    state = steps_of(client, team.r1, code)
    assert (state["state"], state["progress"]) == ("done", 100)
    assert [(s["step"], s["state"]) for s in state["steps"]][-1] == ("playback", "done")

    since = cursor(client, full_key)
    api.ok_move(code, team.publisher, "retracted", "the source withdrew consent")
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404  # at once
    assert run_jobs() == ["playback"]
    assert not playback_file(sha).exists()
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404
    assert events_since(client, full_key, since) == [("retracted", code)]


def test_a_clip_without_media_is_published_without_a_job(
    client: TestClient, api: Api, team: Team
) -> None:
    code = api.verified(team)
    api.ok_move(code, team.publisher, "published", "public now")
    with session_scope() as s:
        assert s.scalars(select(ProcessingJob)).all() == []
    page = client.get(f"/clips/{code}", headers=HTML)
    assert page.status_code == 200 and "playback.mp4" not in page.text


def test_a_failed_playback_job_shows_on_the_clip_page_and_can_be_retried(
    client: TestClient,
    api: Api,
    team: Team,
    original: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.public import tasks
    from app.video import VideoError

    code, sha = verified_with_media(api, team, original)
    real = tasks.make_playback_copy

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise VideoError("ffmpeg could not write the playback copy", stderr_tail="disk full")

    monkeypatch.setattr(tasks, "make_playback_copy", broken)
    api.ok_move(code, team.publisher, "published", "public now")
    assert run_jobs() == ["playback"]
    state = steps_of(client, team.r1, code)
    assert state["state"] == "done"  # the ingest steps are all done
    assert [(s["step"], s["state"]) for s in state["steps"]][-1] == ("playback", "failed")

    token = login(client, team.r1)
    page = client.get(f"/team/clips/{code}", headers=HTML).text
    assert 'data-step="playback" data-state="failed"' in page
    assert "disk full" in page and 'data-testid="retry"' in page
    monkeypatch.setattr(tasks, "make_playback_copy", real)
    form: dict[str, Any] = {
        "data": {"csrf_token": token},
        "headers": HTML,
        "follow_redirects": False,
    }
    r = client.post(f"/team/clips/{code}/retry", **form)
    assert r.status_code == 303, r.text
    assert run_jobs() == ["playback"]
    assert playback_file(sha).is_file()
    page = client.get(f"/team/clips/{code}", headers=HTML).text
    assert 'data-step="playback" data-state="done"' in page and 'data-testid="retry"' not in page
    r = client.post(f"/team/clips/{code}/retry", **form)
    assert r.status_code == 409  # nothing has failed


def test_reprocessing_a_published_clip_is_one_update_in_the_feed(
    client: TestClient, api: Api, team: Team, original: bytes, full_key: Any
) -> None:
    code, sha = verified_with_media(api, team, original)
    api.ok_move(code, team.publisher, "published", "public now")
    assert run_jobs() == ["playback"]
    with session_scope() as s:
        row = s.scalars(select(ProcessingJob).where(ProcessingJob.step == "probe")).one()
        clip_id, media_id = row.clip_id, row.media_id

    since = cursor(client, full_key)
    with session_scope() as s:  # keyframes re-extracted (then hashed again)
        jobs.enqueue(s, clip_id=clip_id, media_id=media_id, sha256=sha, step="keyframes")
    assert run_jobs() == ["keyframes", "hashes", "match"]
    assert events_since(client, full_key, since) == [("updated", code)]

    since = cursor(client, full_key)
    with session_scope() as s:  # the whole chain again: the probe finds nothing new
        jobs.enqueue(s, clip_id=clip_id, media_id=media_id, sha256=sha, step="probe")
    assert run_jobs() == ["probe", "keyframes", "hashes", "match"]
    assert events_since(client, full_key, since) == [("updated", code)]


def test_reprocessing_an_unpublished_clip_stays_out_of_the_feed(
    client: TestClient, api: Api, team: Team, original: bytes, full_key: Any
) -> None:
    since = cursor(client, full_key)
    code, sha = verified_with_media(api, team, original)
    with session_scope() as s:
        row = s.scalars(select(ProcessingJob).where(ProcessingJob.step == "probe")).one()
        jobs.enqueue(s, clip_id=row.clip_id, media_id=row.media_id, sha256=sha, step="keyframes")
    assert run_jobs() == ["keyframes", "hashes", "match"]
    assert events_since(client, full_key, since) == []


def test_footage_cannot_be_attached_in_place_to_a_published_clip_without_any(
    client: TestClient, api: Api, team: Team, original: bytes, full_key: Any
) -> None:
    """Issue 13: a published record without footage (every demo record) gets its footage
    only through a correction (tests/review/test_corrections.py); a plain upload is 409
    and nothing reaches the public side or the feed."""
    from app.clips import service as clips
    from app.clips.schemas import ClipCreate

    with session_scope() as s:  # as `archive import --published` does for demo clips
        code = clips.create(
            s,
            ClipCreate(city="Shiraz", province="Fars", date="16 Nov 2019", title_en="demo"),  # type: ignore[call-arg]
            actor="test",
            user_id=None,
            status="published",
        ).code
    since = cursor(client, full_key)
    for who in (team.uploader, team.admin):
        r = api.c.post(
            f"/api/v1/clips/{code}/media",
            params={"filename": "phone.mov"},
            content=original,
            headers={**who.headers, "Content-Type": "video/quicktime"},
        )
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "record_frozen"
        assert r.json()["corrections"] == f"/api/v1/clips/{code}/corrections"
    assert events_since(client, full_key, since) == []
    assert client.get(f"/api/v1/published/{code}").json()["media"] is None
    assert run_jobs() == []
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404


def test_the_checklist_of_a_published_clip_is_locked_so_the_feed_is_quiet(
    client: TestClient, api: Api, team: Team, full_key: Any
) -> None:
    code = api.verified(team)
    api.ok_move(code, team.publisher, "published", "public now")
    since = cursor(client, full_key)
    r = api.check(code, team.r1, "content_described", note="changed after publishing")
    assert r.status_code == 409, r.text
    assert events_since(client, full_key, since) == []
    body = client.get(f"/api/v1/published/{code}").json()
    assert "changed after publishing" not in json.dumps(body)


def test_a_celery_worker_process_knows_the_playback_step() -> None:
    """`archive worker` (or `celery -A app.worker`) imports only the worker entry point: the
    step must be registered from there (a fresh interpreter, no other app module imported)."""
    import sys

    code = (
        "import app.worker; from app.jobs import registry; "
        "step = registry.get_step('playback'); from app.public.tasks import run_playback; "
        "print(step.run is run_playback and step.next is None)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


def test_deleting_a_published_clip_removes_its_playback_copy(
    client: TestClient, api: Api, team: Team, original: bytes
) -> None:
    code, sha = verified_with_media(api, team, original)
    api.ok_move(code, team.publisher, "published", "public now")
    assert run_jobs() == ["playback"]
    assert playback_file(sha).is_file()

    r = client.delete(
        f"/api/v1/clips/{code}", params={"reason": "duplicate"}, headers=team.admin.headers
    )
    assert r.status_code == 204, r.text
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404  # at once
    assert run_jobs() == ["playback"]
    assert not playback_file(sha).exists()
    from app.storage.store import get_store

    assert Path(get_store().original_path(sha)).is_file()  # the evidence stays
