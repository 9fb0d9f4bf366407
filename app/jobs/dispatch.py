"""Hand jobs to the configured backend only after the commit that made them necessary.

Services call :func:`after_commit` inside their transaction; a session-level listener sends
the job ids once the transaction has committed and forgets them on rollback. The database
row is the source of truth: if a send is lost (broker down, process killed right after the
commit), the sweeper re-sends queued rows, and an embedded worker finds them by polling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.config import get_settings

log = logging.getLogger("archive.jobs")
_KEY = "archive_jobs_after_commit"
_wakers: list[Callable[[], None]] = []


def after_commit(session: Session, job_id: int) -> None:
    session.info.setdefault(_KEY, []).append(job_id)


def add_waker(fn: Callable[[], None]) -> None:
    """Embedded workers in this process register to be woken when work is committed."""
    _wakers.append(fn)


def remove_waker(fn: Callable[[], None]) -> None:
    if fn in _wakers:
        _wakers.remove(fn)


def send(job_ids: list[int]) -> None:
    mode = get_settings().jobs
    if mode == "celery":
        from app.jobs.broker import send_job

        for job_id in job_ids:
            try:
                send_job(job_id)
            except Exception:  # noqa: BLE001 - the sweeper re-sends queued rows
                log.exception("could not send job %s to the broker; the sweeper will retry", job_id)
    for wake in list(_wakers):
        wake()


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    ids: list[int] = session.info.pop(_KEY, [])
    if ids:
        send(ids)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)


def pending(session: Session) -> Any:
    return list(session.info.get(_KEY, []))
