"""Log-in throttling per account and per client address, with exponential back-off, kept
in the database (or Redis) so it holds across workers and restarts."""

from __future__ import annotations

import os
import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.accounts.models import LoginThrottle
from app.config import get_settings
from app.db import session_scope
from app.kit.clock import utcnow
from tests.accounts.helpers import HTML, api_login, events, web_login
from tests.conftest import Member, service_missing


def _expire_locks() -> None:
    """As if the lock-outs had run out (the failures in a row are kept)."""
    with session_scope() as s:
        s.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))


def _shape(body: dict[str, object]) -> dict[str, object]:
    """A refusal without its numbers (the seconds left differ by the time of the call)."""
    return {k: re.sub(r"\d+", "N", str(v)) for k, v in body.items()}


def test_thirty_wrong_passwords_lock_the_account_and_the_real_one_waits(
    client: TestClient, contributor: Member
) -> None:
    codes = [
        api_login(client, contributor.email, f"wrong guess {i}").status_code for i in range(30)
    ]
    assert codes == [401] * 6 + [429] * 24  # 5 free, the 6th locks
    r = api_login(client, contributor.email, contributor.password)
    assert r.status_code == 429 and r.json()["error"] == "login_throttled"
    assert 1 <= int(r.headers["Retry-After"]) <= 30
    assert "archive_session" not in r.headers.get("set-cookie", "")
    locked = events("login.locked")
    assert len(locked) == 1  # refused attempts while locked do not count, nor log
    assert locked[0].payload["scope"] == "account"
    assert locked[0].payload["account"] == contributor.email
    assert locked[0].payload["failures"] == 6 and locked[0].payload["locked_seconds"] == 30
    assert "wrong guess" not in str(locked[0].payload)


def test_an_unknown_account_gets_the_same_answers(client: TestClient, contributor: Member) -> None:
    def run(email: str) -> list[tuple[int, dict[str, object]]]:
        return [
            (r.status_code, _shape(r.json()))
            for r in (api_login(client, email, "not the password") for _ in range(7))
        ]

    real = run(contributor.email)
    ghost = run("ghost-nobody@example.org")
    assert real == ghost
    assert [c for c, _ in real] == [401] * 6 + [429]
    assert {e.payload["account"] for e in events("login.locked")} == {
        contributor.email,
        "ghost-nobody@example.org",
    }


def test_the_back_off_doubles_with_each_further_failure(
    client: TestClient, contributor: Member
) -> None:
    for _ in range(6):
        api_login(client, contributor.email, "wrong")
    waits = []
    for _ in range(3):
        _expire_locks()
        assert api_login(client, contributor.email, "wrong").status_code == 401
        r = api_login(client, contributor.email, contributor.password)
        assert r.status_code == 429
        waits.append(int(r.headers["Retry-After"]))
    assert [55 <= waits[0] <= 60, 115 <= waits[1] <= 120, 235 <= waits[2] <= 240] == [True] * 3
    assert [e.payload["locked_seconds"] for e in events("login.locked")] == [30, 60, 120, 240]


def test_a_success_clears_the_accounts_failures(client: TestClient, contributor: Member) -> None:
    for _ in range(5):
        assert api_login(client, contributor.email, "wrong").status_code == 401
    assert api_login(client, contributor.email, contributor.password).status_code == 200
    client.cookies.clear()
    for _ in range(5):
        assert api_login(client, contributor.email, "wrong").status_code == 401
    assert api_login(client, contributor.email, contributor.password).status_code == 200
    assert events("login.locked") == []


def test_one_address_trying_many_accounts_is_locked(
    app: object, make_user: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    get_settings.cache_clear()
    victim = make_user("reviewer")  # type: ignore[operator]
    with TestClient(app, client=("203.0.113.9", 1000)) as attacker:  # type: ignore[arg-type]
        codes = [
            api_login(attacker, f"user{i}@example.org", "password guess").status_code
            for i in range(4)
        ]
        assert codes == [401, 401, 401, 401]  # 3 free; the 4th locks the address
        r = api_login(attacker, victim.email, victim.password)
        assert r.status_code == 429 and "Retry-After" in r.headers
    with TestClient(app, client=("198.51.100.4", 1000)) as someone_else:  # type: ignore[arg-type]
        assert api_login(someone_else, victim.email, victim.password).status_code == 200
    (locked,) = events("login.locked")
    assert locked.payload == {
        "scope": "address",
        "address": "203.0.113.9",
        "failures": 4,
        "locked_seconds": 30,
        "until": locked.payload["until"],
    }


def test_the_lock_holds_in_another_worker_and_after_a_restart(
    client: TestClient, contributor: Member
) -> None:
    from app.main import create_app

    for _ in range(6):
        api_login(client, contributor.email, "wrong")
    with session_scope() as s:
        row = s.scalars(
            select(LoginThrottle).where(LoginThrottle.key == f"account:{contributor.email}")
        ).one()
        assert row.failures == 6 and row.locked_until is not None
    with TestClient(create_app()) as restarted:
        r = api_login(restarted, contributor.email, contributor.password)
        assert r.status_code == 429


def test_the_login_page_says_so_with_429_and_retry_after(
    client: TestClient, contributor: Member
) -> None:
    for _ in range(6):
        assert web_login(client, contributor.email, "wrong").status_code == 401
    r = web_login(client, contributor.email, contributor.password)
    assert r.status_code == 429
    assert "Too many failed log-ins" in r.text and "try again in" in r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 30
    assert client.get("/team/", headers=HTML, follow_redirects=False).status_code == 303


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        service_missing("Redis", "TEST_REDIS_URL")
    assert url is not None
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {url} ({type(exc).__name__})", "TEST_REDIS_URL")
    return url


@pytest.mark.redis
def test_with_redis_the_state_is_shared_there(
    db_url: str, make_user: object, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.main import create_app

    monkeypatch.setenv("ARCHIVE_RATE_LIMIT_REDIS_URL", redis_url)
    get_settings.cache_clear()
    member = make_user("contributor")  # type: ignore[operator]
    host = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.8"  # fresh in this Redis
    with (
        TestClient(create_app(), client=(host, 1)) as one,
        TestClient(create_app(), client=(host, 1)) as two,
    ):
        codes = [
            api_login(one if i % 2 else two, member.email, "wrong").status_code for i in range(7)
        ]
        assert codes == [401] * 6 + [429]
        r = api_login(one, member.email, member.password)
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 30
    with session_scope() as s:
        assert s.scalars(select(LoginThrottle)).all() == []  # nothing in the database
    (locked,) = events("login.locked")
    assert locked.payload["account"] == member.email
