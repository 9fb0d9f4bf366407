"""Clip use cases: create (with code allocation), read, list, update, delete (tombstone).

Services flush; the request or job boundary commits. Every change goes to the custody log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pycountry
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.clips import repository, search
from app.clips.exceptions import (
    ClipDeleted,
    ClipNotFound,
    DuplicateCode,
    EditNotAllowed,
    InvalidCode,
)
from app.clips.models import STATUSES, Clip, CodeSequence
from app.clips.rules import FROZEN as FROZEN
from app.clips.rules import check_not_frozen as check_not_frozen
from app.clips.rules import may_edit
from app.clips.schemas import ClipCreate, ClipPage, ClipRead, ClipUpdate
from app.custody import service as custody
from app.errors import InvalidInput, StaleVersion
from app.kit.clock import utcnow
from app.kit.cursor import decode_id_cursor, decode_rank_cursor, encode_cursor
from app.kit.date_input import field_date
from app.kit.dates import EventDate
from app.kit.digits import to_latin_digits
from app.places import service as places
from app.public.jobs import queue_playback

CODE_RE = re.compile(r"^([A-Z]{3})([0-9]{3,9})$")  # the number fits a 32-bit column
EDITABLE = (
    "title_en",
    "title_fa",
    "description_en",
    "description_fa",
    "graphic_violence",
    "identifiable_people",
    "tags",
)


def normalise_code(code: str) -> str:
    """A code as stored: without surrounding spaces, Persian digits written 0-9."""
    return to_latin_digits(code.strip())


def parse_code(code: str) -> tuple[str, int]:
    m = CODE_RE.match(normalise_code(code))
    if not m:
        raise InvalidCode(
            f"clip code {code!r} must be a 3-letter ISO country code plus 3 to 9 digits, "
            "like IRN091",
            field="code",
        )
    country = m.group(1)
    check_country(country, field="code")
    return country, int(m.group(2))


def check_country(country: str, *, field: str = "country") -> str:
    country = country.strip().upper()
    if pycountry.countries.get(alpha_3=country) is None:
        raise InvalidInput(
            f"{country!r} is not an ISO 3166-1 alpha-3 country code (e.g. IRN)", field=field
        )
    return country


def parse_date(text: str, field: str = "date") -> EventDate:
    return field_date(text, field)


def _sequence_row(session: Session, country: str) -> CodeSequence:
    row = session.get(CodeSequence, country, with_for_update=True)
    if row is None:
        highest = (
            session.scalar(select(func.max(Clip.seq)).where(Clip.country_code == country)) or 0
        )
        try:
            with session.begin_nested():
                session.add(CodeSequence(country_code=country, last_seq=highest))
        except IntegrityError:
            pass  # created by a concurrent transaction
        row = session.get(CodeSequence, country, with_for_update=True, populate_existing=True)
        assert row is not None
    return row


def allocate_code(session: Session, country: str) -> tuple[str, int]:
    """The next number after the highest ever used for the country (never reused)."""
    row = _sequence_row(session, country)
    row.last_seq += 1
    session.flush()
    return f"{country}{row.last_seq:03d}", row.last_seq


def reserve_code(session: Session, code: str) -> tuple[str, int]:
    """An explicit (e.g. imported) code: kept as given, and the counter moves past it."""
    country, seq = parse_code(code)
    existing = session.execute(
        select(Clip.code, Clip.deleted_at).where(
            (Clip.code == code) | ((Clip.country_code == country) & (Clip.seq == seq))
        )
    ).first()
    if existing is not None:
        what = "a deleted clip" if existing.deleted_at else "clip " + existing.code
        raise DuplicateCode(f"code {code} is already used by {what}", field="code")
    row = _sequence_row(session, country)
    row.last_seq = max(row.last_seq, seq)
    session.flush()
    return country, seq


_DATE_FIELDS = (
    ("date_edtf", "edtf"),
    ("date_earliest", "earliest"),
    ("date_latest", "latest"),
    ("date_display_en", "display_en"),
    ("date_display_fa", "display_fa"),
)


def read_dict(row: Any, fields: Sequence[str] | None = None) -> dict[str, Any]:
    """A row of ``repository.base_select()`` as the fields of ClipRead (positional access:
    a Row's attribute look-ups cost more than the rest of the conversion; pass the rows'
    ``_fields`` when converting a page)."""
    d = dict(zip(fields or row._fields, row, strict=True))
    d.pop("id")
    d.pop("search_rank", None)
    d["country"] = d.pop("country_code")
    d["date"] = {name: d.pop(column) for column, name in _DATE_FIELDS}
    d["tags"] = list(d["tags"] or [])
    return d


def to_read(row: Any) -> ClipRead:
    return ClipRead.model_validate(read_dict(row))


def _set_date(clip: Clip, d: EventDate) -> None:
    clip.date_edtf = d.edtf
    clip.date_earliest = d.earliest
    clip.date_latest = d.latest
    clip.date_display_en = d.display_en
    clip.date_display_fa = d.display_fa


def _clean_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag or len(tag) > 64:
            raise InvalidInput(f"tag {tag!r} must be 1 to 64 characters", field="tags")
        if tag not in out:
            out.append(tag)
    return out


def create(
    session: Session,
    data: ClipCreate,
    *,
    actor: str,
    user_id: int | None = None,
    status: str = "draft",
    source: str | None = None,
    create_places: bool = False,
    places_created: list[str] | None = None,
) -> Clip:
    event_date = parse_date(data.date)
    if data.code:
        code = normalise_code(data.code)
        country, seq = reserve_code(session, code)
        if data.country and check_country(data.country) != country:
            raise InvalidCode(
                f"code {code} does not belong to country {data.country}", field="code"
            )
    else:
        country = check_country(data.country)
        code, seq = allocate_code(session, country)
    where = places.resolve(
        session, country=country, province=data.province, city=data.city, create=create_places
    )
    if places_created is not None:
        places_created.extend(where.created)
    now = utcnow()
    clip = Clip(
        code=code,
        country_code=country,
        seq=seq,
        place_id=where.place.id,
        title_en=data.title_en,
        title_fa=data.title_fa,
        description_en=data.description_en,
        description_fa=data.description_fa,
        graphic_violence=data.graphic_violence,
        identifiable_people=data.identifiable_people,
        tags=_clean_tags(data.tags),
        status=status,
        source=source,
        created_by_id=user_id,
        created_at=now,
        updated_at=now,
        published_at=now if status == "published" else None,
    )
    _set_date(clip, event_date)
    session.add(clip)
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="clip.created",
        clip_code=code,
        payload={
            "fields": snapshot(session, clip),
            "status": status,
            "source": source,
            "places_created": where.created,
        },
    )
    return clip


def snapshot(session: Session, clip: Clip) -> dict[str, Any]:
    row = repository.get_row(session, clip.code)
    assert row is not None
    return {
        "city": row.city,
        "province": row.province,
        "date": row.date_edtf,
        **{name: getattr(clip, name) for name in EDITABLE},
    }


def get(session: Session, code: str) -> ClipRead:
    row = repository.get_row(session, code)
    if row is None:
        _raise_missing(session, code)
    return to_read(row)


def _raise_missing(session: Session, code: str) -> None:
    deleted = session.scalar(select(Clip.deleted_at).where(Clip.code == code))
    if deleted is not None:
        raise ClipDeleted(f"clip {code} was deleted on {deleted.date().isoformat()}")
    raise ClipNotFound(f"no clip with the code {code}", field="code")


def live_clip(session: Session, code: str, *, lock: bool = False) -> Clip:
    """The clip with this code, for every domain: 404 ``clip_not_found`` when there is
    none, 410 ``clip_deleted`` when it was deleted. ``lock``: the row is locked until the
    end of the transaction, so two people acting on one clip are serialised and the
    second one sees the first one's result."""
    clip = repository.get_clip(session, code, for_update=lock)
    if clip is None:
        raise ClipNotFound(f"no clip with the code {code}", field="code")
    if clip.deleted_at is not None:
        raise ClipDeleted(f"clip {code} was deleted on {clip.deleted_at.date().isoformat()}")
    return clip


