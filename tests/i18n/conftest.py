"""Fixtures for the Farsi tests: the team and its API helper, and clips in every state
(published with a verification, retracted, in review), with Farsi data wherever a person
types text (titles, notes, reasons), so that any English left on a Farsi page is the UI's."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.public import conftest as public
from tests.review import conftest as review
from tests.review.conftest import Api, Team

# the review tests' fixtures, shared (their team, their API helper, the default checklist)
api = review.api
team = review.team
_default_checklist = review._default_checklist
# the public tests' clip factory and their published clip with an original and derivatives
add_clip = public.add_clip
media_clip = public.media_clip

HTML = {"Accept": "text/html"}
FA_CHECKLIST = {
    "source_identified": {"note": "فیلم‌بردار از ساکنان محل است"},
    "earliest_copy": {"note": "نخستین نسخه در تلگرام", "evidence": ["https://t.me/x/1"]},
    "location_confirmed": {"lat": 30.3473, "lon": 48.2934, "precision": "vicinity"},
    "date_confirmed": {"date": "۲۵ آبان ۱۳۹۸"},
    "content_described": {"note": "جمعیت و صدای تیراندازی"},
    "sensitive_flagged": {"note": "بدون خشونت"},
}


@dataclass
class Seeded:
    published: str
    retracted: str
    in_review: str


def _verified(api: Api, team: Team, **fields: object) -> str:
    code = api.new_clip(team.uploader, **fields)
    api.ok_move(code, team.uploader, "submitted", "لطفاً بررسی شود")
    api.ok_move(code, team.r1, "in_review", "آغاز بررسی")
    for key, body in FA_CHECKLIST.items():
        r = api.check(code, team.r1, key, **body)
        assert r.status_code == 200, r.text
    assert api.approve(code, team.r1, "درست است").status_code == 201
    assert api.approve(code, team.r2, "درست است").json()["status"] == "verified"
    return code


@pytest.fixture()
def seeded(api: Api, team: Team) -> Seeded:
    """A published clip (verified through the workflow), a retracted one and one in review."""
    titles = {"title_en": "Protest in Abadan", "title_fa": "اعتراض در آبادان"}
    published = _verified(api, team, date="16 Nov 2019", **titles)
    api.ok_move(published, team.admin, "published", "انتشار")
    retracted = _verified(api, team, date="Nov 2019", **titles)
    api.ok_move(retracted, team.admin, "published", "انتشار")
    api.ok_move(retracted, team.admin, "retracted", "این ویدیو پیش از رویداد ضبط شده بود.")
    in_review = api.new_clip(team.uploader, date="15 – 23 Nov 2019", **titles)
    api.ok_move(in_review, team.uploader, "submitted", "لطفاً بررسی شود")
    api.ok_move(in_review, team.r1, "in_review", "آغاز بررسی")
    return Seeded(published, retracted, in_review)


def login_fa(client: TestClient, email: str, password: str) -> None:
    from tests.review.test_team_web import csrf_of

    page = client.get("/fa/login", headers=HTML)
    r = client.post(
        "/fa/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/fa/team/",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
