"""Review queries: approvals, assignments, the queue (columns only, no ORM graphs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.accounts.models import User
from app.clips import search
from app.clips.models import Clip
from app.ingest.models import Media
from app.places.models import Place
from app.review.models import Approval, ClipAssignment

City = aliased(Place, name="q_city")
Assignee = aliased(User, name="q_assignee")


def active_approvals(session: Session, clip_id: int) -> list[tuple[Approval, str]]:
    rows = session.execute(
        select(Approval, User.email)
        .join(User, User.id == Approval.reviewer_id)
        .where(Approval.clip_id == clip_id, Approval.withdrawn_at.is_(None))
        .order_by(Approval.id)
    ).all()
    return [(r[0], r[1]) for r in rows]


def media_uploader_id(session: Session, clip_id: int) -> int | None:
    """Who uploaded the clip's original (None when it has none, or nobody is known)."""
    return session.scalar(select(Media.uploaded_by_id).where(Media.clip_id == clip_id))


def assignment(session: Session, clip_id: int) -> ClipAssignment | None:
    return session.get(ClipAssignment, clip_id, populate_existing=True)


@dataclass
class QueueFilter:
    statuses: list[str] | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    place_ids: list[int] | None = None
    date_from: date | None = None
    date_to: date | None = None
    fts: str | None = None  # a full-text query (app/clips/search.py parse().engine)
    dialect: str = "sqlite"


def _params(f: QueueFilter) -> dict[str, Any]:
    return {"fts": f.fts} if f.fts else {}


def _filtered(stmt: Any, f: QueueFilter) -> Any:
    stmt = stmt.where(Clip.deleted_at.is_(None))
    if f.statuses:
        stmt = stmt.where(Clip.status.in_(f.statuses))
    if f.assignee_id is not None:
        stmt = stmt.where(ClipAssignment.assignee_id == f.assignee_id)
    if f.unassigned:
        stmt = stmt.where(ClipAssignment.assignee_id.is_(None))
    if f.place_ids is not None:
        stmt = stmt.where(Clip.place_id.in_(f.place_ids))
    if f.date_to is not None:
        stmt = stmt.where(Clip.date_earliest <= f.date_to)
    if f.date_from is not None:
        stmt = stmt.where(Clip.date_latest >= f.date_from)
    if f.fts:
        stmt = stmt.where(Clip.id.in_(select(search.hits(f.dialect).c.clip_id)))
    return stmt


def queue_rows(session: Session, f: QueueFilter, limit: int, offset: int) -> list[Any]:
    stmt = (
        select(
            Clip.id,
            Clip.code,
            Clip.status,
            Clip.title_en,
            Clip.title_fa,
            Clip.date_display_en,
            Clip.date_display_fa,
            Clip.updated_at,
            Clip.version,
            City.name_en.label("city"),
            City.name_fa.label("city_fa"),
            Assignee.email.label("assignee"),
            ClipAssignment.assigned_at,
        )
        .join(City, City.id == Clip.place_id)
        .outerjoin(ClipAssignment, ClipAssignment.clip_id == Clip.id)
        .outerjoin(Assignee, Assignee.id == ClipAssignment.assignee_id)
    )
    stmt = _filtered(stmt, f).order_by(Clip.updated_at.desc(), Clip.id.desc())
    return list(session.execute(stmt.limit(limit).offset(offset), _params(f)).all())


def counts_by_status(session: Session, f: QueueFilter) -> dict[str, int]:
    """Counts per state for every filter except the state itself."""
    without_state = QueueFilter(**{**f.__dict__, "statuses": None})
    stmt = select(Clip.status, func.count(Clip.id)).outerjoin(
        ClipAssignment, ClipAssignment.clip_id == Clip.id
    )
    stmt = _filtered(stmt, without_state).group_by(Clip.status)
    return {status: n for status, n in session.execute(stmt, _params(f)).all()}


def held_footage(session: Session, correction_id: int) -> Media | None:
    """The original held back by this correction (footage for a frozen clip), if any."""
    return session.scalar(select(Media).where(Media.correction_id == correction_id))


def clip_media(session: Session, clip_id: int) -> Media | None:
    return session.scalar(select(Media).where(Media.clip_id == clip_id))
