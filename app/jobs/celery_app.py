"""Celery + Redis backend (ARCHIVE_JOBS=celery): `archive worker` on any number of machines
that share the database, Redis and the media store.

The message carries only the job id; the database row decides. Tasks are acknowledged
late and rejected (so re-delivered) when the worker process dies; a re-delivered task
takes over a row whose previous worker is dead, and does nothing when the row is done or
held by a live worker, so running a task twice leaves one result. A sweeper thread in
each `archive worker` re-queues jobs without heartbeats and re-sends queued rows whose
message was lost.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from app.config import get_settings
from app.db import reset_engine, session_scope
from app.jobs import runner, service

log = logging.getLogger("archive.jobs")
TASK = "archive.run_job"
_app: Celery | None = None
_lock = threading.Lock()


def run_job(job_id: int) -> bool:
    return runner.execute(service.worker_identity("celery"), job_id)


def get_celery() -> Celery:
    global _app
    with _lock:
        if _app is None:
            settings = get_settings()
            app = Celery("archive", broker=settings.redis_url, set_as_current=False)
            app.conf.update(
                task_acks_late=True,
                task_reject_on_worker_lost=True,
                worker_prefetch_multiplier=1,
                task_default_queue=settings.celery_queue,
                task_serializer="json",
                accept_content=["json"],
                task_ignore_result=True,
                broker_connection_retry_on_startup=True,
                broker_transport_options={
                    "visibility_timeout": settings.celery_visibility_timeout_seconds
                },
                worker_hijack_root_logger=False,
                worker_send_task_events=False,
            )
            app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)(run_job)
            _app = app
        return _app


def reset_celery() -> None:
    """Forget the app (settings changed: tests, CLI)."""
    global _app
    with _lock:
        _app = None


def send_job(job_id: int) -> None:
    get_celery().send_task(TASK, args=[job_id], queue=get_settings().celery_queue)


@worker_process_init.connect
def _fresh_engine_after_fork(**_: Any) -> None:
    reset_engine()  # never share the parent's database connections with a forked child


def _sweeper(stop: threading.Event) -> None:
    settings = get_settings()
    every = max(1.0, min(60.0, settings.job_stuck_after_seconds / 4))
    while not stop.wait(every):
        try:
            from app.jobs.lifecycle import sweep_temp

            sweep_temp()
            with session_scope() as session:
                service.requeue_stuck(
                    session,
                    stuck_after=settings.job_stuck_after_seconds,
                    max_attempts=settings.job_max_attempts,
                )
                service.resend_queued(session, older_than=settings.job_stuck_after_seconds)
        except Exception:  # noqa: BLE001 - try again on the next round
            log.exception("celery sweeper failed")


def run_worker(concurrency: int, *, pool: str = "prefork", loglevel: str = "INFO") -> None:
    """Run a Celery worker in the foreground (blocks until it is stopped)."""
    settings = get_settings()
    app = get_celery()
    with session_scope() as session:  # jobs whose worker died on this host, or were never sent
        service.requeue_stuck(
            session,
            stuck_after=settings.job_stuck_after_seconds,
            max_attempts=settings.job_max_attempts,
        )
        service.resend_queued(session, older_than=0)
    stop = threading.Event()
    sweeper = threading.Thread(target=_sweeper, args=(stop,), name="archive-sweeper", daemon=True)
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
