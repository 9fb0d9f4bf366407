"""Run one job: claim it, do the step outside any transaction, then write its result and
mark it done in one transaction, only if the claim still holds.

Used by the embedded workers and by the Celery task alike. A heartbeat thread keeps the
claim alive and publishes progress while ffmpeg works. The step comes from the registry
(app/jobs/registry.py), filled by the composition root (app/tasks.py): this module knows
no domain.
"""

from __future__ import annotations

import logging
import threading

from app.config import get_settings
from app.db import session_scope
from app.jobs import registry, service
from app.jobs.service import Claim

log = logging.getLogger("archive.jobs")


class _Heartbeat(threading.Thread):
    def __init__(self, claim: Claim, interval: float) -> None:
        super().__init__(name=f"heartbeat-{claim.job_id}", daemon=True)
        self.claim = claim
        self.interval = interval
        self.progress: float = 0.0
        self._sent: int | None = None
        self._last_beat = 0.0
        self.stop = threading.Event()
        self.lost = False

    def report(self, fraction: float) -> None:
        self.progress = max(0.0, min(1.0, fraction))

    def run(self) -> None:
        import time

        tick = min(1.0, self.interval)
        while not self.stop.wait(tick):
            pct = round(self.progress * 100)
            now = time.monotonic()
            if pct == self._sent and now - self._last_beat < self.interval:
                continue
            try:
                with session_scope() as session:
                    if not service.heartbeat(session, self.claim.job_id, self.claim.token, pct):
                        self.lost = True
                        return
                self._sent, self._last_beat = pct, now
            except Exception:  # noqa: BLE001 - a missed beat is retried on the next tick
                log.warning("heartbeat for job %s failed", self.claim.job_id, exc_info=True)


def execute(worker: str, job_id: int | None = None) -> bool:
    """Claim and run one job (``job_id`` or any queued one). Returns False if none was run."""
    settings = get_settings()
    with session_scope() as session:
        claim = service.claim(session, worker, job_id)
    if claim is None:
        return False
    log.info(
        "job %s (%s of clip %s) attempt %s", claim.job_id, claim.step, claim.clip_id, claim.attempt
    )
    try:
        step = registry.get_step(claim.step)
    except registry.RegistryError as exc:  # a process started without app.tasks.bootstrap()
        log.error("job %s: %s", claim.job_id, exc)
        with session_scope() as session:
            service.mark_failed(
                session,
                claim.job_id,
                claim.token,
                str(exc),
                retry=True,
                max_attempts=settings.job_max_attempts,
            )
        return True
    beat = _Heartbeat(claim, settings.job_heartbeat_seconds)
    beat.start()
    try:
        outcome = step.run(claim.media_id, claim.sha256, beat.report)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job row
        beat.stop.set()
        beat.join()
        permanent = step.is_permanent(exc)
        if not permanent:
            log.exception("job %s crashed", claim.job_id)
        with session_scope() as session:
            service.mark_failed(
                session,
                claim.job_id,
                claim.token,
                registry.describe_error(exc),
                retry=not permanent,
                max_attempts=settings.job_max_attempts,
            )
        return True
    beat.stop.set()
    beat.join()
    try:
        with session_scope() as session:
            job = service.lock_owned(session, claim.job_id, claim.token)
            if job is None:
                log.warning("job %s lost its claim; its result is dropped", claim.job_id)
                outcome.discard()
                return True
            outcome.apply(session)
            service.mark_done(job)
            if step.next is not None:
                service.enqueue(
                    session,
                    clip_id=claim.clip_id,
                    media_id=claim.media_id,
                    sha256=claim.sha256,
                    step=step.next,
                )
    except Exception as exc:  # noqa: BLE001
        outcome.discard()
        with session_scope() as session:
            service.mark_failed(
                session,
                claim.job_id,
                claim.token,
                registry.describe_error(exc),
                retry=not step.is_permanent(exc),
                max_attempts=settings.job_max_attempts,
            )
        return True
    outcome.after_commit()
    return True
