import csv
import datetime
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kit.dates import (
    DateParseError,
    EventDate,
    from_edtf,
    parse_day,
    parse_event_date,
    solar_hijri_display,
    to_latin_digits,
    to_persian_digits,
)

D = date
NOV16 = ("2019-11-16", D(2019, 11, 16), D(2019, 11, 16), "16 Nov 2019")
NOV15_23 = ("2019-11-15/2019-11-23", D(2019, 11, 15), D(2019, 11, 23), "15 – 23 Nov 2019")
NOV15_16 = ("[2019-11-15,2019-11-16]", D(2019, 11, 15), D(2019, 11, 16), "15 or 16 Nov 2019")
NOV_MONTH = ("2019-11", D(2019, 11, 1), D(2019, 11, 30), "Nov 2019")

FORMS = [
    ("16 Nov 2019", *NOV16),
    ("16 November 2019", *NOV16),
    ("Nov 16, 2019", *NOV16),
    ("November 16 2019", *NOV16),
    ("  16   NOV   2019 ", *NOV16),
    ("16 Sept 2019", "2019-09-16", D(2019, 9, 16), D(2019, 9, 16), "16 Sep 2019"),
    ("2019-11-16", *NOV16),
    ("15 – 23 Nov 2019", *NOV15_23),
    ("15 — 23 Nov 2019", *NOV15_23),
    ("15–23 Nov 2019", *NOV15_23),
    ("15-23 Nov 2019", *NOV15_23),
    ("15 -23 Nov 2019", *NOV15_23),
    ("15 to 23 Nov 2019", *NOV15_23),
    ("2019-11-15/2019-11-23", *NOV15_23),
    (
        "30 Nov – 2 Dec 2019",
        "2019-11-30/2019-12-02",
        D(2019, 11, 30),
        D(2019, 12, 2),
        "30 Nov – 2 Dec 2019",
    ),
    (
        "30 Dec 2019 – 2 Jan 2020",
        "2019-12-30/2020-01-02",
        D(2019, 12, 30),
        D(2020, 1, 2),
        "30 Dec 2019 – 2 Jan 2020",
    ),
    ("16 – 16 Nov 2019", *NOV16),
    ("2019-11-16/2019-11-16", *NOV16),
    ("15 or 16 Nov 2019", *NOV15_16),
    ("16 or 15 or 16 Nov 2019", *NOV15_16),
    ("[2019-11-15,2019-11-16]", *NOV15_16),
    ("[2019-11-15, 2019-11-16]", *NOV15_16),
    ("[2019-11-16]", *NOV16),
    (
        "15, 16 or 18 Nov 2019",
        "[2019-11-15,2019-11-16,2019-11-18]",
        D(2019, 11, 15),
        D(2019, 11, 18),
        "15, 16 or 18 Nov 2019",
    ),
    (
        "[2019-11-15..2019-11-17]",
        "[2019-11-15,2019-11-16,2019-11-17]",
        D(2019, 11, 15),
        D(2019, 11, 17),
        "15, 16 or 17 Nov 2019",
    ),
    (
        "30 Nov or 1 Dec 2019",
        "[2019-11-30,2019-12-01]",
        D(2019, 11, 30),
        D(2019, 12, 1),
        "30 Nov or 1 Dec 2019",
    ),
    ("Nov 2019", *NOV_MONTH),
    ("November 2019", *NOV_MONTH),
    ("2019-11", *NOV_MONTH),
    ("Feb 2020", "2020-02", D(2020, 2, 1), D(2020, 2, 29), "Feb 2020"),
    ("۲۵ آبان ۱۳۹۸", *NOV16),
    ("25 آبان 1398", *NOV16),
    ("25 Aban 1398", *NOV16),
    ("٢٥ آبان ١٣٩٨", *NOV16),
    (
        "۲۴ – ۲۶ آبان ۱۳۹۸",
        "2019-11-15/2019-11-17",
        D(2019, 11, 15),
        D(2019, 11, 17),
        "15 – 17 Nov 2019",
    ),
    ("۲۴ یا ۲۵ آبان ۱۳۹۸", *NOV15_16),
    ("1 Farvardin 1399", "2020-03-20", D(2020, 3, 20), D(2020, 3, 20), "20 Mar 2020"),
    (
        "آبان ۱۳۹۸",
        "2019-10-23/2019-11-21",
        D(2019, 10, 23),
        D(2019, 11, 21),
        "23 Oct – 21 Nov 2019",
    ),
]


@pytest.mark.parametrize(("text", "edtf", "earliest", "latest", "display_en"), FORMS)
def test_accepted_forms(
    text: str, edtf: str, earliest: date, latest: date, display_en: str
) -> None:
    x = parse_event_date(text)
    assert (x.edtf, x.earliest, x.latest, x.display_en) == (edtf, earliest, latest, display_en)
    assert from_edtf(x.edtf) == x
    assert parse_event_date(x.display_en) == x


def test_persian_display() -> None:
    assert parse_event_date("۲۵ آبان ۱۳۹۸").earliest == D(2019, 11, 16)
    assert solar_hijri_display(D(2019, 11, 16)) == "۲۵ آبان ۱۳۹۸"
    assert parse_event_date("16 Nov 2019").display_fa == "۲۵ آبان ۱۳۹۸"
    assert parse_event_date("15 – 21 Nov 2019").display_fa == "۲۴ – ۳۰ آبان ۱۳۹۸"
    assert parse_event_date("15 or 16 Nov 2019").display_fa == "۲۴ یا ۲۵ آبان ۱۳۹۸"
    # a Gregorian month spans two Solar months: shown as a range of days
    assert parse_event_date("Nov 2019").display_fa == "۱۰ آبان – ۹ آذر ۱۳۹۸"


