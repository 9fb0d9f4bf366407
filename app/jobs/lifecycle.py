"""What a serving process starts and stops with its lifespan: the start-up check of the
registered steps against the database, the registered sweepers' start-up run (stale temp
files, expired resumable uploads, ...) and, with ARCHIVE_JOBS=embedded, the in-process
workers.

The caller has assembled the process first (app/tasks.py: every step, sweeper and
mapper); this module only runs what the registry holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError

from app.config import get_settings
from app.db import get_engine
from app.jobs import registry, sweep
from app.jobs.embedded import EmbeddedWorkers

log = logging.getLogger("archive.jobs")


def check_steps() -> None:
    """Raise :class:`registry.RegistryError` when the registered steps differ from those
    the database allows. A database that cannot be reached right now is only logged: the
    process starts, and the first request or job that needs it fails (and says why)."""
    try:
        with get_engine().connect() as conn:
            registry.check_database(conn)
    except OperationalError:
        log.exception("could not compare the job steps with the database (unreachable?)")


def start() -> None:
    """Before a process takes work: check the steps, then run the start-up sweepers."""
    check_steps()
    sweep.run_all(at_start=True)


@contextmanager
def background() -> Iterator[None]:
    settings = get_settings()
    start()
    workers = None
    if settings.jobs == "embedded":
        workers = EmbeddedWorkers()
        workers.start()
    try:
        yield
    finally:
        if workers is not None:
            workers.stop()
