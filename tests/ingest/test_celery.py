"""The Celery path on the real local Redis: a worker killed mid-job, the job completes once;
`archive worker` runs the ingest steps and the public playback copy of a published clip."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.config import PROJECT_ROOT, get_settings
from app.db import session_scope
from app.ingest.models import Keyframe, Media
from app.jobs.models import ProcessingJob
from tests.conftest import service_missing
from tests.ingest.conftest import upload, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        service_missing("Redis", "TEST_REDIS_URL")
    assert url is not None
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {url} ({type(exc).__name__})", "TEST_REDIS_URL")
    return url


def job(step: str) -> ProcessingJob | None:
    with session_scope() as s:
        return s.scalar(select(ProcessingJob).where(ProcessingJob.step == step))


def done(step: str) -> bool:
    j = job(step)
    return j is not None and j.state == "done"


@pytest.fixture
def celery_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """ARCHIVE_JOBS=celery on the real Redis, with a queue of this test's own; the settings
    for this process, returned for the worker's."""
    from app.jobs.broker import reset_celery

    env_over = {
        "ARCHIVE_JOBS": "celery",
        "ARCHIVE_REDIS_URL": redis_url,
        "ARCHIVE_CELERY_QUEUE": f"archive-test-{uuid.uuid4().hex[:8]}",
        "ARCHIVE_JOB_HEARTBEAT_SECONDS": "1",
    }
    for k, v in env_over.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    reset_celery()
    yield env_over
    reset_celery()


@contextmanager
def worker(argv: list[str], env: dict[str, str], log_path: Path) -> Iterator[None]:
    """A worker process in its own session; stopped (its whole group) on exit. Its log is
    added to any assertion that fails inside."""
    log = open(log_path, "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **env, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=PROJECT_ROOT,
    )
    try:
        yield
    except AssertionError as exc:
        log.flush()
        raise AssertionError(f"{exc}\n--- worker log ---\n{log_path.read_text()[-4000:]}") from None
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()


def test_killed_celery_worker_job_completes_exactly_once(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    celery_env: dict[str, str],
    tmp_path: Path,
) -> None:
    marker = tmp_path / "slow-marker"
    script = str(Path(__file__).with_name("slow_celery_worker.py"))
    env = {**celery_env, "SLOW_MARKER": str(marker)}
    with worker([sys.executable, script], env, tmp_path / "worker.log"):
        code = new_clip()
        sha = upload(client, contributor, code, phone_clip.read_bytes()).json()["sha256"]
        wait_for(marker.exists, timeout=60)
        running = job("keyframes")
        assert running is not None and running.state == "running" and running.attempts == 1
        child = int(marker.read_text())
        assert f":{child}:" in (running.claimed_by or "")
        os.kill(child, signal.SIGKILL)  # the pool process dies in the middle of the job
        wait_for(lambda: done("hashes"), timeout=90)
    kf = job("keyframes")
    assert kf is not None and kf.state == "done" and kf.attempts == 2
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(ProcessingJob)) == 4
        gen = s.scalar(select(Media.derivative_generation))
        rows = s.execute(select(Keyframe.position, Keyframe.generation)).all()
    assert rows and {g for _, g in rows} == {gen}
    assert sorted(p for p, _ in rows) == list(range(len(rows)))
    root = Path(get_settings().media_root) / "derivatives" / sha[:2] / sha[2:4] / sha
    assert [p.name for p in root.iterdir()] == [gen], "one set of keyframes on disk"


def test_archive_worker_makes_the_playback_copy_of_a_published_clip(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    celery_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """The real `archive worker` command runs the ingest steps through Redis, then the
    playback copy queued when the clip is published (a published clip's footage is frozen,
    so it arrives first), and the public page then serves the copy."""
    from app.clips.models import Clip
    from app.public import sources
    from app.public.jobs import queue_playback

    code = new_clip()
    archive = Path(sys.executable).with_name("archive")
    argv = [str(archive), "worker", "--concurrency", "1"]
    with worker(argv, celery_env, tmp_path / "worker.log"):
        r = upload(client, contributor, code, phone_clip.read_bytes())
        assert r.status_code == 201, r.text
        sha = r.json()["sha256"]
        ingest = ("probe", "keyframes", "hashes", "match")
        wait_for(lambda: all(done(step) for step in ingest), timeout=120)
        with session_scope() as s:
            clip = s.scalar(select(Clip).where(Clip.code == code))
            assert clip is not None
            clip.status = "published"
            queue_playback(s, clip.id)
        steps = (*ingest, "playback")
        wait_for(lambda: done("playback"), timeout=120)
    copy = sources.playback_path(sources.MediaInfo(sha, None, None, None, None))
    assert copy.is_file()
    served = client.get(f"/clips/{code}/playback.mp4")
    assert served.status_code == 200 and served.content == copy.read_bytes()
    assert served.content[4:8] == b"ftyp"
    with session_scope() as s:
        jobs = s.scalars(select(ProcessingJob)).all()
        assert sorted(j.step for j in jobs) == sorted(steps)
        assert all(j.attempts == 1 for j in jobs)
