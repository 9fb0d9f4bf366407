"""Password rules: 12+ characters, not a common password; people change their own password
(API, web, CLI); a one-time password must be changed first; an admin reset issues a new
one-time password and ends the user's sessions."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.accounts.passwords import check_password, common_passwords
from app.accounts.service import create_user
from app.cli import app as cli
from app.db import session_scope
from app.errors import AppError
from tests.accounts.helpers import GOOD_PASSWORD, HTML, api_login, csrf_of, events, user, web_login
from tests.conftest import Member

runner = CliRunner()


def test_the_shipped_list_and_the_rules() -> None:
    assert len(common_passwords()) > 9000
    for weak, code in [
        ("short pass", "weak_password"),
        ("qwerty123456", "common_password"),
        ("QWERTY123456", "common_password"),
        ("1q2w3e4r5t6y", "common_password"),
        ("someone@example.org", "weak_password"),
    ]:
        with pytest.raises(AppError) as caught:
            check_password(weak, email="someone@example.org")
        assert caught.value.code == code and caught.value.status == 422, weak
    check_password(GOOD_PASSWORD)


def test_fixture_users_need_no_password_change(contributor: Member, admin: Member) -> None:
    assert not user(contributor.email).must_change_password
    assert not user(admin.email).must_change_password
    with session_scope() as s, pytest.raises(AppError) as caught:
        create_user(
            s, email="x@example.org", role="contributor", actor="t", password="password1234"
        )
    assert caught.value.code == "common_password"


def _api_session(client: TestClient, email: str, password: str) -> dict[str, str]:
    r = api_login(client, email, password)
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def test_change_your_own_password_through_the_api(app: object, contributor: Member) -> None:
    with TestClient(app) as client, TestClient(app) as other:  # type: ignore[arg-type]
        csrf = _api_session(client, contributor.email, contributor.password)
        _api_session(other, contributor.email, contributor.password)
        body = {"current_password": "not it", "new_password": GOOD_PASSWORD}
        r = client.post("/api/v1/me/password", json=body, headers=csrf)
        assert r.status_code == 403 and r.json()["error"] == "wrong_password"
        body = {"current_password": contributor.password, "new_password": "password1234"}
        r = client.post("/api/v1/me/password", json=body, headers=csrf)
        assert r.status_code == 422 and r.json()["error"] == "common_password"
        assert r.json()["field"] == "new_password"
        body = {"current_password": contributor.password, "new_password": "too short"}
        assert client.post("/api/v1/me/password", json=body, headers=csrf).status_code == 422
        body = {"current_password": contributor.password, "new_password": GOOD_PASSWORD}
        assert client.post("/api/v1/me/password", json=body, headers=csrf).status_code == 204
        assert client.get("/api/v1/me").status_code == 200  # this session stays
        assert other.get("/api/v1/me").status_code == 401  # the others end
    with TestClient(app) as fresh:  # type: ignore[arg-type]
        assert api_login(fresh, contributor.email, contributor.password).status_code == 401
        assert api_login(fresh, contributor.email, GOOD_PASSWORD).status_code == 200
    (event,) = events("user.password_changed")
    assert event.payload == {"email": contributor.email, "sessions_ended": 1}
    assert GOOD_PASSWORD not in str(event.payload)


def _new_user(client: TestClient, admin: Member, role: str = "contributor") -> tuple[str, str]:
    r = client.post(
        "/api/v1/users",
        json={"email": f"new-{role}@example.org", "role": role},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["user"]["email"], r.json()["one_time_password"]


def test_a_one_time_password_must_be_changed_before_anything_else(
    client: TestClient, admin: Member
) -> None:
    email, otp = _new_user(client, admin)
    r = api_login(client, email, otp)
    assert r.status_code == 200 and r.json()["password_change_required"] is True
    csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
    for method, path in [
        ("GET", "/api/v1/clips"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/review/queue"),
    ]:
        r = client.request(method, path)
        assert r.status_code == 403 and r.json()["error"] == "password_change_required", path
    r = client.post("/api/v1/clips", json={"city": "Ahvaz"}, headers=csrf)
    assert r.json()["error"] == "password_change_required"
    # the pages send you to the change form, which comes back where you were going
    r = client.get("/team/queue", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/team/account/password?next=%2Fteam%2Fqueue"
    for page in ("/team/", "/team/account", "/fa/team/upload"):
        r = client.get(page, headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and "/team/account/password" in r.headers["location"]
    form = client.get("/team/account/password?next=/team/queue", headers=HTML)
    assert form.status_code == 200 and "one-time password" in form.text
    r = client.post(
        "/team/account/password",
        data={
            "csrf_token": csrf_of(form.text),
            "current_password": otp,
            "new_password": GOOD_PASSWORD,
            "repeat_password": GOOD_PASSWORD + "x",
            "next": "/team/queue",
        },
        headers=HTML,
    )
    assert r.status_code == 422 and "not the same" in r.text
    r = client.post(
        "/team/account/password",
        data={
            "csrf_token": csrf_of(form.text),
            "current_password": otp,
            "new_password": GOOD_PASSWORD,
            "repeat_password": GOOD_PASSWORD,
            "next": "/team/queue",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/team/queue")
    assert client.get("/team/queue", headers=HTML).status_code == 200
    assert client.get("/api/v1/me").json()["must_change_password"] is False


def test_the_web_login_goes_straight_to_the_change_form(client: TestClient, admin: Member) -> None:
    email, otp = _new_user(client, admin, "reviewer")
    r = web_login(client, email, otp, next="/team/queue")
    assert r.status_code == 303
    assert r.headers["location"] == "/team/account/password?next=%2Fteam%2Fqueue"
    # logging out still works before the change
    page = client.get("/logout", headers=HTML)
    assert page.status_code == 200
    r = client.post(
        "/logout", data={"csrf_token": csrf_of(page.text)}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303 and client.get(
        "/team/", headers=HTML, follow_redirects=False
    ).headers["location"].startswith("/login")


def test_an_admin_reset_issues_a_new_one_time_password_and_ends_the_sessions(
    app: object, admin: Member, reviewer: Member
) -> None:
    with TestClient(app) as victim:  # type: ignore[arg-type]
        _api_session(victim, reviewer.email, reviewer.password)
        assert victim.get("/api/v1/me").status_code == 200
        with TestClient(app) as boss:  # type: ignore[arg-type]
            r = boss.post(f"/api/v1/users/{reviewer.id}/password-reset", headers=admin.headers)
            assert r.status_code == 200
            otp = r.json()["one_time_password"]
            r = boss.post(f"/api/v1/users/{admin.id}/password-reset", headers=admin.headers)
            assert r.status_code == 422  # your own: change it instead
        assert victim.get("/api/v1/me").status_code == 401
        victim.cookies.clear()
        assert api_login(victim, reviewer.email, reviewer.password).status_code == 401
        r = api_login(victim, reviewer.email, otp)
        assert r.status_code == 200 and r.json()["password_change_required"] is True
    (event,) = events("user.password_reset")
    assert event.payload == {"email": reviewer.email, "sessions_ended": 1}
    assert event.actor == f"user:{admin.email}"


def test_the_admin_page_resets_a_password_and_adds_contributors_by_default(
    client: TestClient, admin: Member, contributor: Member
) -> None:
    assert web_login(client, admin.email, admin.password).status_code == 303
    page = client.get("/team/admin/users", headers=HTML)
    add_form = page.text[page.text.index('id="u-role"') :]
    selected = re.search(r'<option value="(\w+)" selected>', add_form)
    assert selected is not None and selected.group(1) == "contributor"
    r = client.post(
        f"/team/admin/users/{contributor.id}/password-reset",
        data={"csrf_token": csrf_of(page.text)},
        headers=HTML,
    )
    assert r.status_code == 200
    shown = re.search(
        r'data-testid="one-time-password">[^<]*<code dir="ltr">([^<]+)</code>', r.text
    )
    assert shown is not None
    assert user(contributor.email).must_change_password is True
    client.cookies.clear()
    assert api_login(client, contributor.email, shown.group(1)).status_code == 200


def test_the_cli_sets_a_password_from_stdin_or_two_prompts(
    client: TestClient, contributor: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = runner.invoke(cli, ["users", "set-password", contributor.email], input="qwerty123456\n")
    assert r.exit_code == 1 and "commonly used" in r.output
    r = runner.invoke(cli, ["users", "set-password", contributor.email], input=GOOD_PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert api_login(client, contributor.email, GOOD_PASSWORD).status_code == 200
    client.cookies.clear()

    import getpass

    import app.cli

    answers = iter(["violet canyon lantern", "violet canyon lanterns"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(app.cli, "_stdin_is_tty", lambda: True)
    r = runner.invoke(cli, ["users", "set-password", contributor.email])
    assert r.exit_code == 1 and "not the same" in r.output
    answers = iter(["violet canyon lantern"] * 2)
    r = runner.invoke(cli, ["users", "set-password", contributor.email])
    assert r.exit_code == 0, r.output
    assert api_login(client, contributor.email, "violet canyon lantern").status_code == 200
    r = runner.invoke(
        cli, ["users", "set-password", "nobody@example.org"], input=GOOD_PASSWORD + "\n"
    )
    assert r.exit_code == 1
