"""The composition root: every job step, every sweeper and every mapper, in one place.

Every entrance calls :func:`bootstrap` before it does any work: the server's lifespan
(app/main.py), ``archive worker`` and the Celery worker (app/worker.py), and every CLI
command that touches the database (:func:`session_scope` below). A process can therefore
run any job the database holds, whatever else it imported, and SQLAlchemy knows every
table a flush may need to sort (a foreign key to a table whose mapper was never imported
fails the flush).

Adding a job step (see README, "How the code is organised"): write its handler in
``app/<domain>/tasks.py`` and add it in that module's ``register()``; if the domain is
new, add its ``register()`` call below; add the migration that widens the CHECK
constraint ``ck_processing_job_step``. Start-up fails loudly until all three agree.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

_done = False
_lock = threading.Lock()


def bootstrap() -> None:
    """Load every mapper and register every step and sweeper (idempotent, thread-safe)."""
    global _done
    with _lock:
        if _done:
            return
        import app.models  # noqa: F401  (every mapper)
        from app.custody import tasks as custody_tasks
        from app.duplicates import tasks as duplicate_tasks
        from app.ingest import tasks as ingest_tasks
        from app.jobs import registry
        from app.public import tasks as public_tasks

        ingest_tasks.register()  # probe -> keyframes -> hashes; temp files, expired uploads
        public_tasks.register()  # playback
        duplicate_tasks.register()  # match (after hashes)
        custody_tasks.register()  # checkpoints when the log grew; their TSA stamps
        registry.check()
        _done = True


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work in an assembled process: what CLI commands use."""
    bootstrap()
    from app.db import session_scope as unit_of_work

    with unit_of_work() as session:
        yield session
