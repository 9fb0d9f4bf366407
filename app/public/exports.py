"""Whole-archive exports (NDJSON, CSV) streamed with constant memory.

The parameters are parsed and the first batch is read inside the request, with its session
(``started``), so bad input or a failed first query is an ordinary error response. Each
later batch opens its own session (the request's session is closed once the response
starts); the keyset batches keep memory constant whatever the size of the archive.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from app.db import new_session
from app.partners.schemas import ClipPublic
from app.public import repository, service
from app.public.repository import PublicFilter

BATCH = 500

CSV_COLUMNS = (
    "code",
    "url",
    "country",
    "city",
    "city_fa",
    "province",
    "province_fa",
    "date_edtf",
    "date_earliest",
    "date_latest",
    "date_display_en",
    "date_display_fa",
    "title_en",
    "title_fa",
    "description_en",
    "description_fa",
    "graphic_violence",
    "identifiable_people",
    "tags",
    "source",
    "published_at",
    "updated_at",
    "sha256",
    "duration",
    "width",
    "height",
    "playback_url",
    "keyframes",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _batch(session: Session, f: PublicFilter, after: int | None) -> tuple[list[Any], list[Any]]:
    rows = repository.list_rows(session, replace(f, after_id=after), BATCH)
    return rows, [service.to_public(e) for e in service.enrich(session, rows)]


def iter_clips(f: PublicFilter, first: Session | None = None) -> Iterator[ClipPublic]:
    """Every clip of the filter, in keyset batches. The first batch is read with ``first``
    (the request's session) when given, the others each with a session of their own."""
    f = replace(f, ranked=False)  # a search's export walks by id (a stable, resumable order)
    after = f.after_id
    while True:
        if first is not None:
            rows, items = _batch(first, f, after)
            first = None
        else:
            session = new_session()
            try:
                rows, items = _batch(session, f, after)
                session.rollback()
            finally:
                session.close()
        yield from items
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def started(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Produce the first chunk now, inside the request: whatever fails there (the first
    query included) is an ordinary error response, not a stream cut off after a 200."""
    try:
        first = next(chunks)
    except StopIteration:
        return iter(())
    return itertools.chain([first], chunks)


def ndjson(f: PublicFilter, session: Session | None = None) -> Iterator[bytes]:
    buf: list[str] = []
    for clip in iter_clips(f, session):
        buf.append(clip.model_dump_json())
        if len(buf) >= 200:
            yield ("\n".join(buf) + "\n").encode()
            buf = []
    if buf:
        yield ("\n".join(buf) + "\n").encode()


def _cell(value: object) -> str:
    """Plain text; a leading formula character gets a quote (spreadsheet injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(c: ClipPublic) -> list[str]:
    m = c.media
    values: list[object] = [
        c.code,
        c.url,
        c.place.country,
        c.place.city,
        c.place.city_fa,
        c.place.province,
        c.place.province_fa,
        c.date.edtf,
        c.date.earliest.isoformat(),
        c.date.latest.isoformat(),
        c.date.display_en,
        c.date.display_fa,
        c.title_en,
        c.title_fa,
        c.description_en,
        c.description_fa,
        c.graphic_violence,
        c.identifiable_people,
        "|".join(c.tags),
        c.source,
        c.published_at.isoformat() if c.published_at else None,
        c.updated_at.isoformat(),
        m.sha256 if m else None,
        m.duration if m else None,
        m.width if m else None,
        m.height if m else None,
        m.playback_url if m else None,
        " ".join(f"{k.timestamp:.3f}:{k.phash}" for k in c.keyframes),
    ]
    return [_cell(v) for v in values]


def csv_stream(f: PublicFilter, session: Session | None = None) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for n, clip in enumerate(iter_clips(f, session), start=1):
        writer.writerow(csv_row(clip))
        if n % 200 == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()
