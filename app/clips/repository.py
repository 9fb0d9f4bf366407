"""Clip queries. Listings select columns (no ORM graphs) and page by keyset on id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session, aliased

from app.accounts.models import User
from app.clips.models import Clip
from app.places.models import Place

City = aliased(Place, name="city")
Province = aliased(Place, name="province")

COLUMNS = (
    Clip.id,
    Clip.code,
    Clip.country_code,
    City.name_en.label("city"),
    City.name_fa.label("city_fa"),
    Province.name_en.label("province"),
    Province.name_fa.label("province_fa"),
    Clip.date_edtf,
    Clip.date_earliest,
    Clip.date_latest,
    Clip.date_display_en,
    Clip.date_display_fa,
    Clip.title_en,
    Clip.title_fa,
    Clip.description_en,
    Clip.description_fa,
    Clip.graphic_violence,
    Clip.identifiable_people,
    Clip.tags,
    Clip.status,
    Clip.source,
    User.email.label("created_by"),
    Clip.created_at,
    Clip.updated_at,
    Clip.published_at,
    Clip.version,
)


def base_select() -> Select:
    return (
        select(*COLUMNS)
        .join(City, City.id == Clip.place_id)
        .join(Province, Province.id == City.parent_id)
        .outerjoin(User, User.id == Clip.created_by_id)
        .where(Clip.deleted_at.is_(None))
    )


TEXT_COLUMNS = (Clip.code, Clip.title_en, Clip.title_fa, Clip.description_en, Clip.description_fa)


def text_match(q: str, *extra: Any) -> ColumnElement[bool]:
    """Case-insensitive substring match on the clip's text (plus extra columns); the user's
    % and _ are literal."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped}%"
    return or_(*(col.ilike(like, escape="\\") for col in (*TEXT_COLUMNS, *extra)))


@dataclass
class ClipFilter:
    place_ids: list[int] | None = None
    on: date | None = None
    date_from: date | None = None
    date_to: date | None = None
    statuses: list[str] | None = None
    q: str | None = None
    after_id: int | None = None


def apply_filter(stmt: Select[Any], f: ClipFilter) -> Select[Any]:
    if f.place_ids is not None:
        stmt = stmt.where(Clip.place_id.in_(f.place_ids))
    lo = f.on or f.date_from
    hi = f.on or f.date_to
    # A clip matches when any of its possible days falls inside [lo, hi].
    if hi is not None:
        stmt = stmt.where(Clip.date_earliest <= hi)
    if lo is not None:
        stmt = stmt.where(Clip.date_latest >= lo)
    if f.statuses:
        stmt = stmt.where(Clip.status.in_(f.statuses))
    if f.q:
        stmt = stmt.where(text_match(f.q))
    if f.after_id is not None:
        stmt = stmt.where(Clip.id > f.after_id)
    return stmt


def list_rows(session: Session, f: ClipFilter, limit: int) -> list[Any]:
    stmt = apply_filter(base_select(), f).order_by(Clip.id).limit(limit)
    return list(session.execute(stmt).all())


def get_row(session: Session, code: str) -> Any | None:
    return session.execute(base_select().where(Clip.code == code)).first()


def get_clip(session: Session, code: str, *, for_update: bool = False) -> Clip | None:
    stmt = select(Clip).where(Clip.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)
