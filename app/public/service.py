"""Public use cases shared by the HTML site and the partner API.

Only visible clips ever come out of here (see repository.visible_select). A clip that is
not published is reported exactly like a code that never existed: ``ClipNotPublic`` (404).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.clips import search
from app.config import get_settings
from app.errors import AppError, InvalidInput, NotFound
from app.kit.cursor import decode_id_cursor, decode_rank_cursor, encode_cursor
from app.partners.schemas import (
    ChangeEvent,
    ChangePage,
    ClipPublic,
    ClipPublicPage,
)
from app.places import service as places
from app.public import cache, changes, repository, sources
from app.public.repository import PublicFilter


class ClipNotPublic(NotFound):
    code = "not_found"


class ClipRetracted(AppError):
    status = 410
    code = "retracted"


def not_found(code: str) -> ClipNotPublic:
    return ClipNotPublic(f"there is no published clip {code}", field="code")


def base_url() -> str:
    return get_settings().base_url.rstrip("/")


def permalink(code: str, lang: str = "en") -> str:
    return f"{base_url()}{'/fa' if lang == 'fa' else ''}/clips/{code}"


@dataclass
class Enriched:
    """A visible row plus what other domains add to it (all publishable)."""

    row: Any
    media: sources.MediaInfo | None
    keyframes: list[sources.KeyframeInfo]
    verification: sources.Verification | None
    corrections: list[sources.CorrectionInfo] = field(default_factory=list)
    related: list[tuple[str, str]] = field(default_factory=list)

    @property
    def has_playback(self) -> bool:
        return self.media is not None and sources.playback_object(self.media) is not None

    @property
    def has_poster(self) -> bool:
        return self.media is not None and sources.image_object(self.media, "poster") is not None


def enrich(session: Session, rows: Sequence[Any], *, files: bool = True) -> list[Enriched]:
    ids = [r.id for r in rows]
    media = sources.media(session, ids)
    frames = sources.keyframes(session, ids) if media else {}
    checks = sources.verification(session, ids)
    fixes = sources.corrections(session, ids)
    links = sources.related(session, ids)
    return [
        Enriched(
            r,
            media.get(r.id),
            frames.get(r.id, []),
            checks.get(r.id),
            fixes.get(r.id, []),
            links.get(r.id, []),
        )
        for r in rows
    ]


def public_dict(
    item: Enriched, *, check_files: bool = True, fields: Sequence[str] | None = None
) -> dict[str, Any]:
    """The fields of ClipPublic for one visible clip (validated by the caller, per page).

    Values are read by position (a Row's attribute look-ups are slow); pass the rows'
    ``_fields`` when converting a page, as computing them costs as much as the rest."""
    r = dict(zip(fields or item.row._fields, item.row, strict=True))
    code = r["code"]
    url = permalink(code)
    media = None
    if item.media is not None:
        has_playback = check_files and item.has_playback
        has_poster = check_files and item.has_poster
        media = {
            "sha256": item.media.sha256,
            "duration": item.media.duration,
            "width": item.media.width,
            "height": item.media.height,
            "playback_url": f"{url}/playback.mp4" if has_playback else None,
            "poster_url": f"{url}/poster.jpg" if has_poster else None,
            "iiif_manifest": f"{base_url()}/iiif/{code}/manifest.json" if has_playback else None,
        }
    verification = None
    if item.verification is not None:
        verification = {
            "verified_at": item.verification.verified_at,
            "confirmed": [
                {"key": k, "label_en": en, "label_fa": fa}
                for k, en, fa in item.verification.confirmed
            ],
        }
    return {
        "code": code,
        "url": url,
        "place": {
            "country": r["country_code"],
            "city": r["city"],
            "city_fa": r["city_fa"],
            "province": r["province"],
            "province_fa": r["province_fa"],
        },
        "date": {
            "edtf": r["date_edtf"],
            "earliest": r["date_earliest"],
            "latest": r["date_latest"],
            "display_en": r["date_display_en"],
            "display_fa": r["date_display_fa"],
        },
        "title_en": r["title_en"],
        "title_fa": r["title_fa"],
        "description_en": r["description_en"],
        "description_fa": r["description_fa"],
        "graphic_violence": r["graphic_violence"],
        "identifiable_people": r["identifiable_people"],
        "tags": list(r["tags"] or []),
        "source": r["source"],
        "published_at": r["published_at"],
        "updated_at": r["updated_at"],
        "media": media,
        "keyframes": [
            {
                "position": k.position,
                "timestamp": k.timestamp,
                "phash": k.phash,
                "url": f"{url}/keyframes/{k.position}.jpg",
            }
            for k in item.keyframes
        ],
        "verification": verification,
        "corrections": [
            {"corrected_at": c.corrected_at, "fields": c.fields, "reason": c.reason}
            for c in item.corrections
        ],
        "related": [
            {"code": other, "relation": relation, "url": permalink(other)}
            for other, relation in item.related
        ],
    }


def to_public(item: Enriched, *, check_files: bool = True) -> ClipPublic:
    return ClipPublic.model_validate(public_dict(item, check_files=check_files))


def public_city_ids(session: Session) -> list[int]:
    """The cities anyone may see: the seeded gazetteer and the cities of published clips
    (a city that only an unpublished clip or import row created stays team-only)."""
    published = cache.cached(session, "city_counts", lambda: repository.city_counts(session))
    return sorted(set(places.gazetteer_city_ids(session)) | {r.id for r in published})


# -- filters ---------------------------------------------------------------------------


def parse_cursor(cursor: str | None, field: str = "cursor") -> int | None:
    """The id a keyset page resumes after (database-free: call it before any query)."""
    return decode_id_cursor(cursor, field=field)


def parse_page_cursor(
    cursor: str | None, q: str | None, field: str = "cursor"
) -> tuple[int | None, float | None]:
    """(after_id, after_rank) of a listing's cursor: a search (``q`` with words) pages by
    (rank, id), any other listing by id. Database-free, like parse_cursor."""
    if not search.terms(q):
        return decode_id_cursor(cursor, field=field), None
    return decode_rank_cursor(cursor, field=field)


def place_ids(session: Session, city: str | None, province: str | None) -> list[int] | None:
    """places.city_ids_for, cached until the change log moves (app/public/cache.py): a
    name that matched nothing may match a place created since, but that place has no
    published clip until a change says so."""
    if city is None and province is None:
        return None
    return list(
        cache.cached(
            session,
            ("place_ids", city, province),
            lambda: places.city_ids_for(session, city=city, province=province) or [],
        )
    )


def make_filter(
    session: Session,
    *,
    city: str | None = None,
    province: str | None = None,
    on: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    updated_since: datetime | None = None,
    q: str | None = None,
    after_id: int | None = None,
    after_rank: float | None = None,
) -> PublicFilter:
    """The filter of a list or export; the dates and the cursor (``parse_cursor``) are
    parsed by the caller, before any SQL."""
    if on is not None and (date_from is not None or date_to is not None):
        raise InvalidInput("use either on= or from=/to=, not both", field="on")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"from ({date_from}) is after to ({date_to})", field="from")
    dialect = search.dialect_of(session)
    parsed = search.parse(q, dialect)
    ids = place_ids(session, city or None, province or None)
    if parsed is None and (q or "").strip():
        ids = []  # typed text without a single word ("!!!") matches nothing
    return PublicFilter(
        place_ids=ids,
        on=on,
        date_from=date_from,
        date_to=date_to,
        updated_since=updated_since,
        q=parsed.engine if parsed else None,
        after_id=after_id,
        after_rank=after_rank,
        dialect=dialect,
    )


def page(session: Session, f: PublicFilter, limit: int) -> tuple[list[Any], str | None]:
    rows = repository.list_rows(session, f, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if not (more and rows):
        return rows, None
    if f.q and f.ranked:
        return rows, encode_cursor({"id": rows[-1].id, "r": rows[-1].search_rank})
    return rows, encode_cursor({"id": rows[-1].id})


def list_public(session: Session, f: PublicFilter, limit: int) -> ClipPublicPage:
    rows, next_cursor = page(session, f, limit)
    fields = rows[0]._fields if rows else None
    # One validation of the whole page (pydantic's core) rather than ~10 models per clip.
    return ClipPublicPage.model_validate(
        {
            "items": [public_dict(e, fields=fields) for e in enrich(session, rows)],
            "next_cursor": next_cursor,
        }
    )


_CODE = re.compile(r"[A-Za-z]{3}[0-9]{3,9}")


def canonical_code(code: str) -> str:
    """A public code as stored (upper case) when ``code`` has the shape of one, else as is:
    people type ``irn091`` for ``IRN091``."""
    return code.upper() if _CODE.fullmatch(code) else code


def get_visible(session: Session, code: str) -> Any:
    """The row of a published clip; 410 for a retracted one; 404 for anything else.
    ``code`` is case-insensitive."""
    code = canonical_code(code)
    row = repository.get_row(session, code)
    if row is None:
        raise not_found(code)
    if row.status == repository.RETRACTED:
        info = retraction_info(session, row)
        raise ClipRetracted(
            f"clip {code} was retracted",
            extra={
                "clip": code,
                "retracted_at": info.retracted_at.isoformat() if info.retracted_at else None,
                "reason": info.reason,
            },
        )
    return row


def retraction_info(session: Session, row: Any) -> sources.RetractionInfo:
    info = sources.retraction(session, row.id)
    if info is not None:
        return info
    last = changes.last_change(session, row.code, "retracted")
    return sources.RetractionInfo(reason=None, retracted_at=last.occurred_at if last else None)


def get_public(session: Session, code: str) -> ClipPublic:
    return to_public(enrich(session, [get_visible(session, code)])[0])


def visible_media(session: Session, code: str) -> sources.MediaInfo:
    """The media of a *published* clip (retracted clips serve no media), else 404."""
    code = canonical_code(code)
    row = repository.get_row(session, code)
    if row is None or row.status != repository.PUBLISHED:
        raise not_found(code)
    info = sources.media(session, [row.id]).get(row.id)
    if info is None:
        raise NotFound(f"clip {code} has no public media", field="code")
    # a media route asks the store itself, whatever the jobs recorded (app/public/sources.py)
    return replace(info, playback_done=None)


# -- the change feed -------------------------------------------------------------------


def change_page(session: Session, since: str | None, limit: int) -> ChangePage:
    after = parse_cursor(since, "since") or 0
    events = changes.list_changes(session, after, limit + 1)
    more = len(events) > limit
    events = events[:limit]
    codes = sorted({e.code for e in events if e.kind != "retracted"})
    rows = repository.rows_by_codes(session, codes)
    current = {e.row.code: to_public(e) for e in enrich(session, rows)}
    out = [
        ChangeEvent(
            cursor=encode_cursor({"id": e.id}),
            kind=e.kind,  # type: ignore[arg-type]
            code=e.code,
            at=e.occurred_at,
            clip=current.get(e.code) if e.kind != "retracted" else None,
        )
        for e in events
    ]
    last = events[-1].id if events else after
    return ChangePage(events=out, next_cursor=encode_cursor({"id": last}), has_more=more)
