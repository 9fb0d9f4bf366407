"""Sweeping: the registered sweepers (app/jobs/registry.py) on their timers, and the job
queue's own upkeep (re-queueing jobs whose worker is gone).

Every process that takes work sweeps: the embedded workers' sweeper thread and the one in
each ``archive worker``. A sweeper therefore runs in several processes at once when there
are several workers, and must be safe to run concurrently (each existing one is: deleting
a stale temp file or an expired upload twice is harmless).
"""

from __future__ import annotations

import logging
import time

from app.config import get_settings
from app.db import session_scope
from app.jobs import registry, service

log = logging.getLogger("archive.jobs")


def _run(sweeper: registry.Sweeper) -> int:
    try:
        return int(sweeper.run() or 0)
    except Exception:  # noqa: BLE001 - a sweeper that fails now tries again next time
        log.exception("sweeper %s failed; it runs again on the next round", sweeper.name)
        return 0


def run_all(*, at_start: bool = False) -> int:
    """Run every registered sweeper once (``at_start``: only those that run at start-up).
    Returns how many things they handled in all."""
    return sum(_run(s) for s in registry.sweepers().values() if s.at_start or not at_start)


class Schedule:
    """Runs each sweeper when its ``every_seconds`` have passed since its last run."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def started(self) -> None:
        """The start-up sweep has just run: the timers start now."""
        now = time.monotonic()
        for name in registry.sweepers():
            self._last[name] = now

    def run_due(self, tick: float) -> int:
        """Run the sweepers due within half a ``tick`` (the caller wakes every ``tick`` s)."""
        done = 0
        for sweeper in registry.sweepers().values():
            now = time.monotonic()
            last = self._last.get(sweeper.name)
            if last is None or now - last >= sweeper.every_seconds - tick / 2:
                self._last[sweeper.name] = now
                done += _run(sweeper)
        return done


def tick_seconds() -> float:
    """How often a worker's sweeper thread wakes: often enough for a stuck job to be seen
    within a quarter of ARCHIVE_JOB_STUCK_AFTER_SECONDS, and at least once a minute."""
    return max(1.0, min(60.0, get_settings().job_stuck_after_seconds / 4))


def requeue_stuck() -> list[int]:
    """Re-queue running jobs whose worker is gone (or fail them after the last attempt)."""
    settings = get_settings()
    with session_scope() as session:
        return service.requeue_stuck(
            session,
            stuck_after=settings.job_stuck_after_seconds,
            max_attempts=settings.job_max_attempts,
        )
