"""The public change log that the partner feed pages through.

Rows are written by database triggers on ``clip`` (see the migration
``2026-11-24-1636_public_change_log``), so no writer can forget them:

- a clip that becomes visible (status ``published``, not deleted) -> ``published``;
- a visible clip whose public fields change -> ``updated``;
- a visible clip that stops being visible (retracted, sent back, deleted) -> ``retracted``,
  a tombstone carrying only the code and the time.

``record_change`` adds an ``updated`` event by hand when something public about a clip
changes outside the clip row (its playback copy or keyframes, for example).
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.kit.clock import utcnow
from app.public.models import CHANGE_KINDS, PublicChange

LOCK_ID = 0x637573746F6479  # shared with the custody log and the trigger


def record_change(session: Session, code: str, kind: str = "updated") -> None:
    if kind not in CHANGE_KINDS:
        raise ValueError(f"kind must be one of {CHANGE_KINDS}")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_ID})
    session.add(PublicChange(code=code, kind=kind, occurred_at=utcnow()))
    session.flush()


def list_changes(session: Session, after_id: int, limit: int) -> list[PublicChange]:
    stmt = (
        select(PublicChange)
        .where(PublicChange.id > after_id)
        .order_by(PublicChange.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def last_change(session: Session, code: str, kind: str | None = None) -> PublicChange | None:
    stmt = select(PublicChange).where(PublicChange.code == code)
    if kind:
        stmt = stmt.where(PublicChange.kind == kind)
    return session.scalar(stmt.order_by(PublicChange.id.desc()).limit(1))


def head_id(session: Session) -> int:
    return int(session.scalar(select(PublicChange.id).order_by(PublicChange.id.desc())) or 0)


def head(session: Session) -> tuple[int, str]:
    """The newest change (id, time): a version stamp for everything public."""
    row = session.execute(
        select(PublicChange.id, PublicChange.occurred_at).order_by(PublicChange.id.desc()).limit(1)
    ).first()
    return (0, "") if row is None else (int(row[0]), row[1].isoformat())
