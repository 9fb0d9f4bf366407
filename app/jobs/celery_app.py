"""Celery + Redis backend, the worker side (ARCHIVE_JOBS=celery): `archive worker` on any
number of machines that share the database, Redis and the media store.

The message carries only the job id; the database row decides. Tasks are acknowledged
late and rejected (so re-delivered) when the worker process dies; a re-delivered task
takes over a row whose previous worker is dead, and does nothing when the row is done or
held by a live worker, so running a task twice leaves one result. A sweeper thread in
each `archive worker` re-queues jobs without heartbeats, re-sends queued rows whose
message was lost and runs the registered sweepers on their timers.

The process must be assembled first (app/tasks.py); the entry point that does it is
app/worker.py (`archive worker`, or `celery -A app.worker worker`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from app.config import get_settings
from app.db import reset_engine, session_scope
from app.jobs import runner, service, sweep
from app.jobs.broker import TASK, get_celery

log = logging.getLogger("archive.jobs")


def run_job(job_id: int) -> bool:
    return runner.execute(service.worker_identity("celery"), job_id)


def worker_celery() -> Celery:
    """The Celery app with the job task bound to the runner (what a worker consumes)."""
    app = get_celery()
    if TASK not in app.tasks:
        app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)(run_job)
    return app


@worker_process_init.connect
def _fresh_engine_after_fork(**_: Any) -> None:
    reset_engine()  # never share the parent's database connections with a forked child


def _upkeep(older_than: float) -> None:
    settings = get_settings()
    with session_scope() as session:
        service.requeue_stuck(
            session,
            stuck_after=settings.job_stuck_after_seconds,
            max_attempts=settings.job_max_attempts,
        )
        service.resend_queued(session, older_than=older_than)


def _sweeper(stop: threading.Event, schedule: sweep.Schedule) -> None:
    every = sweep.tick_seconds()
    while not stop.wait(every):
        try:
            _upkeep(get_settings().job_stuck_after_seconds)
        except Exception:  # noqa: BLE001 - try again on the next round
            log.exception("celery sweeper failed")
        schedule.run_due(every)


def run_worker(concurrency: int, *, pool: str = "prefork", loglevel: str = "INFO") -> None:
    """Run a Celery worker in the foreground (blocks until it is stopped). The caller has
    run the start-up checks and sweepers (app/jobs/lifecycle.py ``start``)."""
    settings = get_settings()
    app = worker_celery()
    _upkeep(0)  # jobs whose worker died on this host, or that were never sent
    schedule = sweep.Schedule()
    schedule.started()
    stop = threading.Event()
    sweeper = threading.Thread(
        target=_sweeper, args=(stop, schedule), name="archive-sweeper", daemon=True
    )
    sweeper.start()
    try:
        app.worker_main(
            [
                "worker",
                f"--loglevel={loglevel}",
                f"--concurrency={concurrency}",
                f"--pool={pool}",
                "-Q",
                settings.celery_queue,
                "-n",
                f"archive-{service.HOST}-{service.BOOT_ID}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
        )
    finally:
        stop.set()
