"""The worker entry point: `archive worker`, and `celery -A app.worker worker` for those who
start Celery themselves. Importing it assembles the process (app/tasks.py), so a fresh
interpreter that imports only this module can run every registered step.

With ARCHIVE_JOBS=celery it runs a Celery worker on the Redis queue; otherwise workers that
claim queued jobs straight from the database (for servers run with ARCHIVE_JOBS=off).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from app.config import get_settings
from app.tasks import bootstrap

bootstrap()


def run(concurrency: int | None = None, *, pool: str = "prefork", loglevel: str = "INFO") -> None:
    """Check the steps against the database, run the start-up sweepers, then work until
    stopped (SIGINT, SIGTERM)."""
    from app.jobs import lifecycle

    settings = get_settings()
    n = concurrency or settings.job_workers
    lifecycle.start()
    from app.duplicates import index as duplicate_index

    duplicate_index.start_for_process()  # the match step uses it once it is ready
    if settings.jobs == "celery":
        from app.jobs.celery_app import run_worker

        run_worker(n, pool=pool, loglevel=loglevel)
        return
    from app.jobs.embedded import EmbeddedWorkers

    workers = EmbeddedWorkers(count=n)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    workers.start()
    print(f"{n} worker(s) claiming jobs from the database; Ctrl-C to stop", file=sys.stderr)
    stop.wait()
    workers.stop(timeout=30)


def __getattr__(name: str) -> Any:
    """``celery -A app.worker``: Celery looks for ``app`` or ``celery`` here."""
    if name in ("app", "celery"):
        from app.jobs.celery_app import worker_celery

        return worker_celery()
    raise AttributeError(name)