def check_version(clip: Clip, version: int) -> None:
    if clip.version != version:
        raise StaleVersion(
            f"clip {clip.code} has changed since you read it (you sent version {version}, "
            f"it is now {clip.version}); reload and apply your change again",
            field="version",
            extra={"current_version": clip.version},
        )


def update(
    session: Session, code: str, data: ClipUpdate, *, actor: str, user: User
) -> dict[str, Any]:
    """A direct edit, only before verification, by the clip's creator or a reviewer.
    Returns what changed ({field: {before, after}}); callers that must react to an edit
    (the review workflow withdraws approvals) use ``review.editing.edit``."""
    clip = live_clip(session, code, lock=True)
    check_not_frozen(clip)
    if not may_edit(clip, user):
        raise EditNotAllowed(
            f"only the uploader of clip {code} and reviewers may edit it; comment on the "
            "clip to suggest a change"
        )
    check_version(clip, data.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    return change_fields(session, clip, changes, actor=actor, action="clip.updated")


def change_fields(
    session: Session,
    clip: Clip,
    changes: dict[str, Any],
    *,
    actor: str,
    action: str,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply catalogue changes (no state or rights check: the caller's job) and log them.
    Returns the diff {field: {before, after}}."""
    before = snapshot(session, clip)
    with session.no_autoflush:  # one UPDATE, so one version bump
        _apply(session, clip, changes, before)
    session.flush()
    after = snapshot(session, clip)
    diff = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if diff:
        custody.record(
            session,
            actor=actor,
            action=action,
            clip_code=clip.code,
            payload={**(payload or {}), "changes": diff},
        )
        if "identifiable_people" in diff and clip.status == "published":
            # the public copy changes between plain and face-blurred (app/public/faceblur.py)
            queue_playback(session, clip.id)
    return diff


def preview(session: Session, clip: Clip, changes: dict[str, Any]) -> dict[str, Any]:
    """What ``changes`` would do to the clip ({field: {before, after}}), validated exactly
    as an edit is, without changing anything (the work is rolled back to a savepoint)."""
    before = snapshot(session, clip)
    savepoint = session.begin_nested()
    try:
        with session.no_autoflush:
            _apply(session, clip, changes, before)
        session.flush()
        after = snapshot(session, clip)
    finally:
        savepoint.rollback()
    return {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}


def _apply(session: Session, clip: Clip, changes: dict[str, Any], before: dict[str, Any]) -> None:
    if changes.get("date") is not None:
        _set_date(clip, parse_date(changes["date"]))
    if changes.get("city") is not None or changes.get("province") is not None:
        where = places.resolve(
            session,
            country=clip.country_code,
            province=changes.get("province") or before["province"],
            city=changes.get("city") or before["city"],
        )
        clip.place_id = where.place.id
    for name in EDITABLE:
        if name in changes:
            value = changes[name]
            if name in ("graphic_violence", "identifiable_people", "tags") and value is None:
                raise InvalidInput(f"{name} cannot be null", field=name)
            setattr(clip, name, _clean_tags(value) if name == "tags" else value)


def delete(session: Session, code: str, *, actor: str, reason: str = "") -> None:
    clip = live_clip(session, code, lock=True)
    clip.deleted_at = utcnow()
    session.flush()
    custody.record(
        session, actor=actor, action="clip.deleted", clip_code=code, payload={"reason": reason}
    )
    if clip.status == "published":
        # its public playback copy must go too: the playback job deletes the copy of a clip
        # that is no longer visible (the original itself stays, as evidence)
        queue_playback(session, clip.id)


def _next_cursor(last: Any, ranked: bool) -> str:
    if ranked:
        return encode_cursor({"id": last.id, "r": last.search_rank})
    return encode_cursor({"id": last.id})


def list_clips(
    session: Session,
    *,
    city: str | None = None,
    province: str | None = None,
    country: str | None = None,
    on: Any = None,
    date_from: Any = None,
    date_to: Any = None,
    status: list[str] | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ClipPage:
    for s in status or []:
        if s not in STATUSES:
            raise InvalidInput(f"status {s!r} is not one of {', '.join(STATUSES)}", field="status")
    if on is not None and (date_from is not None or date_to is not None):
        raise InvalidInput("use either on= or from=/to=, not both", field="on")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"from ({date_from}) is after to ({date_to})", field="from")
    dialect = search.dialect_of(session)
    parsed = search.parse(q, dialect)
    if parsed is None:
        after_id, after_rank = decode_id_cursor(cursor), None
    else:
        after_id, after_rank = decode_rank_cursor(cursor)
    place_ids = places.city_ids_for(session, city=city, province=province, country=country)
    if parsed is None and (q or "").strip():
        place_ids = []  # typed text without a single word ("!!!") matches nothing
    f = repository.ClipFilter(
        place_ids=tuple(place_ids) if place_ids is not None else None,
        on=on,
        date_from=date_from,
        date_to=date_to,
        statuses=tuple(status) if status else None,
        q=parsed.engine if parsed else None,
        after_id=after_id,
        after_rank=after_rank,
        dialect=dialect,
    )
    rows = repository.list_rows(session, f, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    fields = rows[0]._fields if rows else None
    # One validation of the whole page from plain dicts (pydantic's core does it in one
    # call) instead of two Python-level model constructions per clip.
    return ClipPage.model_validate(
        {
            "items": [read_dict(r, fields) for r in rows],
            "next_cursor": _next_cursor(rows[-1], parsed is not None) if more and rows else None,
        }
    )
