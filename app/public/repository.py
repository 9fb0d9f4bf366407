"""Queries for the public site and the partner API.

Every query here starts from ``visible_select()``: only clips whose status is
``published`` (or ``retracted`` where a notice is wanted) and that are not deleted, and only
the columns that may be shown. Internal columns (uploader, import key, version, ...) are not
even selected, so they cannot end up in a page or a response by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, Select, bindparam, distinct, func, select
from sqlalchemy.orm import Session, aliased

from app.clips import search
from app.clips.models import Clip
from app.db import UTCDateTime, fetch_rows
from app.places.models import Place
from app.public.models import PublicChange

City = aliased(Place, name="pub_city")
Province = aliased(Place, name="pub_province")

PUBLISHED = "published"
RETRACTED = "retracted"

PUBLIC_COLUMNS: tuple[Any, ...] = (
    Clip.id,
    Clip.code,
    Clip.country_code,
    Clip.status,
    Clip.place_id,
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
    Clip.source,
    Clip.published_at,
    Clip.updated_at,
)


@lru_cache(maxsize=2)
def visible_select(*, with_retracted: bool = False) -> Select[Any]:
    """Built once: statements are immutable, and building one costs about a millisecond."""
    statuses = [PUBLISHED, RETRACTED] if with_retracted else [PUBLISHED]
    stmt: Select[Any] = (
        select(*PUBLIC_COLUMNS)
        .join(City, City.id == Clip.place_id)
        .join(Province, Province.id == City.parent_id)
        .where(Clip.status.in_(statuses), Clip.deleted_at.is_(None))
    )
    return stmt


@dataclass
class PublicFilter:
    place_ids: list[int] | None = None
    on: date | None = None
    date_from: date | None = None
    date_to: date | None = None
    updated_since: datetime | None = None
    q: str | None = None  # the engine's query string (search.parse), not the typed text
    after_id: int | None = None
    after_rank: float | None = None  # with q: the keyset is (rank, id)
    ranked: bool = True  # with q: best match first (else by id, as exports walk)
    dialect: str = "sqlite"


def _conditions(places: bool, hi: bool, lo: bool, updated: bool) -> list[ColumnElement[bool]]:
    """The WHERE clauses of one combination of filters, with bound parameters."""
    out: list[ColumnElement[bool]] = []
    if places:
        out.append(Clip.place_id.in_(bindparam("place_ids", expanding=True)))
    if hi:  # any possible day of the clip inside [lo, hi]
        out.append(Clip.date_earliest <= bindparam("hi", type_=Date))
    if lo:
        out.append(Clip.date_latest >= bindparam("lo", type_=Date))
    if updated:
        out.append(Clip.updated_at >= bindparam("updated_since", type_=UTCDateTime()))
    return out


Shape = tuple[tuple[bool, bool, bool, bool], bool, bool, bool, str]


def _shape(f: PublicFilter) -> tuple[Shape, dict[str, Any]]:
    lo = f.on or f.date_from
    hi = f.on or f.date_to
    params: dict[str, Any] = {}
    if f.place_ids is not None:
        params["place_ids"] = list(f.place_ids)
    if hi is not None:
        params["hi"] = hi
    if lo is not None:
        params["lo"] = lo
    if f.updated_since is not None:
        params["updated_since"] = f.updated_since
    keys = ("place_ids", "hi", "lo", "updated_since")
    filters = tuple(k in params for k in keys)
    ranked = bool(f.q) and f.ranked
    if f.q:
        params["fts"] = f.q
    if f.after_id is not None:
        params["after_id"] = f.after_id
        if ranked:
            params["after_rank"] = f.after_rank if f.after_rank is not None else float("-inf")
    return (filters, bool(f.q), ranked, f.after_id is not None, f.dialect), params  # type: ignore[return-value]


@lru_cache(maxsize=256)
def _listing(shape: Shape) -> Select[Any]:
    """Built once per combination of filters (building costs more than running)."""
    filters, q, ranked, after, dialect = shape
    stmt = visible_select().where(*_conditions(*filters))
    if not q:
        if after:
            stmt = stmt.where(Clip.id > bindparam("after_id"))
        return stmt.order_by(Clip.id).limit(bindparam("limit", type_=Integer))
    h = search.hits(dialect)
    stmt = stmt.add_columns(h.c.rank.label("search_rank")).join(h, h.c.clip_id == Clip.id)
    if ranked:
        stmt = stmt.where(search.after(h)) if after else stmt
        stmt = stmt.order_by(h.c.rank, Clip.id)
    else:
        stmt = stmt.where(Clip.id > bindparam("after_id")) if after else stmt
        stmt = stmt.order_by(Clip.id)
    return stmt.limit(bindparam("limit", type_=Integer))


def listing(f: PublicFilter, limit: int) -> tuple[Select[Any], dict[str, Any]]:
    """The statement and parameters of one page (``limit`` rows after the cursor)."""
    shape, params = _shape(f)
    return _listing(shape), {**params, "limit": limit}


def list_rows(session: Session, f: PublicFilter, limit: int) -> list[Any]:
    return fetch_rows(session, *listing(f, limit))


@lru_cache(maxsize=256)
def _counting(shape: Shape) -> Select[Any]:
    filters, q, _, _, dialect = shape
    stmt = (
        select(func.count(Clip.id))
        .select_from(Clip)
        .join(City, City.id == Clip.place_id)
        .where(Clip.status == PUBLISHED, Clip.deleted_at.is_(None), *_conditions(*filters))
    )
    if q:
        h = search.hits(dialect)
        stmt = stmt.join(h, h.c.clip_id == Clip.id)
    return stmt


def count(session: Session, f: PublicFilter) -> int:
    shape, params = _shape(f)
    filters, q, _, _, dialect = shape
    params = {k: v for k, v in params.items() if k not in ("after_id", "after_rank")}
    return int(session.scalar(_counting((filters, q, False, False, dialect)), params) or 0)


def get_row(session: Session, code: str) -> Any | None:
    """A published or retracted clip (retracted ones become a notice), else None."""
    return session.execute(visible_select(with_retracted=True).where(Clip.code == code)).first()


def totals(session: Session) -> tuple[int, int, int]:
    """(clips, cities, provinces) among published clips."""
    row = session.execute(
        select(
            func.count(Clip.id),
            func.count(distinct(Clip.place_id)),
            func.count(distinct(City.parent_id)),
        )
        .select_from(Clip)
        .join(City, City.id == Clip.place_id)
        .where(Clip.status == PUBLISHED, Clip.deleted_at.is_(None))
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def latest(session: Session, limit: int) -> list[Any]:
    """The most recently published clips still published (newest "published" events)."""
    recent = (
        select(PublicChange.code)
        .where(PublicChange.kind == "published")
        .order_by(PublicChange.id.desc())
        .limit(limit * 4)
    )
    rows = rows_by_codes(session, list(session.scalars(recent)))
    rows.sort(key=lambda r: (r.published_at is not None, r.published_at, r.id), reverse=True)
    return list(rows[:limit])


def city_counts(session: Session) -> list[Any]:
    """Every city with at least one published clip, with its province and count."""
    stmt = (
        select(
            City.id,
            City.name_en,
            City.name_fa,
            Province.id.label("province_id"),
            Province.name_en.label("province"),
            Province.name_fa.label("province_fa"),
            func.count(Clip.id).label("clips"),
        )
        .select_from(Clip)
        .join(City, City.id == Clip.place_id)
        .join(Province, Province.id == City.parent_id)
        .where(Clip.status == PUBLISHED, Clip.deleted_at.is_(None))
        .group_by(
            City.id, City.name_en, City.name_fa, Province.id, Province.name_en, Province.name_fa
        )
    )
    return list(session.execute(stmt).all())


def places_by_ids(session: Session, ids: list[int]) -> list[Any]:
    stmt = (
        select(City.id, City.name_en, City.name_fa, Province.name_en, Province.name_fa)
        .join(Province, Province.id == City.parent_id)
        .where(City.id.in_(ids))
        .order_by(City.id)
    )
    return list(session.execute(stmt).all())


def sitemap_rows(session: Session, limit: int, offset: int = 0) -> list[Any]:
    stmt = (
        select(Clip.code, Clip.updated_at)
        .where(Clip.status == PUBLISHED, Clip.deleted_at.is_(None))
        .order_by(Clip.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.execute(stmt).all())


def rows_by_codes(session: Session, codes: list[str]) -> list[Any]:
    if not codes:
        return []
    # ids first: with "status IN (...)" in the same WHERE, SQLite (without ANALYZE) scans
    # the status index instead of using the unique index on code.
    ids = list(session.scalars(select(Clip.id).where(Clip.code.in_(codes))))
    return list(session.execute(visible_select().where(Clip.id.in_(ids))).all())
