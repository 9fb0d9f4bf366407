"""The Celery path on the real local Redis: a worker killed mid-job, the job completes once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
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


def test_killed_celery_worker_job_completes_exactly_once(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.jobs.celery_app import reset_celery

    queue = f"archive-test-{uuid.uuid4().hex[:8]}"
    env_over = {
        "ARCHIVE_JOBS": "celery",
        "ARCHIVE_REDIS_URL": redis_url,
        "ARCHIVE_CELERY_QUEUE": queue,
        "ARCHIVE_JOB_HEARTBEAT_SECONDS": "1",
    }
    for k, v in env_over.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    reset_celery()
    marker = tmp_path / "slow-marker"
    env = {**os.environ, **env_over, "SLOW_MARKER": str(marker), "PYTHONPATH": str(PROJECT_ROOT)}
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("slow_celery_worker.py"))],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=PROJECT_ROOT,
    )
    try:
        code = new_clip()
        sha = upload(client, contributor, code, phone_clip.read_bytes()).json()["sha256"]
        wait_for(marker.exists, timeout=60)
        running = job("keyframes")
        assert running is not None and running.state == "running" and running.attempts == 1
        child = int(marker.read_text())
        assert f":{child}:" in (running.claimed_by or "")
        os.kill(child, signal.SIGKILL)  # the pool process dies in the middle of the job
        wait_for(lambda: (j := job("hashes")) is not None and j.state == "done", timeout=90)
    except AssertionError as exc:
        log.flush()
        raise AssertionError(
            f"{exc}\n--- worker log ---\n{(tmp_path / 'worker.log').read_text()[-4000:]}"
        ) from None
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()
        reset_celery()
    kf = job("keyframes")
    assert kf is not None and kf.state == "done" and kf.attempts == 2
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(ProcessingJob)) == 3
        gen = s.scalar(select(Media.derivative_generation))
        rows = s.execute(select(Keyframe.position, Keyframe.generation)).all()
    assert rows and {g for _, g in rows} == {gen}
    assert sorted(p for p, _ in rows) == list(range(len(rows)))
    root = Path(get_settings().media_root) / "derivatives" / sha[:2] / sha[2:4] / sha
    assert [p.name for p in root.iterdir()] == [gen], "one set of keyframes on disk"
