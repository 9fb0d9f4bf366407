"""Accounts and access: argon2 passwords, cookie sessions with CSRF, tokens and partner keys."""

from __future__ import annotations

import re

from sqlalchemy import select
from typer.testing import CliRunner

from app.accounts.models import ApiToken, User, WebSession
from app.cli import app as cli
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.partners.models import ApiKey

runner = CliRunner()
CLIP = {"city": "Ahvaz", "province": "Khuzestan", "date": "16 Nov 2019"}


def login(client, who):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/login", json={"email": who.email, "password": who.password})
    assert r.status_code == 200, r.text
    return r


def test_passwords_are_argon2_and_tokens_are_stored_hashed(contributor) -> None:
    with session_scope() as s:
        user = s.get(User, contributor.id)
        token = s.scalars(select(ApiToken)).one()
    assert user is not None and user.password_hash.startswith("$argon2")
    assert contributor.token not in token.token_hash and len(token.token_hash) == 64


def test_login_sets_a_secure_httponly_samesite_cookie(client, contributor, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    r = login(client, contributor)
    cookie = r.headers["set-cookie"]
    assert "archive_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert r.json()["user"]["email"] == contributor.email
    assert client.get("/api/v1/me").json()["email"] == contributor.email


def test_cookie_is_secure_in_production_or_behind_https(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.config import Settings

    assert Settings(var_dir=tmp_path, base_url="https://archive.example").cookie_secure
    assert Settings(environment="production", secret_key="s" * 40, var_dir=tmp_path).cookie_secure
    assert not Settings(var_dir=tmp_path).cookie_secure


def test_wrong_password_and_unknown_user_get_the_same_401(client, contributor) -> None:
    a = client.post("/api/v1/auth/login", json={"email": contributor.email, "password": "nope"})
    b = client.post("/api/v1/auth/login", json={"email": "ghost@example.org", "password": "x"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


def test_cookie_writes_need_the_csrf_token(client, contributor) -> None:
    csrf = login(client, contributor).json()["csrf_token"]
    r = client.post("/api/v1/clips", json=CLIP)
    assert r.status_code == 403 and r.json()["error"] == "csrf_failed"
    r = client.post("/api/v1/clips", json=CLIP, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = client.post("/api/v1/clips", json=CLIP, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    # bearer tokens are not ambient credentials, so they need no CSRF token
    client.cookies.clear()
    assert (
        client.post(
            "/api/v1/clips", json=CLIP, headers={"Authorization": f"Bearer {contributor.token}"}
        ).status_code
        == 201
    )


def test_logout_ends_the_session_server_side(client, contributor) -> None:
    csrf = login(client, contributor).json()["csrf_token"]
    stolen = client.cookies.get("archive_session")
    assert client.post("/api/v1/auth/logout").status_code == 403  # no forced log-outs
    r = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    client.cookies.set("archive_session", stolen)
    assert client.get("/api/v1/me").status_code == 401


def test_disabling_an_account_ends_its_sessions_and_tokens(client, contributor, admin) -> None:
    login(client, contributor)
    assert client.get("/api/v1/me").status_code == 200
    result = runner.invoke(cli, ["users", "disable", contributor.email])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=contributor.headers).status_code == 401
    with session_scope() as s:
        assert all(w.revoked_at for w in s.scalars(select(WebSession)))


def test_admin_can_disable_via_api_with_version(client, contributor, admin) -> None:
    r = client.patch(
        f"/api/v1/users/{contributor.id}",
        headers=admin.headers,
        json={"version": 99, "is_active": False},
    )
    assert r.status_code == 409
    r = client.patch(
        f"/api/v1/users/{contributor.id}",
        headers=admin.headers,
        json={"version": 1, "is_active": False},
    )
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=contributor.headers).status_code == 401


def test_roles_are_enforced(client, contributor, reviewer) -> None:
    assert client.get("/api/v1/users", headers=contributor.headers).status_code == 403
    assert client.get("/api/v1/users", headers=reviewer.headers).status_code == 403
    assert client.get("/api/v1/clips").status_code == 401
    assert (
        client.get("/api/v1/clips", headers={"Authorization": "Bearer vat_not-a-token"}).status_code
        == 401
    )
    assert client.get("/api/v1/clips", headers={"Authorization": "Basic abc"}).status_code == 401


def test_cli_users_and_tokens(db_url: str, client) -> None:  # type: ignore[no-untyped-def]
    created = runner.invoke(cli, ["users", "create", "Rev@Example.org", "--role", "reviewer"])
    assert created.exit_code == 0, created.output
    assert re.search(r"one-time password: \S{12,}", created.output)
    dup = runner.invoke(cli, ["users", "create", "rev@example.org"])
    assert dup.exit_code == 1 and "already exists" in dup.output
    bad = runner.invoke(cli, ["users", "create", "x@example.org", "--role", "boss"])
    assert bad.exit_code == 1 and "role must be one of" in bad.output
    tok = runner.invoke(cli, ["tokens", "create", "rev@example.org"])
    assert tok.exit_code == 0
    plain = tok.output.strip().splitlines()[-1]
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert r.json()["role"] == "reviewer"
    first = runner.invoke(cli, ["users", "ensure-admin", "--email", "boss@example.org"])
    assert "users exist" in first.output


def test_ensure_admin_creates_the_first_admin_once(db_url: str) -> None:
    first = runner.invoke(cli, ["users", "ensure-admin"])
    assert "first admin: admin@localhost" in first.output
    assert "one-time password" in first.output
    assert "users exist" in runner.invoke(cli, ["users", "ensure-admin"]).output


def test_partner_keys_are_hashed_scoped_revocable_and_header_only(client) -> None:  # type: ignore[no-untyped-def]
    made = runner.invoke(
        cli, ["apikeys", "create", "Newsroom", "--scope", "read", "--scope", "export"]
    )
    assert made.exit_code == 0, made.output
    plain = made.output.strip().splitlines()[-1]
    assert plain.startswith("vak_") and len(plain) >= 4 + 43  # 256 random bits
    with session_scope() as s:
        key = s.scalars(select(ApiKey)).one()
        assert key.key_hash != plain and plain not in key.key_hash
        assert key.scopes == ["export", "read"]
        key_id = key.id
    auth = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/places", headers=auth).status_code == 200
    r = client.get(f"/api/v1/places?api_key={plain}")
    assert r.status_code == 400 and r.json()["error"] == "key_in_query"
    assert client.get("/api/v1/clips", headers=auth).status_code == 401  # not a team credential
    bad_scope = runner.invoke(cli, ["apikeys", "create", "Newsroom", "--scope", "write"])
    assert bad_scope.exit_code == 1 and "scopes must be some of" in bad_scope.output
    assert runner.invoke(cli, ["apikeys", "revoke", str(key_id)]).exit_code == 0
    r = client.get("/api/v1/places", headers=auth)
    assert r.status_code == 401 and r.json()["error"] == "key_revoked"
    again = runner.invoke(cli, ["apikeys", "revoke", str(key_id)])
    assert again.exit_code == 1 and "already revoked" in again.output
    listed = runner.invoke(cli, ["apikeys", "list"]).output
    assert "Newsroom" in listed and "revoked" in listed and plain not in listed
    with session_scope() as s:
        actions = list(s.scalars(select(CustodyEvent.action)))
    assert actions == ["apikey.created", "apikey.revoked"]
