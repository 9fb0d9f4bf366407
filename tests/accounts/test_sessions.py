"""A user sees their active sessions (created, last seen, client) and ends any of them, or
logs out everywhere."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.accounts.models import WebSession
from app.db import session_scope
from app.kit.clock import utcnow
from tests.accounts.helpers import HTML, api_login, csrf_of, events, web_login
from tests.conftest import Member

CLIP = {"city": "Ahvaz", "province": "Khuzestan", "date": "16 Nov 2019"}


def test_list_and_end_sessions_through_the_api(app: object, contributor: Member) -> None:
    with (
        TestClient(app, client=("192.0.2.10", 1), headers={"User-Agent": "Phone/1"}) as phone,  # type: ignore[arg-type]
        TestClient(app, client=("192.0.2.20", 1), headers={"User-Agent": "Laptop/2"}) as laptop,  # type: ignore[arg-type]
    ):
        api_login(phone, contributor.email, contributor.password)
        csrf = {
            "X-CSRF-Token": api_login(laptop, contributor.email, contributor.password).json()[
                "csrf_token"
            ]
        }
        listed = laptop.get("/api/v1/me/sessions").json()
        assert [(s["client"], s["current"]) for s in listed] == [
            ("192.0.2.20 · Laptop/2", True),
            ("192.0.2.10 · Phone/1", False),
        ]
        assert all(s["created_at"] and s["last_seen_at"] for s in listed)
        phone_id = listed[1]["id"]
        assert laptop.delete(f"/api/v1/me/sessions/{phone_id}", headers=csrf).status_code == 204
        assert phone.get("/api/v1/me").status_code == 401
        assert laptop.get("/api/v1/me").status_code == 200
        assert laptop.delete(f"/api/v1/me/sessions/{phone_id}", headers=csrf).status_code == 404
        r = laptop.delete("/api/v1/me/sessions", headers=csrf)
        assert r.status_code == 200 and r.json() == {"ended": 1}
        assert laptop.get("/api/v1/me").status_code == 401
    assert [e.action for e in events("session.ended") + events("session.ended_all")] == [
        "session.ended",
        "session.ended_all",
    ]


def test_nobody_ends_someone_elses_session(
    app: object, contributor: Member, reviewer: Member
) -> None:
    with TestClient(app) as theirs, TestClient(app) as mine:  # type: ignore[arg-type]
        api_login(theirs, reviewer.email, reviewer.password)
        csrf = {
            "X-CSRF-Token": api_login(mine, contributor.email, contributor.password).json()[
                "csrf_token"
            ]
        }
        with session_scope() as s:
            other = s.scalars(select(WebSession.id).where(WebSession.user_id == reviewer.id)).one()
        assert mine.delete(f"/api/v1/me/sessions/{other}", headers=csrf).status_code == 404
        assert theirs.get("/api/v1/me").status_code == 200


def test_the_account_page_lists_sessions_and_logs_out_everywhere(
    app: object, contributor: Member
) -> None:
    with TestClient(app) as other, TestClient(app) as client:  # type: ignore[arg-type]
        web_login(other, contributor.email, contributor.password)
        web_login(client, contributor.email, contributor.password)
        page = client.get("/team/account", headers=HTML)
        assert page.status_code == 200
        assert page.text.count('data-testid="session-') == 2 and "this session" in page.text
        with session_scope() as s:
            other_id = s.scalars(select(WebSession.id).order_by(WebSession.id)).first()
        r = client.post(
            f"/team/account/sessions/{other_id}/end",
            data={"csrf_token": csrf_of(page.text)},
            headers=HTML,
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/team/account?done=session_ended"
        assert other.get("/team/", headers=HTML, follow_redirects=False).status_code == 303
        page = client.get("/team/account?done=session_ended", headers=HTML)
        assert (
            "The session was ended" in page.text and page.text.count('data-testid="session-') == 1
        )
        web_login(other, contributor.email, contributor.password)
        r = client.post(
            "/team/account/sessions/end-all",
            data={"csrf_token": csrf_of(page.text)},
            headers=HTML,
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/login?bye=1"
        for c in (client, other):
            assert c.get("/team/", headers=HTML, follow_redirects=False).status_code == 303


def test_last_seen_moves_on_reads_and_writes(client: TestClient, contributor: Member) -> None:
    csrf = {
        "X-CSRF-Token": api_login(client, contributor.email, contributor.password).json()[
            "csrf_token"
        ]
    }
    long_ago = utcnow() - timedelta(hours=1)

    def age() -> timedelta:
        with session_scope() as s:
            seen = s.scalars(select(WebSession.last_seen_at)).one()
        assert seen is not None
        return utcnow() - seen

    for request in (
        lambda: client.get("/api/v1/me"),
        lambda: client.post("/api/v1/clips", json=CLIP, headers=csrf),
    ):
        with session_scope() as s:
            s.execute(update(WebSession).values(last_seen_at=long_ago))
        request()
        assert age() < timedelta(minutes=1)
