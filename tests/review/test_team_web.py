"""The team's web pages, through a cookie session and real forms (CSRF included)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.custody.models import CustodyEvent
from app.db import session_scope
from tests.conftest import Member
from tests.review.conftest import Api, Team

HTML = {"Accept": "text/html"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def login(client: TestClient, who: Member, lang: str = "") -> str:
    page = client.get(f"{lang}/login", headers=HTML)
    assert page.status_code == 200
    r = client.post(
        f"{lang}/login",
        data={
            "email": who.email,
            "password": who.password,
            "csrf_token": csrf_of(page.text),
            "next": f"{lang}/team/",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    dash = client.get(f"{lang}/team/", headers=HTML)
    assert dash.status_code == 200
    return csrf_of(dash.text)


def test_team_pages_send_anonymous_visitors_to_the_login_page(client: TestClient) -> None:
    r = client.get("/team/queue?state=submitted", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fteam%2Fqueue%3Fstate%3Dsubmitted"
    r = client.get("/fa/team/", headers=HTML, follow_redirects=False)
    assert r.headers["location"].startswith("/fa/login?next=")


def test_login_needs_the_form_token_and_logout_ends_the_session(
    client: TestClient, team: Team
) -> None:
    client.get("/login", headers=HTML)
    r = client.post(
        "/login",
        data={"email": team.r1.email, "password": team.r1.password, "csrf_token": "forged"},
        headers=HTML,
    )
    assert r.status_code == 403
    page = client.get("/login", headers=HTML)
    r = client.post(
        "/login",
        data={
            "email": team.r1.email,
            "password": "wrong password!",
            "csrf_token": csrf_of(page.text),
        },
        headers=HTML,
    )
    assert r.status_code == 401 and "Wrong email or password" in r.text
    token = login(client, team.r1)
    assert client.post("/logout", data={}, headers=HTML).status_code == 403  # no CSRF token
    r = client.post("/logout", data={"csrf_token": token}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/team/", headers=HTML, follow_redirects=False).status_code == 303


def test_open_redirects_are_refused(client: TestClient) -> None:
    page = client.get("/login?next=//evil.example/", headers=HTML)
    assert 'name="next" value="/team/"' in page.text


def test_the_clip_page_in_english_and_farsi(client: TestClient, team: Team) -> None:
    api = Api(client)
    code = api.in_review(team.uploader, team.r1)
    api.c.post(
        f"/api/v1/clips/{code}/comments",
        json={"body": "look at 1:05", "at_seconds": 65},
        headers=team.r1.headers,
    )
    login(client, team.r2)
    page = client.get(f"/team/clips/{code}", headers=HTML)
    assert page.status_code == 200
    for text in (
        "Verification checklist",
        "Custody timeline",
        "review.transition",
        'data-seek="65.0"',
        "1:05",
        'data-testid="approve"',
        "Ask for information",
    ):
        assert text in page.text, text
    assert 'data-testid="move-verified"' not in page.text  # not allowed yet: not shown
    fa = client.get(f"/fa/team/clips/{code}", headers=HTML)
    assert fa.status_code == 200 and 'dir="rtl"' in fa.text and "فهرست بررسی" in fa.text


def test_forms_drive_the_workflow_and_refusals_are_explained(
    client: TestClient, team: Team
) -> None:
    api = Api(client)
    code = api.in_review(team.uploader, team.r1)
    token = login(client, team.r2)
    page = client.get(f"/team/clips/{code}", headers=HTML)
    found = re.search(r'name="version" value="(\d+)"', page.text)
    assert found is not None
    version = found.group(1)
    r = client.post(
        f"/team/clips/{code}/transition",
        headers=HTML,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "to": "needs_info",
            "note": "Who filmed it?",
            "version": version,
        },
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?done=moved#workflow")
    # the same (now stale) form again: refused with the reason, on the page
    r = client.post(
        f"/team/clips/{code}/transition",
        headers=HTML,
        data={"csrf_token": token, "to": "needs_info", "note": "again", "version": version},
    )
    assert r.status_code == 409 and 'role="alert"' in r.text
    assert "is needs_info; it cannot move to needs_info" in r.text
    # a stale catalogue edit is refused too, never silently applied
    r = client.post(
        f"/team/clips/{code}/edit",
        headers=HTML,
        data={"csrf_token": token, "version": version, "title_en": "old"},
    )
    assert r.status_code == 409 and "changed since" in r.text
    assert api.clip(code, team.r1)["title_en"] is None
    r = client.post(
        f"/team/clips/{code}/transition",
        headers=HTML,
        data={"csrf_token": token, "to": "published", "note": "x"},
    )
    assert r.status_code == 409 and "cannot move to published" in r.text
    assert "Allowed moves from here" in r.text


def test_checklist_comment_claim_and_edit_forms(client: TestClient, team: Team) -> None:
    api = Api(client)
    code = api.in_review(team.uploader, team.r1)
    token = login(client, team.r1)

    def post(path: str, **data: str):  # type: ignore[no-untyped-def]
        return client.post(
            f"/team/clips/{code}/{path}",
            data={"csrf_token": token, **data},
            headers=HTML,
            follow_redirects=False,
        )

    assert post("assign").status_code == 303
    r = post(
        "checklist/location_confirmed",
        done="on",
        lat="30.35",
        lon="48.29",
        precision="vicinity",
        version="0",
        note="matched the mosque",
        evidence="https://example.org/a\nhttps://example.org/b",
    )
    assert r.status_code == 303, r.text
    assert post("checklist/location_confirmed", done="on", version="0").status_code == 409
    assert post("comments", body="gunfire", at="1:15").status_code == 303
    assert post("comments", body="x", at="soon").status_code == 422
    version = api.clip(code, team.r1)["version"]
    r = post(
        "edit",
        version=str(version),
        city="Abadan",
        province="Khuzestan",
        date="Nov 2019",
        title_en="Protest",
        title_fa="اعتراض",
        tags="protest, night",
        graphic_violence="on",
    )
    assert r.status_code == 303, r.text
    clip = api.clip(code, team.r1)
    assert clip["title_fa"] == "اعتراض" and clip["tags"] == ["protest", "night"]
    assert clip["graphic_violence"] is True
    page = client.get(f"/team/clips/{code}", headers=HTML).text
    assert "openstreetmap.org/?mlat=30.35" in page and "Assigned to" in page
    assert 'data-seek="75.0"' in page  # the comment's time code


def test_dashboard_and_queue(client: TestClient, team: Team) -> None:
    api = Api(client)
    code = api.in_review(team.uploader, team.r1)
    api.c.post(f"/api/v1/clips/{code}/assignment", json={}, headers=team.r1.headers)
    login(client, team.r1)
    dash = client.get("/team/", headers=HTML).text
    assert 'data-testid="count-in_review"' in dash and code in dash
    q = client.get("/team/queue?state=in_review&assignee=me", headers=HTML)
    assert q.status_code == 200 and code in q.text
    q = client.get("/team/queue?state=draft", headers=HTML)
    assert code not in q.text


def test_admin_pages_users_and_partner_keys(client: TestClient, team: Team) -> None:
    login(client, team.r1)
    assert client.get("/team/admin/users", headers=HTML).status_code == 403
    client.cookies.clear()
    token = login(client, team.admin)
    r = client.post(
        "/team/admin/users",
        headers=HTML,
        data={"csrf_token": token, "email": "new@example.org", "role": "reviewer"},
    )
    assert r.status_code == 200 and 'data-testid="one-time-password"' in r.text
    r = client.post(
        "/team/admin/keys",
        headers=HTML,
        data={"csrf_token": token, "partner": "Newsroom", "scopes": ["read", "feed"]},
    )
    assert r.status_code == 200 and "vak_" in r.text
    found = re.search(r"/team/admin/keys/(\d+)/revoke", r.text)
    assert found is not None
    r = client.post(
        f"/team/admin/keys/{found.group(1)}/revoke",
        headers=HTML,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with session_scope() as s:
        actions = list(s.scalars(select(CustodyEvent.action)))
    assert "apikey.created" in actions and "apikey.revoked" in actions
    assert "user.created" in actions


def test_upload_page_creates_a_draft_record(client: TestClient, team: Team) -> None:
    token = login(client, team.uploader)
    r = client.post(
        "/team/upload",
        headers=HTML,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "city": "Abadan",
            "province": "Khuzestan",
            "date": "16 Nov 2019",
        },
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/team/upload/IRN")
    page = client.get(r.headers["location"], headers=HTML)
    assert page.status_code == 200 and 'id="upload-form"' in page.text
    r = client.post(
        "/team/upload",
        headers=HTML,
        data={
            "csrf_token": token,
            "city": "Abadan",
            "province": "Khuzestan",
            "date": "31 Feb 2019",
        },
    )
    assert r.status_code == 422 and 'role="alert"' in r.text


def test_queue_search_box_finds_clips_in_every_state(client: TestClient, team: Team) -> None:
    """The team's search uses the public engine (words, aliases, Persian variants) but over
    every state, drafts included."""
    api = Api(client)
    draft = api.new_clip(team.uploader, title_en="Tanker fire at the port")
    review = api.in_review(team.uploader, team.r1)  # Abadan too
    farsi = api.new_clip(team.uploader, title_fa="آتش\u200cسوزی نفتكش", title_en="x")
    esfahan = api.new_clip(team.uploader, city="Esfahan", province="Esfahan", title_en="Fire")
    login(client, team.r1)
    page = client.get("/team/queue", params={"q": "tanker abad"}, headers=HTML)
    assert page.status_code == 200 and 'data-testid="queue-search"' in page.text
    assert draft in page.text and review not in page.text and esfahan not in page.text
    both = client.get("/team/queue", params={"q": "abadan"}, headers=HTML).text
    assert draft in both and review in both and esfahan not in both  # draft and in review
    fa = client.get("/team/queue", params={"q": "آتشسوزی نفتکش"}, headers=HTML).text
    assert farsi in fa and draft not in fa
    alias = client.get("/team/queue", params={"q": "isfahan fire", "state": "draft"}, headers=HTML)
    assert esfahan in alias.text and draft not in alias.text
    assert 'value="isfahan fire"' in alias.text  # the box keeps what was typed
