"""The Celery app as the sending side sees it (ARCHIVE_JOBS=celery): a job id goes to the
Redis queue once the transaction that queued the job has committed (app/jobs/dispatch.py).

The worker side (app/jobs/celery_app.py) binds the task to the job runner; sending needs
only the task's name, so a process that queues jobs never loads the runner.
"""

from __future__ import annotations

import threading

from celery import Celery

from app.config import get_settings

TASK = "archive.run_job"
_app: Celery | None = None
_lock = threading.Lock()


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
            _app = app
        return _app


def reset_celery() -> None:
    """Forget the app (settings changed: tests, CLI)."""
    global _app
    with _lock:
        _app = None


def send_job(job_id: int) -> None:
    get_celery().send_task(TASK, args=[job_id], queue=get_settings().celery_queue)
