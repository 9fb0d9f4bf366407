"""The public change log that the partner feed pages through.

Rows are written by database triggers on ``clip`` (see the migration
``2026-11-24-1636_public_change_log``), so no writer can forget them:

- a clip that becomes visible (status ``published``, not deleted) -> ``published``;
- a visible clip whose public fields change -> ``updated``;
- a visible clip that stops being visible (retracted, sent back, deleted) -> ``retracted``,
  a tombstone carrying only the code and the time.

``clip_changed`` adds an ``updated`` event by hand when something public about a clip
changes outside the clip row: its playback copy (app/public/tasks.py), its keyframes,
perceptual hashes or probed duration and size (app/ingest/tasks.py), an original
uploaded to a published clip that had none (app/ingest/service.py). It records at most
one event per clip per transaction, and nothing for a clip the public cannot see.

Not covered, because they cannot change public output today: checklist answers (locked
once a clip is verified, app/review/checklist.py; the public summary reads the answers
whatever the template item's ``active`` flag), comments, approvals and assignments (never
public). A published clip that is soft-deleted gets a ``retracted`` tombstone from the
trigger.
"""

from __future__ import annotations

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from app.clips.models import Clip
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


_RECORDED = "archive_public_changes_recorded"


def is_visible(clip: Clip | None) -> bool:
    """What the public and partners can see (the triggers use the same test)."""
    return clip is not None and clip.status == "published" and clip.deleted_at is None


def clip_changed(session: Session, clip_id: int) -> bool:
    """An ``updated`` event for a visible clip whose public output changed outside its row.

    Once per clip per transaction: a step that changes keyframes and hashes together, or
    two helpers reporting the same change, give partners one event. Returns whether an
    event was recorded."""
    clip = session.get(Clip, clip_id)
    if not is_visible(clip):
        return False
    assert clip is not None
    seen: set[int] = session.info.setdefault(_RECORDED, set())
    if clip_id in seen:
        return False
    record_change(session, clip.code, "updated")
    seen.add(clip_id)
    return True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_recorded(session: Session) -> None:
    session.info.pop(_RECORDED, None)


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
