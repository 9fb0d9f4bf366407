"""The custody log's sweeper: a signed checkpoint every ``ARCHIVE_CHECKPOINT_INTERVAL_SECONDS``
when the log grew, and its RFC 3161 stamps with back-off (app/custody/stamping.py). It runs
wherever sweepers run: the embedded job runner of the server, ``archive worker`` and the
Celery worker's sweeper thread (app/jobs/sweep.py)."""

from __future__ import annotations

from app.jobs import registry

CHECKPOINT_TICK_SECONDS = 60.0
"""How often the sweeper looks; the interval itself is a setting read at each run."""


def sweep_checkpoint() -> int:
    from app.custody import stamping

    return stamping.scheduled()


def register() -> None:
    registry.add_sweeper(
        registry.Sweeper(
            "checkpoint",
            sweep_checkpoint,
            "sign a checkpoint of the custody log every ARCHIVE_CHECKPOINT_INTERVAL_SECONDS "
            "when it grew, and stamp it at ARCHIVE_TSA_URLS (retried with back-off)",
            every_seconds=CHECKPOINT_TICK_SECONDS,
            at_start=False,
        )
    )
