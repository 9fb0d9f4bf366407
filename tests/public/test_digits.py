"""Characters that look like digits: exactly ASCII and Persian/Arabic-Indic digits are read;
every other character of the Unicode Nd and No categories ("²", "१", "６", "①") is a clear
422 invalid_date (a line error in `archive import`), never a 500 or a traceback."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from app.kit.dates import DateParseError, parse_event_date
from app.kit.digits import ACCEPTED, foreign_digit, parse_float, parse_int, to_latin_digits

NUMERIC = [
    ch
    for ch in map(chr, range(sys.maxunicode + 1))
    if unicodedata.category(ch) in ("Nd", "No") and ch not in "\x00"
]
TEMPLATES = ["{}", "{} Nov 2019", "16 Nov 201{}", "1{} Nov 2019", "2019-11-1{}", "{}{} آبان ۱۳۹۸"]
HOSTILE = settings(
    max_examples=25,
    derandomize=True,  # seeded: the same cases on every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
numeric_text = st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=6)
date_like = st.one_of(
    numeric_text,
    st.builds(lambda t, x: t.replace("{}", x), st.sampled_from(TEMPLATES), numeric_text),
)


def test_the_categories_are_all_there() -> None:
    assert len(NUMERIC) > 1500 and "²" in NUMERIC and "१" in NUMERIC and "۵" in NUMERIC


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_nd_and_no_character_is_read_as_its_digit_or_refused_with_a_reason(
    template: str,
) -> None:
    """Exhaustive over both categories: no other exception than DateParseError, and a
    character outside ASCII and Persian/Arabic-Indic digits is never read as a digit."""
    for ch in NUMERIC:
        text = template.replace("{}", ch)
        try:
            parsed = parse_event_date(text)
        except DateParseError as exc:
            if ch not in ACCEPTED:
                assert repr(ch) in exc.reason, (text, exc.reason)
            continue
        assert ch in ACCEPTED, f"{text!r} was read as {parsed.edtf}"
        assert parsed == parse_event_date(to_latin_digits(text))


@given(date_like)
@settings(max_examples=300, deadline=None, database=None)
def test_date_parser_on_any_digit_like_text(text: str) -> None:
    try:
        parse_event_date(text)
    except DateParseError:
        return
    assert foreign_digit(text) is None


def test_persian_and_arabic_indic_digits_are_read() -> None:
    assert parse_event_date("۱۶ Nov ۲۰۱۹").edtf == "2019-11-16"
    assert parse_event_date("١٦ Nov ٢٠١٩").edtf == "2019-11-16"
    assert parse_int("۱۲") == 12 and parse_int("١٢") == 12 and parse_int("12") == 12
    assert parse_float("۳۵٫۶۸") == 35.68 and parse_float("-51,5") == -51.5


@pytest.mark.parametrize(
    "text", ["²", "१२", "１２", "①", "1e3", "nan", "inf", "-1", "1_2", "", " ", "9" * 19]
)
def test_other_numbers_are_not_integers(text: str) -> None:
    assert parse_int(text) is None


@pytest.mark.parametrize("text", ["²", "१.५", "1e3", "nan", "inf", ".", "-", "1.2.3"])
def test_other_numbers_are_not_decimals(text: str) -> None:
    assert parse_float(text) is None


# -- through every entrance the issue names ------------------------------------------------


def _requests(text: str) -> list[tuple[str, str, dict[str, object] | None]]:
    q = quote(text)
    return [
        ("POST", "/api/v1/clips", {"city": "Shiraz", "province": "Fars", "date": text}),
        ("GET", f"/api/v1/clips?from={q}", None),
        ("GET", f"/api/v1/published?on={q}", None),
        ("GET", f"/clips?from={q}", None),
        ("GET", f"/api/v1/export.csv?on={q}", None),
        ("GET", f"/api/v1/review/queue?from={q}", None),
        ("GET", f"/team/queue?from={q}", None),
    ]


def _call(
    client: TestClient, headers: dict[str, str], method: str, url: str, body: object
) -> tuple[int, dict[str, object] | None]:
    r = client.request(method, url, json=body, headers=headers)
    assert r.status_code < 500, (method, url, r.text[:300])
    if r.headers.get("content-type", "").startswith("application/json"):
        return r.status_code, r.json()
    return r.status_code, None


def _headers(url: str, admin: object, key: object) -> dict[str, str]:
    return key.headers if "/export" in url else admin.headers  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["¹", "16 Nov ²⁰¹⁹", "१६ Nov 2019", "2019-11-1６"])
def test_the_reported_500s_are_422_invalid_date_naming_the_field_and_value(
    client: TestClient, admin: object, make_key: Callable[..., object], text: str
) -> None:
    key = make_key("read", "export")
    for method, url, body in _requests(text):
        status, data = _call(client, _headers(url, admin, key), method, url, body)
        assert status == 422, (method, url)
        if url.startswith("/clips"):
            continue  # the public search page: its form shows the message
        assert data is not None, url
        assert data["error"] == "invalid_date", (url, data)
        assert data["value"] == text and data["example"], data
        assert data["field"] in ("date", "from", "on")
        assert f"{foreign_digit(text)!r} is not a digit" in str(data["detail"])


def test_hostile_digits_on_every_entrance_never_give_a_5xx(
    client: TestClient, admin: object, make_key: Callable[..., object]
) -> None:
    key = make_key("read", "export", rate=100000)

    @given(date_like)
    @HOSTILE
    def run(text: str) -> None:
        for method, url, body in _requests(text):
            status, data = _call(client, _headers(url, admin, key), method, url, body)
            if status == 422 and data is not None and data.get("error") != "invalid":
                assert data["error"] == "invalid_date", (url, data)

    run()


def test_archive_import_reports_a_superscript_date_as_a_line_error(
    db_url: str, tmp_path: Path
) -> None:
    from app.cli import app as cli

    path = tmp_path / "in.csv"
    path.write_text("city,province,date\nShiraz,Fars,16 Nov 2019\nShiraz,Fars,16 Nov ²⁰¹⁹\n")
    result = CliRunner().invoke(cli, ["import", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "line 3: date: cannot read '16 Nov ²⁰¹⁹'" in result.output
    assert "'²' is not a digit" in result.output
