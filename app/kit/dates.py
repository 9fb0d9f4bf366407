"""Uncertain event dates, stored as EDTF (Library of Congress Extended Date/Time Format).

An event date is one of four shapes, each with a canonical EDTF form:

- a day: ``2019-11-16``
- a month: ``2019-11``
- an interval (it happened over, or somewhere within, these days): ``2019-11-15/2019-11-23``
- one of a set of days (it happened on exactly one of them): ``[2019-11-15,2019-11-16]``

``parse_event_date`` reads the archive's English style ("15 – 23 Nov 2019"), EDTF, ISO and
Solar Hijri dates in Persian or Latin digits ("۲۵ آبان ۱۳۹۸", "25 Aban 1398", "۱۳۹۸/۰۸/۲۵",
"1398-08-25").
``display_en`` always parses back to the same value; ``display_fa`` parses back to the same
earliest and latest days.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

import jdatetime

from app.kit.digits import foreign_digit, is_ascii_digits, to_latin_digits, to_persian_digits

__all__ = [
    "DateParseError",
    "EventDate",
    "from_edtf",
    "parse_day",
    "parse_event_date",
    "solar_hijri_display",
    "to_latin_digits",
    "to_persian_digits",
]

MIN_YEAR, MAX_YEAR = 1900, 2100
EXAMPLES = "'16 Nov 2019', '15 – 23 Nov 2019', '15 or 16 Nov 2019', '2019-11-15/2019-11-23'"
DASH = "\u2013"
MAX_SET_DAYS = 366
MAX_TEXT = 200  # the longest accepted form is far shorter; longer text is not parsed

EN_MONTHS = [calendar.month_abbr[m] for m in range(1, 13)]
FA_MONTHS = [
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
]  # fmt: skip
_SOLAR_LATIN = [
    "farvardin farvardeen",
    "ordibehesht ordibehest ordibeheshet",
    "khordad khordaad khurdad",
    "tir teer",
    "mordad amordad mordaad",
    "shahrivar shahriwar sharivar shahrevar",
    "mehr",
    "aban abaan",
    "azar aazar",
    "dey dei",
    "bahman",
    "esfand esfend espand",
]
_SOLAR_PERSIAN_EXTRA = {"امرداد": 5, "ابان": 8, "اذر": 9}

GREGORIAN, SOLAR = "gregorian", "solar"
_MONTH_WORDS: dict[str, tuple[str, int]] = {}
for _m in range(1, 13):
    _MONTH_WORDS[calendar.month_name[_m].lower()] = (GREGORIAN, _m)
    _MONTH_WORDS[calendar.month_abbr[_m].lower()] = (GREGORIAN, _m)
    _MONTH_WORDS[FA_MONTHS[_m - 1]] = (SOLAR, _m)
    for _w in _SOLAR_LATIN[_m - 1].split():
        _MONTH_WORDS[_w] = (SOLAR, _m)
_MONTH_WORDS["sept"] = (GREGORIAN, 9)
for _w, _m in _SOLAR_PERSIAN_EXTRA.items():
    _MONTH_WORDS[_w] = (SOLAR, _m)

_RANGE_WORDS = {"-", "to", "until", "till", "تا"}
_SET_WORDS = {",", "or", "یا"}
_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+|\.\.|[-/,\[\]]|\S")
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


class DateParseError(ValueError):
    """A date text could not be read. ``value`` is the text as given."""

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(
            f"cannot read {value!r} as a date: {reason}. Accepted forms include {EXAMPLES}"
        )


class _Bad(Exception):
    """Internal: a reason why the text is not a date (wrapped into DateParseError)."""


@dataclass(frozen=True)
class EventDate:
    edtf: str
    earliest: datetime.date
    latest: datetime.date
    display_en: str
    display_fa: str


def _solar(d: datetime.date) -> tuple[int, int, int]:
    j = jdatetime.date.fromgregorian(date=d)
    return int(j.year), int(j.month), int(j.day)


def solar_hijri_display(d: datetime.date) -> str:
    y, m, day = _solar(d)
    return to_persian_digits(f"{day} {FA_MONTHS[m - 1]} {y}")


# --- building and rendering ------------------------------------------------------------------


def _render(days: list[datetime.date], is_range: bool, fa: bool) -> str:
    """Render days, naming a month or year only where the next day does not share it.

    The parser fills a missing month and year from the right, so this round-trips.
    """
    parts = [_solar(d) if fa else (d.year, d.month, d.day) for d in days]
    names = FA_MONTHS if fa else EN_MONTHS
    texts = []
    for i, (y, m, d) in enumerate(parts):
        nxt = parts[i + 1] if i + 1 < len(parts) else None
        text = str(d)
        if nxt is None or (nxt[0], nxt[1]) != (y, m):
            text += f" {names[m - 1]}"
        if nxt is None or nxt[0] != y:
            text += f" {y}"
        texts.append(text)
    if is_range:
        out = f" {DASH} ".join(texts)
    elif len(texts) == 1:
        out = texts[0]
    else:
        comma, word = ("، ", " یا ") if fa else (", ", " or ")
        out = comma.join(texts[:-1]) + word + texts[-1]
    return to_persian_digits(out) if fa else out


def _check_year(d: datetime.date) -> None:
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise _Bad(f"year {d.year} is outside {MIN_YEAR}–{MAX_YEAR}")


def _single(d: datetime.date) -> EventDate:
    _check_year(d)
    return EventDate(d.isoformat(), d, d, _render([d], False, False), _render([d], False, True))


def _between(a: datetime.date, b: datetime.date) -> EventDate:
    if a == b:
        return _single(a)
    if a > b:
        raise _Bad(f"the range starts after it ends ({a.isoformat()} > {b.isoformat()})")
    _check_year(a)
    _check_year(b)
    return EventDate(
        f"{a.isoformat()}/{b.isoformat()}",
        a,
        b,
        _render([a, b], True, False),
        _render([a, b], True, True),
    )


def _one_of(days: Iterable[datetime.date]) -> EventDate:
    ds = sorted(set(days))
    if not ds:
        raise _Bad("the set of days is empty")
    if len(ds) == 1:
        return _single(ds[0])
    if len(ds) > MAX_SET_DAYS:
        raise _Bad(f"a set may hold at most {MAX_SET_DAYS} days")
    _check_year(ds[0])
    _check_year(ds[-1])
    edtf = "[" + ",".join(d.isoformat() for d in ds) + "]"
    return EventDate(edtf, ds[0], ds[-1], _render(ds, False, False), _render(ds, False, True))


def _month(year: int, month: int) -> EventDate:
    first = _gregorian_day(year, month, 1)
    last = first.replace(day=calendar.monthrange(year, month)[1])
    return EventDate(
        f"{year:04d}-{month:02d}",
        first,
        last,
        f"{EN_MONTHS[month - 1]} {year}",
        _render([first, last], True, True),
    )


def _gregorian_day(y: int, m: int, d: int) -> datetime.date:
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise _Bad(f"year {y} is outside {MIN_YEAR}–{MAX_YEAR}")
    if not 1 <= m <= 12:
        raise _Bad(f"there is no month {m}")
    if d < 1:
        raise _Bad(f"there is no day {d}")
    length = calendar.monthrange(y, m)[1]
    if d > length:
        raise _Bad(f"{calendar.month_name[m]} {y} has {length} days")
    return datetime.date(y, m, d)


def _solar_length(y: int, m: int) -> int:
    if m <= 6:
        return 31
    if m <= 11:
        return 30
    return 30 if jdatetime.date(y, 1, 1).isleap() else 29


def _solar_day(y: int, m: int, d: int) -> datetime.date:
    if not MIN_YEAR - 622 <= y <= MAX_YEAR - 620:
        raise _Bad(f"Solar year {y} is outside the years this archive accepts")
    if not 1 <= m <= 12:
        raise _Bad(f"there is no month {m}")
    if d < 1:
        raise _Bad(f"there is no day {d}")
    length = _solar_length(y, m)
    if d > length:
        raise _Bad(f"{_SOLAR_LATIN[m - 1].split()[0].title()} {y} has {length} days")
    result: datetime.date = jdatetime.date(y, m, d).togregorian()
    _check_year(result)
    return result


# --- parsing ---------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    s = to_latin_digits(text).lower()
    s = s.replace("\u200c", "").replace("ي", "ی").replace("ك", "ک").replace("،", ",")
    for ch in _DASHES:
        s = s.replace(ch, "-")
    return " ".join(s.split())


def _iso_day(s: str) -> datetime.date:
    m = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", s)
    if not m:
        raise _Bad(f"{s!r} is not a YYYY-MM-DD day" if s else "a day is missing")
    return _gregorian_day(int(m[1]), int(m[2]), int(m[3]))


def _parse_edtf(c: str) -> EventDate:
    if c.startswith("["):
        if not c.endswith("]") or len(c) < 3:
            raise _Bad("a set of days must be closed with ']'")
        days: list[datetime.date] = []
        for item in c[1:-1].split(","):
            if ".." in item:
                a, _, b = item.partition("..")
                da, db = _iso_day(a), _iso_day(b)
                if da > db:
                    raise _Bad(f"the range {item!r} starts after it ends")
                if (db - da).days >= MAX_SET_DAYS:
                    raise _Bad(f"a set may hold at most {MAX_SET_DAYS} days")
                days.extend(da + datetime.timedelta(n) for n in range((db - da).days + 1))
            else:
                days.append(_iso_day(item))
        return _one_of(days)
    if "/" in c:
        a, _, b = c.partition("/")
        if not a or not b or "/" in b:
            raise _Bad("an interval needs a start and an end, like 2019-11-15/2019-11-23")
        return _between(_iso_day(a), _iso_day(b))
    m = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", c)
    if m:
        return _month(int(m[1]), int(m[2]))
    return _single(_iso_day(c))


def _tokens(s: str) -> list[str]:
    toks = []
    for t in _TOKEN.findall(s):
        if t == ".":
            continue
        if t in _RANGE_WORDS:
            t = "-"
        elif t in _SET_WORDS:
            t = ","
        elif not (is_ascii_digits(t) or t == "-" or t == "," or t in _MONTH_WORDS):
            raise _Bad(f"{t!r} is not a day, month, year or separator")
        toks.append(t)
    # US order: "Nov 16, 2019" / "November 16 2019" -> "16 nov 2019"
    i = 0
    while i + 1 < len(toks):
        t, n = toks[i], toks[i + 1]
        if (
            t in _MONTH_WORDS
            and is_ascii_digits(n)
            and len(n) <= 2
            and (i == 0 or toks[i - 1] in ("-", ","))
        ):
            toks[i], toks[i + 1] = n, t
            if i + 3 < len(toks) and toks[i + 2] == "," and len(toks[i + 3]) == 4:
                del toks[i + 2]
        i += 1
    return toks


_Part = tuple[int | None, tuple[str, int] | None, int | None]


def _segment(toks: list[str]) -> _Part:
    if not toks:
        raise _Bad("a day is missing next to a separator")
    day = month = year = None
    rest = list(toks)
    if rest and is_ascii_digits(rest[0]) and len(rest[0]) <= 2:
        day = int(rest.pop(0))
    if rest and rest[0] in _MONTH_WORDS:
        month = _MONTH_WORDS[rest.pop(0)]
    if rest and is_ascii_digits(rest[0]) and len(rest[0]) == 4:
        year = int(rest.pop(0))
    if rest:
        raise _Bad(f"did not expect {rest[0]!r} after {' '.join(toks[: len(toks) - len(rest)])!r}")
    if year is not None and month is None:
        raise _Bad(f"{' '.join(toks)!r} has a year but no month")
    return day, month, year


def _parse_human(s: str) -> EventDate:
    toks = _tokens(s)
    segments: list[list[str]] = [[]]
    seps: list[str] = []
    for t in toks:
        if t in ("-", ","):
            seps.append(t)
            segments.append([])
        else:
            segments[-1].append(t)
    if "-" in seps and len(seps) > 1:
        raise _Bad("a range has exactly two ends and cannot be mixed with 'or'")
    parts = [_segment(seg) for seg in segments]
    filled: list[tuple[int | None, str, int, int]] = []
    month: tuple[str, int] | None = None
    year: int | None = None
    for day, mon, yr in reversed(parts):
        if yr is not None:
            year = yr
        if mon is not None:
            month = mon
        if month is None:
            raise _Bad("no month given")
        if year is None:
            raise _Bad("no year given")
        filled.append((day, month[0], year, month[1]))
    filled.reverse()
    if len({cal for _, cal, _, _ in filled}) > 1:
        raise _Bad("it mixes Gregorian and Solar Hijri months")
    make = _solar_day if filled[0][1] == SOLAR else _gregorian_day
    if len(filled) == 1 and filled[0][0] is None:
        _, cal, y, m = filled[0]
        if cal == GREGORIAN:
            return _month(y, m)
        return _between(_solar_day(y, m, 1), _solar_day(y, m, _solar_length(y, m)))
    if any(day is None for day, _, _, _ in filled):
        raise _Bad("every part of a range or list needs a day")
    days = [make(y, m, d or 0) for d, _, y, m in filled]
    if seps and seps[0] == "-":
        return _between(days[0], days[1])
    return _one_of(days)


# a Solar Hijri day in numbers ("1398-08-24", "۱۳۹۸/۰۸/۲۴"): years 1200-1499 are Solar Hijri
# (Gregorian years are read from 1900 on, so the two never overlap)
_NUMERIC_SOLAR = re.compile(r"(1[234][0-9]{2})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")


def parse_event_date(text: str) -> EventDate:
    """Read any accepted human, ISO, EDTF or Solar Hijri form; raise DateParseError otherwise."""
    if not isinstance(text, str):
        raise DateParseError(repr(text), "expected text")
    if len(text) > MAX_TEXT:
        raise DateParseError(text[:40] + "…", f"a date is at most {MAX_TEXT} characters")
    s = _normalise(text)
    if not s:
        raise DateParseError(text, "no date given")
    if (odd := foreign_digit(s)) is not None:
        raise DateParseError(
            text, f"{odd!r} is not a digit this archive reads: write 0-9 or Persian digits ۰-۹"
        )
    compact = s.replace(" ", "")
    try:
        if solar := _NUMERIC_SOLAR.fullmatch(compact):
            return _single(_solar_day(int(solar[1]), int(solar[2]), int(solar[3])))
        if compact.startswith("[") or re.match(r"[0-9]{4}-[0-9]", compact):
            return _parse_edtf(compact)
        return _parse_human(s)
    except _Bad as exc:
        raise DateParseError(text, str(exc)) from None


def from_edtf(edtf: str) -> EventDate:
    """Rebuild an EventDate from its stored EDTF; ``from_edtf(x.edtf) == x``."""
    return parse_event_date(edtf)


def parse_day(text: str) -> datetime.date:
    """A single day for query filters (on=, from=, to=)."""
    value = parse_event_date(text)
    if value.earliest != value.latest:
        raise DateParseError(text, "a single day is needed here, like '16 Nov 2019' or 2019-11-16")
    return value.earliest
