"""TOTP two-factor log-in (RFC 6238): enrolment with a server-side QR code, ten hashed
single-use recovery codes, a code never accepted twice, and roles that must use it."""

from __future__ import annotations

import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.accounts.models import RecoveryCode
from app.config import get_settings
from app.db import session_scope
from tests.accounts.helpers import HTML, api_login, csrf_of, events, totp_now, user, web_login
from tests.conftest import Member


def enrol(client: TestClient, who: Member) -> tuple[str, list[str]]:
    """Set up two-factor through the pages (logged in); returns (secret, recovery codes)."""
    page = client.get("/team/account/two-factor", headers=HTML)
    assert page.status_code == 200
    found = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text)
    assert found is not None
    secret = found.group(1)
    r = client.post(
        "/team/account/two-factor",
        data={"csrf_token": csrf_of(page.text), "code": totp_now(secret)},
        headers=HTML,
    )
    assert r.status_code == 200, r.text
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", r.text)
    return secret, codes


def test_enrolment_shows_a_qr_code_and_ten_recovery_codes_stored_hashed(
    client: TestClient, reviewer: Member
) -> None:
    assert web_login(client, reviewer.email, reviewer.password).status_code == 303
    page = client.get("/team/account/two-factor", headers=HTML)
    assert "<svg" in page.text and "<script" not in page.text.split("<svg", 1)[1].split("</svg>")[0]
    again = client.get("/team/account/two-factor", headers=HTML)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text)
    assert secret is not None and secret.group(1) in again.text  # same secret until confirmed
    r = client.post(
        "/team/account/two-factor",
        data={"csrf_token": csrf_of(page.text), "code": "000000"},
        headers=HTML,
    )
    assert r.status_code == 422 and user(reviewer.email).totp_enabled_at is None
    secret_, codes = enrol(client, reviewer)
    assert secret_ == secret.group(1)
    assert len(codes) == 10 and len(set(codes)) == 10
    with session_scope() as s:
        stored = s.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert all(len(h) == 64 for h in stored)
    assert user(reviewer.email).totp_enabled_at is not None
    assert [e.payload for e in events("user.two_factor_enabled")] == [{"email": reviewer.email}]
    page = client.get("/team/account", headers=HTML)
    assert "Two-factor log-in is on" in page.text and "Unused recovery codes: 10" in page.text


