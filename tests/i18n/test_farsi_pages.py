"""Farsi done properly: the facts list pairs each label with its value, every date is
Solar Hijri in Persian digits, counts follow each language's plural rules, and the team's
date fields read Solar Hijri dates (with a clear refusal of a bad one)."""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.i18n import format_date, format_datetime, translate_plural
from app.kit.dates import DateParseError, parse_event_date
from tests.conftest import Member
from tests.i18n.conftest import HTML, Seeded, login_fa
from tests.i18n.crawl import english_words, prose_text, visible_text
from tests.review.test_team_web import csrf_of

GREGORIAN_YEAR = re.compile(r"(?<![0-9۰-۹])(?:19|20|۱۹|۲۰)[0-9۰-۹]{2}(?![0-9۰-۹])")


class _Facts(HTMLParser):
    """The <dt>/<dd> sequence of <dl class="facts">, as (tag, text) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.items: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "dl" and ("class", "facts") in attrs:
            self.inside = True
        elif self.inside and tag in ("dt", "dd"):
            self.items.append([tag, ""])

    def handle_endtag(self, tag: str) -> None:
        if tag == "dl":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.items:
            self.items[-1][1] += data


def facts(html: str) -> dict[str, str]:
    parser = _Facts()
    parser.feed(html)
    tags = [tag for tag, _ in parser.items]
    assert tags == ["dt", "dd"] * (len(tags) // 2), tags  # strictly one value per label
    texts = [" ".join(text.split()) for _, text in parser.items]
    return dict(zip(texts[::2], texts[1::2], strict=True))


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_each_fact_label_has_its_own_value(client: TestClient, seeded: Seeded, lang: str) -> None:
    prefix = "/fa" if lang == "fa" else ""
    page = client.get(f"{prefix}/clips/{seeded.published}", headers=HTML)
    assert page.status_code == 200
    got = facts(page.text)
    if lang == "fa":
        assert got["تاریخ"].startswith("۲۵ آبان ۱۳۹۸"), got
        assert got["مکان"].startswith("آبادان"), got
        assert got["کد"] == seeded.published, got
    else:
        assert got["Date"] == "16 Nov 2019" and got["Code"] == seeded.published, got
        assert got["Place"].startswith("Abadan"), got


def test_verified_and_retracted_on_are_solar_hijri(client: TestClient, seeded: Seeded) -> None:
    from app.kit.clock import utcnow

    today = format_date("fa", utcnow())
    assert re.fullmatch(r"[۰-۹]{1,2} \S+ ۱[۴۳][۰-۹]{2}", today), today
    page = client.get(f"/fa/clips/{seeded.published}", headers=HTML).text
    assert "راستی‌آزمایی‌شده در" in page
    assert today in page and utcnow().date().isoformat() not in visible_text(page)
    gone = client.get(f"/fa/clips/{seeded.retracted}", headers=HTML)
    assert gone.status_code == 410 and today in gone.text
    for text in (page, gone.text):  # no Gregorian year outside text marked lang="en"
        assert not GREGORIAN_YEAR.search(prose_text(text)), prose_text(text)


def test_team_pages_show_solar_hijri_dates(
    client: TestClient, seeded: Seeded, admin: Member
) -> None:
    login_fa(client, admin.email, admin.password)
    for url in (f"/fa/team/clips/{seeded.published}", "/fa/team/queue", "/fa/team/account"):
        text = prose_text(client.get(url, headers=HTML).text)
        assert "۱۴" in text or "۱۳" in text
        assert not GREGORIAN_YEAR.search(text), (url, GREGORIAN_YEAR.findall(text))


def test_the_filters_format_dates_and_moments() -> None:
    moment = datetime.datetime(2019, 11, 16, 23, 30, tzinfo=datetime.UTC)
    assert format_date("fa", moment) == "۲۵ آبان ۱۳۹۸"
    assert format_date("en", moment) == "2019-11-16"
    assert format_datetime("fa", moment) == "۲۵ آبان ۱۳۹۸، ۲۳:۳۰"
    assert format_datetime("en", moment) == "2019-11-16 23:30"
    assert format_date("fa", None) == ""


def test_plurals_follow_each_language() -> None:
    assert translate_plural("en", "public.count.clips", 1) == "1 clip"
    assert translate_plural("en", "public.count.clips", 0) == "0 clips"
    assert translate_plural("en", "public.count.clips", 2) == "2 clips"
    assert translate_plural("en", "team.queue.total", 1) == "1 clip"
    assert translate_plural("fa", "public.count.clips", 1) == "۱ ویدیو"
    assert translate_plural("fa", "public.count.clips", 12) == "۱۲ ویدیو"


def test_english_pages_say_one_clip(client: TestClient, seeded: Seeded) -> None:
    home = client.get("/", headers=HTML).text
    assert "1 clip from 1 city in 1 province" in home, visible_text(home)
    assert "1 clips" not in client.get("/cities/abadan", headers=HTML).text


@pytest.mark.parametrize("typed", ["۱۳۹۸/۰۸/۲۴", "1398-08-24", "۲۴ آبان ۱۳۹۸"])
def test_a_solar_hijri_day_is_read(typed: str) -> None:
    assert parse_event_date(typed).edtf == "2019-11-15"


@pytest.mark.parametrize("typed", ["۱۳۹۸/۱۳/۰۱", "1398-12-30", "1398/00/10"])
def test_a_bad_solar_hijri_day_is_refused(typed: str) -> None:
    with pytest.raises(DateParseError):
        parse_event_date(typed)


def test_the_team_date_field_reads_and_shows_solar_hijri(
    client: TestClient, seeded: Seeded, admin: Member
) -> None:
    from app.clips.models import Clip
    from app.db import session_scope

    login_fa(client, admin.email, admin.password)
    url = f"/fa/team/clips/{seeded.in_review}"
    page = client.get(url, headers=HTML).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    base = {"csrf_token": csrf_of(page), "version": version[1], "city": "Abadan"}
    base |= {"province": "Khuzestan", "title_fa": "اعتراض"}
    r = client.post(f"{url}/edit", data={**base, "date": "۱۳۹۸/۰۸/۲۴"}, headers=HTML)
    assert r.status_code == 200, r.text
    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == seeded.in_review))
        assert clip is not None and clip.date_edtf == "2019-11-15"
    assert 'value="۲۴ آبان ۱۳۹۸"' in r.text  # the field shows the Solar Hijri day
    page = r.text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    bad = {**base, "version": version[1], "csrf_token": csrf_of(page), "date": "۱۳۹۸/۱۳/۰۱"}
    r = client.post(f"{url}/edit", data=bad, headers=HTML)
    assert 400 <= r.status_code < 500, r.status_code
    assert "تاریخ" in visible_text(r.text) and "cannot read" not in r.text
    assert english_words(r.text) == [], english_words(r.text)
    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == seeded.in_review))
        assert clip is not None and clip.date_edtf == "2019-11-15"


def test_a_refused_farsi_login_is_explained_in_farsi(client: TestClient, admin: Member) -> None:
    page = client.get("/fa/login", headers=HTML)
    data = {"email": admin.email, "password": "wrong", "csrf_token": csrf_of(page.text)}
    r = client.post("/fa/login", data=data, headers=HTML)
    assert 400 <= r.status_code < 500 and 'role="alert"' in r.text
    assert english_words(r.text) == [], english_words(r.text)


def test_a_farsi_error_page_shows_the_translated_refusal(client: TestClient) -> None:
    r = client.get("/fa/clips/ZZZ999", headers=HTML)
    assert r.status_code == 404 and "وجود ندارد" in r.text
    en = client.get("/clips/ZZZ999", headers=HTML)
    assert en.status_code == 404 and "وجود ندارد" not in en.text