def test_digits() -> None:
    assert to_persian_digits("1398-08") == "۱۳۹۸-۰۸"
    assert to_latin_digits("۱۳۹۸ ٢٥") == "1398 25"
    assert to_latin_digits(to_persian_digits("0123456789")) == "0123456789"


def test_parse_day() -> None:
    assert parse_day("2019-11-16") == D(2019, 11, 16)
    assert parse_day("16 Nov 2019") == D(2019, 11, 16)
    assert parse_day("۲۵ آبان ۱۳۹۸") == D(2019, 11, 16)
    for text in ("15 – 23 Nov 2019", "Nov 2019", "15 or 16 Nov 2019", "junk"):
        with pytest.raises(DateParseError, match="cannot read"):
            parse_day(text)


def _archive_csv() -> Path | None:
    repo = Path(__file__).resolve().parents[1]
    for path in (
        repo / "app" / "demo" / "protest-archive-2019.csv",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "protest-archive-2019.csv",
    ):
        if path.exists():
            return path
    return None


def test_every_archive_row_parses() -> None:
    path = _archive_csv()
    if path is None:
        pytest.skip("protest-archive-2019.csv not found")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 103
    for row in rows:
        x = parse_event_date(row["date"])
        assert x.earliest <= x.latest
        assert D(2019, 11, 1) <= x.earliest <= x.latest <= D(2019, 11, 30), row
        assert x.display_en == row["date"]  # the archive already writes the canonical style


BAD = [
    ("", "no date"),
    ("   ", "no date"),
    ("31 Feb 2019", "28 days"),
    ("2019-13-01", "month 13"),
    ("32 Nov 2019", "30 days"),
    ("23 – 15 Nov 2019", "starts after it ends"),
    ("2019-11-23/2019-11-15", "starts after it ends"),
    ("yesterday", "not a day"),
    ("Nov", "no year"),
    ("2019-11-15/", "start and an end"),
    ("[2019-11-15,", "closed"),
    ("0 Nov 2019", "day 0"),
    ("16 Nov 1850", "outside"),
    ("16 Nov 2101", "outside"),
    ("30 Esfand 1398", "29 days"),
    ("15 or 16 – 17 Nov 2019", "range"),
    ("Nov – Dec 2019", "needs a day"),
    ("16 2019", "no month"),
]


@pytest.mark.parametrize(("text", "reason"), BAD)
def test_bad_input(text: str, reason: str) -> None:
    with pytest.raises(DateParseError) as info:
        parse_event_date(text)
    message = str(info.value)
    assert repr(text) in message
    assert reason in message
    assert "16 Nov 2019" in message  # shows an accepted example
    assert info.value.value == text


# --- properties ------------------------------------------------------------------------------

days = st.dates(min_value=D(1990, 1, 1), max_value=D(2030, 12, 31))


@st.composite
def event_dates(draw: st.DrawFn) -> EventDate:
    kind = draw(st.sampled_from(["day", "interval", "set", "month"]))
    start = draw(days)
    if kind == "day":
        edtf = start.isoformat()
    elif kind == "interval":
        end = start + datetime.timedelta(days=draw(st.integers(1, 90)))
        edtf = f"{start.isoformat()}/{end.isoformat()}"
    elif kind == "set":
        offsets = draw(st.lists(st.integers(1, 60), min_size=1, max_size=3, unique=True))
        members = [start] + [start + datetime.timedelta(days=o) for o in offsets]
        edtf = "[" + ",".join(d.isoformat() for d in sorted(members)) + "]"
    else:
        edtf = f"{start.year:04d}-{start.month:02d}"
    x = from_edtf(edtf)
    assert x.edtf == edtf
    return x


@settings(max_examples=200, deadline=None)
@given(event_dates())
def test_round_trips(x: EventDate) -> None:
    assert x.earliest <= x.latest
    assert from_edtf(x.edtf) == x
    assert parse_event_date(x.display_en) == x
    fa = parse_event_date(x.display_fa)
    assert (fa.earliest, fa.latest) == (x.earliest, x.latest)
    if len(x.edtf) != 7:  # all but Gregorian months read back exactly from Persian too
        assert fa == x


@settings(max_examples=200, deadline=None)
@given(days)
def test_solar_day_round_trip(d: date) -> None:
    shown = solar_hijri_display(d)
    assert parse_day(shown) == d
    assert parse_day(to_latin_digits(shown)) == d


@settings(max_examples=200, deadline=None)
@given(st.lists(days, min_size=1, max_size=5))
def test_sets_are_sorted_and_deduplicated(members: list[date]) -> None:
    x = parse_event_date("[" + ", ".join(d.isoformat() for d in reversed(members)) + "]")
    assert (x.earliest, x.latest) == (min(members), max(members))
    if len(set(members)) == 1:
        assert x.edtf == members[0].isoformat()
    else:
        assert x.edtf == "[" + ",".join(d.isoformat() for d in sorted(set(members))) + "]"
