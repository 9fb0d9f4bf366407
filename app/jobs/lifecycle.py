"""What the web app starts and stops with its lifespan: the store's start-up sweep (stale
temp files, expired resumable uploads) and, with ARCHIVE_JOBS=embedded, the in-process
workers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError

from app.config import get_settings
from app.db import session_scope
from app.storage import get_store

log = logging.getLogger("archive.jobs")


def sweep_temp() -> int:
    """Remove temp files no live process owns (at once on this host, by age for other
    hosts'), settle promotions whose process died, and expired resumable uploads (at
    start-up and from the embedded and Celery sweepers)."""
    from app.ingest import housekeeping

    store = get_store()
    store.ensure()
    removed = housekeeping.sweep_temp(store, get_settings().upload_tmp_stale_seconds)
    if removed:
        log.info("removed %d stale temp file(s) from %s", removed, store.tmp)
    return removed + sweep_uploads()


def sweep_uploads() -> int:
    from app.ingest import tus

    try:
        with session_scope() as session:
            return tus.sweep_expired(session)
    except SQLAlchemyError:  # e.g. a server started before `archive migrate`
        log.exception("sweeping expired uploads failed; the next sweep tries again")
        return 0


@contextmanager
def background() -> Iterator[None]:
    settings = get_settings()
    sweep_temp()
    workers = None
    if settings.jobs == "embedded":
        from app.jobs.embedded import EmbeddedWorkers

        workers = EmbeddedWorkers()
        workers.start()
    try:
        yield
    finally:
        if workers is not None:
            workers.stop()
