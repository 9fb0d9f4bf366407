"""What the web app starts and stops with its lifespan: the store's start-up temp sweep and,
with ARCHIVE_JOBS=embedded, the in-process workers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from app.config import get_settings
from app.storage import get_store

log = logging.getLogger("archive.jobs")


def sweep_temp() -> int:
    store = get_store()
    store.ensure()
    removed = store.sweep_temp(get_settings().upload_tmp_stale_seconds)
    if removed:
        log.info("removed %d stale temp file(s) from %s", removed, store.tmp)
    return removed


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
