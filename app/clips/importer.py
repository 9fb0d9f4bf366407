"""`archive import FILE.csv`: all or nothing, idempotent, every bad row reported.

Columns: code, city, province, date, title, description, title_fa, description_fa
(only city, province and date are required). UTF-8 with or without a BOM.
A row with a code is matched by its code on re-import; a row without one by a fingerprint
of its content, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clips import service
from app.clips.models import Clip
from app.clips.schemas import ClipCreate
from app.custody import service as custody
from app.errors import AppError, InvalidInput
from app.i18n import translate_plural
from app.places import service as places

REQUIRED = ("city", "province", "date")
OPTIONAL = ("code", "title", "description", "title_fa", "description_fa")
MAX_FIELD = 20000
NAMES_SHOWN, NAME_SHOWN = 10, 40  # unknown columns named in the error, characters each
NUL = "\x00"


class ImportFailed(InvalidInput):
    code = "import_failed"


@dataclass
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    created: list[str] = field(default_factory=list)
    unchanged: int = 0
    places_created: list[str] = field(default_factory=list)
    sha256: str = ""


@dataclass
class _Row:
    line: int
    data: ClipCreate
    key: str


def _read(raw: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFailed(
            f"the file is not UTF-8 text (first bad byte on line {line}); "
            "save it as UTF-8 and try again"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportFailed(
            "the file is empty; the first line must name the columns "
            f"({', '.join(REQUIRED + OPTIONAL)})"
        ) from None
    except csv.Error as exc:
        raise ImportFailed(f"line 1: {exc}") from None
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        raise ImportFailed(
            f"{translate_plural('en', 'err.count.unknown_columns', len(unknown))} "
            f"{_names(unknown)}; the accepted columns are {', '.join(REQUIRED + OPTIONAL)}",
            field="columns",
        )
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise ImportFailed(f"missing required column(s) {', '.join(missing)}", field="columns")
    dupes = sorted(h for h, n in Counter(header).items() if n > 1)
    if dupes:
        raise ImportFailed(f"column(s) {', '.join(dupes)} appear more than once", field="columns")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                rows.append(
                    (line, {"__error__": f"has {len(values)} fields, the header has {len(header)}"})
                )
                continue
            rows.append((line, {h: v.strip() for h, v in zip(header, values, strict=True)}))
    except csv.Error as exc:
        raise ImportFailed(f"line {reader.line_num}: {exc}") from None
    return header, rows


def _names(names: list[str]) -> str:
    """The first few names, each cut short (a file may carry 100,000 odd columns)."""
    shown = [repr(n if len(n) <= NAME_SHOWN else n[:NAME_SHOWN] + "…") for n in names[:NAMES_SHOWN]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def _fingerprint(values: dict[str, str], seen: dict[str, int]) -> str:
    base = "\x1f".join(values.get(k, "") for k in REQUIRED + OPTIONAL)
    n = seen.get(base, 0)
    seen[base] = n + 1
    return hashlib.sha256(f"{base}\x1e{n}".encode()).hexdigest()


def _validate(rows: list[tuple[int, dict[str, str]]]) -> tuple[list[_Row], list[RowError]]:
    good: list[_Row] = []
    errors: list[RowError] = []
    codes: dict[str, int] = {}
    seen: dict[str, int] = {}
    for line, values in rows:
        if "__error__" in values:
            errors.append(RowError(line, values["__error__"]))
            continue
        problems = [f"{h} is empty" for h in REQUIRED if not values.get(h)]
        # PostgreSQL cannot store NUL in text (psycopg raised), SQLite would keep it
        problems += [f"{h} contains a NUL (0x00) character" for h, v in values.items() if NUL in v]
        problems += [
            f"{h} is longer than {MAX_FIELD} characters"
            for h, v in values.items()
            if len(v) > MAX_FIELD
        ]
        code = service.normalise_code(values.get("code") or "") or None
        if code:
            try:
                service.parse_code(code)
            except AppError as exc:
                problems.append(exc.message)
            if code in codes:
                problems.append(f"code {code} is also on line {codes[code]}")
            codes.setdefault(code, line)
        if values.get("date"):
            try:
                service.parse_date(values["date"])
            except AppError as exc:
                problems.append(exc.message)
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
            continue
        data = ClipCreate(
            code=code,
            country=service.parse_code(code)[0] if code else "IRN",
            city=values["city"],
            province=values["province"],
            date=values["date"],
            title_en=values.get("title") or None,
            title_fa=values.get("title_fa") or None,
            description_en=values.get("description") or None,
            description_fa=values.get("description_fa") or None,
        )
        good.append(_Row(line, data, _fingerprint(values, seen)))
    return good, errors


def _same(session: Session, existing: Clip, data: ClipCreate) -> bool:
    """Is an existing clip what this row describes (same place and date)?"""
    try:
        where = places.resolve(
            session, country=existing.country_code, province=data.province, city=data.city
        )
    except AppError:
        return False
    return (
        existing.deleted_at is None
        and where.place.id == existing.place_id
        and service.parse_date(data.date).edtf == existing.date_edtf
    )


def _place_problems(
    session: Session,
    data: ClipCreate,
    new_provinces: bool,
    checked: dict[tuple[str, str, str], list[str]],
) -> list[str]:
    key = (data.country, places.normalise(data.province), places.normalise(data.city))
    if key not in checked:
        checked[key] = places.check(
            session,
            country=data.country,
            province=data.province,
            city=data.city,
            new_provinces=new_provinces,
        )
    return checked[key]


def _reserve_codes(session: Session, todo: list[_Row]) -> list[RowError]:
    """Every code the file names is reserved before any number is allocated, so a row
    without a code never takes a number that a later row names."""
    errors: list[RowError] = []
    for row in todo:
        if row.data.code:
            try:
                service.reserve_code(session, row.data.code)
            except AppError as exc:
                errors.append(RowError(row.line, exc.message))
    return errors


def import_csv(
    session: Session,
    path: Path | None = None,
    *,
    raw: bytes | None = None,
    actor: str,
    user_id: int | None = None,
    published: bool = False,
    source: str | None = None,
    defaults: Callable[[ClipCreate, Session], ClipCreate] | None = None,
    progress: Callable[[int, int], None] | None = None,
    create_places: bool = False,
) -> ImportReport:
    """Validate every row, then write them all in the caller's transaction (or none).

    Every problem is found in one pass: bad fields, codes taken, unknown provinces (unless
    ``create_places``) and known cities under the wrong province. Unknown cities under a
    known province are created and reported. ``progress(i, total)`` is called with 0 once
    the checks are done and the writing starts, then after every row written."""
    if raw is None:
        assert path is not None
        raw = path.read_bytes()
    report = ImportReport(sha256=hashlib.sha256(raw).hexdigest())
    _, rows = _read(raw)
    report.rows = len(rows)
    good, errors = _validate(rows)
    todo: list[_Row] = []
    checked: dict[tuple[str, str, str], list[str]] = {}
    for row in good:
        existing = None
        if row.data.code:
            existing = session.scalar(select(Clip).where(Clip.code == row.data.code))
            if existing is not None and not _same(session, existing, row.data):
                errors.append(
                    RowError(
                        row.line, f"code {row.data.code} already exists with different details"
                    )
                )
                continue
        else:
            existing = session.scalar(select(Clip).where(Clip.import_key == row.key))
        if existing is not None:
            report.unchanged += 1
            continue
        problems = _place_problems(session, row.data, create_places, checked)
        if problems:
            errors.append(RowError(row.line, "; ".join(problems)))
        else:
            todo.append(row)
    if not errors:
        errors += _reserve_codes(session, todo)
    if errors:
        errors.sort(key=lambda e: e.line)
        raise ImportFailed(
            "nothing was imported: " + translate_plural("en", "err.count.bad_rows", len(errors)),
            extra={"rows": [str(e) for e in errors]},
        )
    status = "published" if published else "draft"
    if progress:
        progress(0, len(todo))
    for i, row in enumerate(todo, 1):
        data = defaults(row.data, session) if defaults else row.data
        try:
            clip = service.create(
                session,
                data,
                actor=actor,
                user_id=user_id,
                status=status,
                source=source,
                create_places=True,
                places_created=report.places_created,
            )
        except AppError as exc:
            raise ImportFailed(
                f"nothing was imported: line {row.line}: {exc.message}",
                extra={"rows": [f"line {row.line}: {exc.message}"]},
            ) from None
        clip.import_key = None if row.data.code else row.key
        report.created.append(clip.code)
        if progress:
            progress(i, len(todo))
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="catalogue.imported",
        payload={
            "sha256": report.sha256,
            "rows": report.rows,
            "created": len(report.created),
            "unchanged": report.unchanged,
            "published": published,
            "source": source,
            "places_created": report.places_created,
        },
    )
    return report


def describe(report: ImportReport) -> dict[str, Any]:
    return {
        "rows": report.rows,
        "created": len(report.created),
        "unchanged": report.unchanged,
        "places_created": report.places_created,
        "sha256": report.sha256,
    }
