"""probe -> keyframes -> hashes as durable jobs; the team API for keyframes, images,
processing state, retry and the original download."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.config import get_settings
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.ingest.models import Keyframe, Media
from app.jobs import runner, service
from app.jobs.models import ProcessingJob
from app.kit.clock import utcnow
from app.video import VideoError
from tests.ingest.conftest import upload, wait_for


def run_all(limit: int = 20) -> int:
    ran = 0
    while runner.execute("test-worker") and ran < limit:
        ran += 1
    return ran


def processed(client: Any, who: Any, code: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/clips/{code}/processing", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def gen_dirs(sha: str) -> list[Path]:
    root = Path(get_settings().media_root) / "derivatives" / sha[:2] / sha[2:4] / sha
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


def test_pipeline_produces_keyframes_images_and_hashes(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    code = new_clip()
    r = upload(client, contributor, code, phone_clip.read_bytes())
    sha = r.json()["sha256"]
    assert run_all() == 4
    state = processed(client, contributor, code)
    assert (state["state"], state["progress"], state["step"]) == ("done", 100, None)
    assert [s["step"] for s in state["steps"]] == ["probe", "keyframes", "hashes", "match"]
    assert all(s["state"] == "done" and s["attempts"] == 1 for s in state["steps"])

    kf = client.get(f"/api/v1/clips/{code}/keyframes", headers=contributor.headers).json()
    items = kf["items"]
    assert kf["original_sha256"] == sha and len(items) >= 2
    assert items[0]["timestamp"] == 0 and items[0]["source"] == "keyframe"
    assert [i["timestamp"] for i in items] == sorted(i["timestamp"] for i in items)
    assert any(abs(i["timestamp"] - 1.5) < 0.01 for i in items), "the cut at 1.5 s is covered"
    assert all(len(i["phash"]) == 16 and len(i["sha256"]) == 64 for i in items)
    for url in (
        items[0]["url"],
        items[0]["thumbnail_url"],
        kf["poster_url"],
        kf["contact_sheet_url"],
    ):
        img = client.get(url, headers=contributor.headers)
        assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
        assert img.content[:3] == b"\xff\xd8\xff"
    assert client.get(items[0]["url"]).status_code == 401
    with session_scope() as s:
        assert s.scalar(select(Media.fixity_checked_at)) is not None
    assert len(gen_dirs(sha)) == 1


def test_original_download_is_custody_logged(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    code = new_clip()
    data = phone_clip.read_bytes()
    upload(client, contributor, code, data)
    r = client.get(f"/api/v1/clips/{code}/media/original", headers=contributor.headers)
    assert r.status_code == 200 and r.content == data
    assert "attachment" in r.headers["content-disposition"]
    r = client.get(
        f"/api/v1/clips/{code}/media/original",
        params={"inline": "true"},
        headers=contributor.headers,
    )
    assert r.status_code == 200
    with session_scope() as s:
        actions = list(
            s.scalars(
                select(CustodyEvent.action)
                .where(CustodyEvent.clip_code == code)
                .order_by(CustodyEvent.id)
            )
        )
    assert actions[-2:] == ["media.original_downloaded", "media.original_viewed"]
    assert client.get(f"/api/v1/clips/{code}/media/original").status_code == 401


def test_rerunning_keyframes_replaces_the_set_and_never_duplicates(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    code = new_clip()
    sha = upload(client, contributor, code, phone_clip.read_bytes()).json()["sha256"]
    run_all()
    with session_scope() as s:
        before = [
            (k.timestamp, k.sha256) for k in s.scalars(select(Keyframe).order_by(Keyframe.position))
        ]
        old_gen = s.scalar(select(Media.derivative_generation))
        media = s.scalars(select(Media)).one()
        service.enqueue(s, clip_id=media.clip_id, media_id=media.id, sha256=sha, step="keyframes")
    run_all()
    with session_scope() as s:
        after = [
            (k.timestamp, k.sha256) for k in s.scalars(select(Keyframe).order_by(Keyframe.position))
        ]
        new_gen = s.scalar(select(Media.derivative_generation))
        assert s.scalar(select(func.count()).select_from(ProcessingJob)) == 4
    assert after == before and new_gen != old_gen
    assert [p.name for p in gen_dirs(sha)] == [new_gen]


def test_a_failing_step_records_ffmpeg_stderr_and_can_be_retried(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.ingest import tasks

    code = new_clip()
    upload(client, contributor, code, phone_clip.read_bytes())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise VideoError(
            "ffmpeg failed (exit 1): decoding error",
            stderr_tail="[h264 @ 0x1] error while decoding MB 3 4",
        )

    monkeypatch.setattr(tasks, "extract_keyframes", broken)
    run_all()
    state = processed(client, contributor, code)
    assert state["state"] == "failed" and state["step"] == "keyframes"
    assert (
        "decoding error" in state["last_error"] and "error while decoding MB" in state["last_error"]
    )
    assert not any(
        p.is_dir()
        for p in gen_dirs(
            client.get(f"/api/v1/clips/{code}/media", headers=contributor.headers).json()["sha256"]
        )
    )
    monkeypatch.undo()
    r = client.post(f"/api/v1/clips/{code}/processing/retry", headers=contributor.headers)
    assert r.status_code == 200 and r.json()["state"] == "queued"
    assert (
        client.post(
            f"/api/v1/clips/{code}/processing/retry", headers=contributor.headers
        ).status_code
        == 409
    )
    run_all()
    assert processed(client, contributor, code)["state"] == "done"


def test_unexpected_errors_are_retried_then_fail(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from app.jobs import registry

    code = new_clip()
    upload(client, contributor, code, phone_clip.read_bytes())

    def disk_error(*args: Any) -> Any:
        raise OSError(5, "EIO")

    probe = registry.get_step("probe")
    monkeypatch.setitem(registry._steps, "probe", replace(probe, run=disk_error))
    run_all()
    state = processed(client, contributor, code)
    assert state["state"] == "failed" and state["attempts"] == get_settings().job_max_attempts
    assert "EIO" in state["last_error"]


def test_a_job_whose_worker_died_is_requeued_and_finished_once(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    code = new_clip()
    upload(client, contributor, code, phone_clip.read_bytes())
    with session_scope() as s:  # a worker on this host claimed it, then its process died
        s.execute(
            update(ProcessingJob).values(
                state="running",
                claimed_by=f"{service.HOST}:{2**22 + 17}:dead:embedded-0",
                claim_token="f" * 32,
                attempts=1,
                heartbeat_at=utcnow(),
            )
        )
    with session_scope() as s:
        assert service.requeue_stuck(s, stuck_after=3600, max_attempts=3) != []
    run_all()
    state = processed(client, contributor, code)
    assert state["state"] == "done" and state["steps"][0]["attempts"] == 2


def test_a_silent_remote_worker_is_requeued_after_the_timeout(db_url: str) -> None:
    old = utcnow() - timedelta(seconds=120)
    with session_scope() as s:
        job = _fake_job(s)
        job.state, job.claimed_by, job.heartbeat_at, job.attempts = (
            "running",
            "elsewhere:1:x:w",
            old,
            1,
        )
    with session_scope() as s:
        assert service.requeue_stuck(s, stuck_after=600, max_attempts=3) == []
        assert service.requeue_stuck(s, stuck_after=60, max_attempts=3) == [job.id]
        row = s.get(ProcessingJob, job.id)
        assert row is not None and row.state == "queued" and "elsewhere" in (row.last_error or "")


def test_a_worker_that_lost_its_claim_writes_nothing(db_url: str) -> None:
    with session_scope() as s:
        job_id = _fake_job(s).id
    with session_scope() as s:
        first = service.claim(s, "w1", job_id)
    assert first is not None
    with session_scope() as s:  # the sweeper gave it to someone else
        s.execute(update(ProcessingJob).values(state="queued", claim_token=None))
    with session_scope() as s:
        second = service.claim(s, "w2", job_id)
    assert second is not None and second.attempt == 2
    with session_scope() as s:
        assert service.lock_owned(s, job_id, first.token) is None
        assert not service.heartbeat(s, job_id, first.token, 50)
        assert service.lock_owned(s, job_id, second.token) is not None


def _fake_job(s: Any) -> ProcessingJob:
    from app.clips.models import Clip
    from app.places.models import Place

    place_id = s.scalar(select(Place.id).limit(1))
    from datetime import date

    clip = Clip(
        code="IRN500",
        country_code="IRN",
        seq=500,
        place_id=place_id,
        date_edtf="2019",
        date_earliest=date(2019, 1, 1),
        date_latest=date(2019, 12, 31),
        date_display_en="2019",
        date_display_fa="2019",
    )
    s.add(clip)
    s.flush()
    media = Media(clip_id=clip.id, sha256="c" * 64, size=1, container="mov", probe={}, via="raw")
    s.add(media)
    s.flush()
    job = ProcessingJob(
        clip_id=clip.id,
        media_id=media.id,
        step="probe",
        original_sha256="c" * 64,
        state="queued",
        progress=0,
        attempts=0,
    )
    s.add(job)
    s.flush()
    return job


def test_embedded_workers_process_uploads_and_resume_after_restart(
    db_url: str, make_user: Any, phone_clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    who = make_user("contributor")
    body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"}
    with TestClient(create_app()) as c:  # jobs off: the upload stays queued
        code = c.post("/api/v1/clips", json=body, headers=who.headers).json()["code"]
        assert upload(c, who, code, phone_clip.read_bytes()).status_code == 201
    with session_scope() as s:  # and one step was "running" in a process that died
        s.execute(
            update(ProcessingJob).values(
                state="running",
                claimed_by=f"{service.HOST}:{os.getpid()}:oldboot:embedded-0",
                claim_token="e" * 32,
                attempts=1,
                heartbeat_at=utcnow(),
            )
        )
    monkeypatch.setenv("ARCHIVE_JOBS", "embedded")
    monkeypatch.setenv("ARCHIVE_JOB_POLL_SECONDS", "0.1")
    get_settings.cache_clear()
    with TestClient(create_app()) as c:
        wait_for(lambda: processed(c, who, code)["state"] == "done", timeout=60)
        code2 = c.post("/api/v1/clips", json=body, headers=who.headers).json()["code"]
        other = phone_clip.read_bytes() + b"\0" * 16  # different bytes, same video
        assert upload(c, who, code2, other).status_code == 201
        wait_for(lambda: processed(c, who, code2)["state"] == "done", timeout=60)
        assert (
            len(c.get(f"/api/v1/clips/{code2}/keyframes", headers=who.headers).json()["items"]) >= 2
        )
