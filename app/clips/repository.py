"""Clip queries. Listings select columns (no ORM graphs) and page by keyset on id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Integer, Select, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from app.accounts.models import User
from app.clips import search
from app.clips.models import Clip
from app.db import fetch_rows
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


@dataclass(frozen=True)
class ClipFilter:
    """A team listing's filters (``place_ids`` from ``places.city_ids_for``)."""

    place_ids: tuple[int, ...] | None = None
    on: date | None = None
    date_from: date | None = None
    date_to: date | None = None
    statuses: tuple[str, ...] | None = None
    q: str | None = None  # the engine's query string (app/clips/search.py): ranked by match
    after_id: int | None = None
    after_rank: float | None = None
    dialect: str = "sqlite"


@lru_cache(maxsize=512)
def _listing(
    places: bool, hi: bool, lo: bool, statuses: bool, q: bool, after: bool, dialect: str
) -> Select[Any]:
    """The listing statement for one combination of filters, built once with bound
    parameters: building a statement costs more than running it, and SQLAlchemy's
    compiled-statement cache then finds it by identity."""
    stmt = base_select()
    if places:
        stmt = stmt.where(Clip.place_id.in_(bindparam("place_ids", expanding=True)))
    # A clip matches when any of its possible days falls inside [lo, hi].
    if hi:
        stmt = stmt.where(Clip.date_earliest <= bindparam("hi", type_=Date))
    if lo:
        stmt = stmt.where(Clip.date_latest >= bindparam("lo", type_=Date))
    if statuses:
        stmt = stmt.where(Clip.status.in_(bindparam("statuses", expanding=True)))
    if q:
        h = search.hits(dialect)
        stmt = stmt.add_columns(h.c.rank.label("search_rank")).join(h, h.c.clip_id == Clip.id)
        if after:
            stmt = stmt.where(search.after(h))
        return stmt.order_by(h.c.rank, Clip.id).limit(bindparam("limit", type_=Integer))
    if after:
        stmt = stmt.where(Clip.id > bindparam("after_id"))
    return stmt.order_by(Clip.id).limit(bindparam("limit", type_=Integer))


def listing(f: ClipFilter, limit: int) -> tuple[Select[Any], dict[str, Any]]:
    """The statement and parameters of one page (``limit`` rows after ``f.after_id``)."""
    lo = f.on or f.date_from
    hi = f.on or f.date_to
    params: dict[str, Any] = {"limit": limit}
    if f.place_ids is not None:
        params["place_ids"] = list(f.place_ids)
    if hi is not None:
        params["hi"] = hi
    if lo is not None:
        params["lo"] = lo
    if f.statuses:
        params["statuses"] = list(f.statuses)
    if f.q:
        params["fts"] = f.q
    if f.after_id is not None:
        params["after_id"] = f.after_id
        if f.q:
            params["after_rank"] = f.after_rank if f.after_rank is not None else float("-inf")
    stmt = _listing(
        "place_ids" in params,
        hi is not None,
        lo is not None,
        "statuses" in params,
        "fts" in params,
        "after_id" in params,
        f.dialect,
    )
    return stmt, params


def list_rows(session: Session, f: ClipFilter, limit: int) -> list[Any]:
    return fetch_rows(session, *listing(f, limit))


def get_row(session: Session, code: str) -> Any | None:
    return session.execute(base_select().where(Clip.code == code)).first()


def get_clip(session: Session, code: str, *, for_update: bool = False) -> Clip | None:
    """The clip row (deleted or not). ``for_update``: locked until the transaction ends
    (SELECT ... FOR UPDATE; on SQLite BEGIN IMMEDIATE already locks the database) and
    read fresh from the database, whatever the session held."""
    stmt = select(Clip).where(Clip.code == code)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def city_status_counts(session: Session) -> list[Any]:
    """(place_id, status, clips) for every live clip: the team map's counts."""
    stmt = (
        select(Clip.place_id, Clip.status, func.count(Clip.id))
        .where(Clip.deleted_at.is_(None))
        .group_by(Clip.place_id, Clip.status)
    )
    return list(session.execute(stmt).all())
