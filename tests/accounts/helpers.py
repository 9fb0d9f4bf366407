"""Helpers for the account tests: log in through the API or the log-in form."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.accounts.models import User
from app.custody.models import CustodyEvent
from app.db import session_scope

HTML = {"Accept": "text/html"}
GOOD_PASSWORD = "plum orbit tuesday glacier"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def api_login(client: TestClient, email: str, password: str, **extra: Any) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


def web_login(client: TestClient, email: str, password: str, next: str = "/team/") -> Any:
    """POST the log-in form; returns the response (not followed)."""
    page = client.get("/login", headers=HTML)
    assert page.status_code == 200
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": next,
        },
        headers=HTML,
        follow_redirects=False,
    )


def events(action: str) -> list[CustodyEvent]:
    with session_scope() as s:
        found = s.scalars(select(CustodyEvent).where(CustodyEvent.action == action)).all()
        s.expunge_all()
        return list(found)


def user(email: str) -> User:
    with session_scope() as s:
        found = s.scalars(select(User).where(User.email == email)).one()
        s.expunge(found)
        return found


def totp_now(secret: str, *, offset_steps: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    import time

    return str(totp.generate_otp(totp.timecode(time.time()) + offset_steps))