def test_a_log_in_with_two_factor_needs_the_code_and_a_code_works_once(
    app: object, reviewer: Member
) -> None:
    with TestClient(app) as first:  # type: ignore[arg-type]
        web_login(first, reviewer.email, reviewer.password)
        secret, _ = enrol(first, reviewer)
    with TestClient(app) as client:  # type: ignore[arg-type]
        r = web_login(client, reviewer.email, reviewer.password, next="/team/queue")
        assert r.status_code == 303
        assert r.headers["location"] == "/login/code?next=%2Fteam%2Fqueue"
        # the password alone opens nothing
        r = client.get("/team/", headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login/code")
        r = client.get("/api/v1/clips")
        assert r.status_code == 403 and r.json()["error"] == "second_factor_required"
        form = client.get("/login/code?next=/team/queue", headers=HTML)
        wrong = client.post(
            "/login/code",
            data={"csrf_token": csrf_of(form.text), "code": "123456", "next": "/team/queue"},
            headers=HTML,
        )
        assert wrong.status_code == 401 and "not right" in wrong.text
        # (the enrolment used the current step's code: the next one is the first that works)
        code = totp_now(secret, offset_steps=1)
        r = client.post(
            "/login/code",
            data={"csrf_token": csrf_of(form.text), "code": code, "next": "/team/queue"},
            headers=HTML,
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/team/queue"
        assert client.get("/team/queue", headers=HTML).status_code == 200
    with TestClient(app) as replay:  # type: ignore[arg-type]
        # the same code, or an earlier one, again inside its window: refused
        for used in (code, totp_now(secret), totp_now(secret, offset_steps=-1)):
            assert (
                api_login(replay, reviewer.email, reviewer.password, code=used).status_code == 401
            )
    assert user(reviewer.email).totp_last_step is not None


def test_the_api_login_in_two_steps_and_recovery_codes_work_once(
    app: object, reviewer: Member
) -> None:
    with TestClient(app) as first:  # type: ignore[arg-type]
        web_login(first, reviewer.email, reviewer.password)
        _, codes = enrol(first, reviewer)
    for attempt in range(2):
        with TestClient(app) as client:  # type: ignore[arg-type]
            r = api_login(client, reviewer.email, reviewer.password)
            assert r.status_code == 200 and r.json()["second_factor_required"] is True
            csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
            assert client.get("/api/v1/me").json()["error"] == "second_factor_required"
            r = client.post(
                "/api/v1/auth/second-factor", json={"code": codes[0].upper()}, headers=csrf
            )
            if attempt == 0:
                assert r.status_code == 204
                assert client.get("/api/v1/me").json()["two_factor"] is True
            else:
                assert r.status_code == 401  # used up
                assert client.get("/api/v1/me").status_code == 403


def test_wrong_codes_are_throttled_like_wrong_passwords(app: object, reviewer: Member) -> None:
    with TestClient(app) as first:  # type: ignore[arg-type]
        web_login(first, reviewer.email, reviewer.password)
        secret, _ = enrol(first, reviewer)
    with TestClient(app) as client:  # type: ignore[arg-type]
        r = api_login(client, reviewer.email, reviewer.password)
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        codes = [
            client.post(
                "/api/v1/auth/second-factor", json={"code": "000000"}, headers=csrf
            ).status_code
            for _ in range(7)
        ]
        assert codes == [401] * 6 + [429]
        r = client.post("/api/v1/auth/second-factor", json={"code": totp_now(secret)}, headers=csrf)
        assert r.status_code == 429


def test_required_roles_are_sent_to_enrolment_after_log_in(
    app: object, make_user: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_REQUIRE_2FA_FOR", "admin,reviewer")
    get_settings.cache_clear()
    rev = make_user("reviewer")  # type: ignore[operator]
    contrib = make_user("contributor")  # type: ignore[operator]
    with TestClient(app) as client:  # type: ignore[arg-type]
        web_login(client, contrib.email, contrib.password)
        assert client.get("/team/", headers=HTML).status_code == 200  # not required
    with TestClient(app) as client:  # type: ignore[arg-type]
        assert web_login(client, rev.email, rev.password).status_code == 303
        r = client.get("/team/queue", headers=HTML, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/team/account/two-factor?next=%2Fteam%2Fqueue"
        assert client.get("/api/v1/clips").json()["error"] == "two_factor_enrolment_required"
        # a personal token is not a web session: it still works
        assert client.get("/api/v1/clips", headers=rev.headers).status_code == 200
        page = client.get("/team/account/two-factor?next=/team/queue", headers=HTML)
        assert "Your role needs two-factor log-in" in page.text
        enrol(client, rev)
        assert client.get("/team/queue", headers=HTML).status_code == 200
    with TestClient(app) as client:  # type: ignore[arg-type]
        assert api_login(client, rev.email, rev.password).json()["second_factor_required"] is True


def test_the_default_requires_it_of_admins_only(tmp_path: object) -> None:
    from app.config import Settings

    assert Settings(var_dir=tmp_path).two_factor_roles == {"admin"}  # type: ignore[arg-type]
    assert Settings(var_dir=tmp_path, require_2fa_for=" admin, reviewer ").two_factor_roles == {  # type: ignore[arg-type]
        "admin",
        "reviewer",
    }


def test_the_api_enrols_too(client: TestClient, contributor: Member) -> None:
    r = client.post("/api/v1/me/two-factor", headers=contributor.headers)
    assert r.status_code == 200
    secret = r.json()["secret"]
    assert (
        r.json()["otpauth_uri"].startswith("otpauth://totp/") and secret in r.json()["otpauth_uri"]
    )
    r = client.post(
        "/api/v1/me/two-factor/confirm", json={"code": "12"}, headers=contributor.headers
    )
    assert r.status_code == 422
    code = pyotp.TOTP(secret).now()
    r = client.post(
        "/api/v1/me/two-factor/confirm", json={"code": code}, headers=contributor.headers
    )
    assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10
    r = client.post("/api/v1/me/two-factor", headers=contributor.headers)
    assert r.status_code == 409


def test_the_totp_secret_is_encrypted_at_rest_and_log_in_still_works(
    app: object, reviewer: Member
) -> None:
    from sqlalchemy import text

    from app.accounts import secret_box

    with TestClient(app) as first:  # type: ignore[arg-type]
        web_login(first, reviewer.email, reviewer.password)
        secret, _ = enrol(first, reviewer)
    with session_scope() as s:
        stored = s.execute(
            text("SELECT totp_secret FROM user_account WHERE email = :e"), {"e": reviewer.email}
        ).scalar_one()
    assert secret not in stored and stored.startswith("fernet:")
    assert secret_box.unseal(stored) == secret
    with pytest.raises(secret_box.SecretUnreadable):  # another ARCHIVE_SECRET_KEY: unreadable
        secret_box.unseal(stored, "x" * 40)
    with TestClient(app) as client:  # type: ignore[arg-type]
        r = api_login(
            client, reviewer.email, reviewer.password, code=totp_now(secret, offset_steps=1)
        )
        assert r.status_code == 200, r.text
