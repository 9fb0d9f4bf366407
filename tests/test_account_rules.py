"""The rules about accounts and partner keys live in the services: the API, the team's admin
pages and the CLI refuse the same things with the same words and write the same custody
event. (They had drifted: only the web form forbade self-demotion, forced publishing
rights for admins and logged user changes; only the web logged a new user.)"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app.accounts.models import User
from app.cli import app as cli
from app.custody.models import CustodyEvent
from app.db import session_scope
from tests.conftest import Member
from tests.review.test_team_web import HTML, login

runner = CliRunner()


def events(action: str) -> list[tuple[str, dict[str, Any]]]:
    with session_scope() as s:
        rows = s.execute(
            select(CustodyEvent.actor, CustodyEvent.payload)
            .where(CustodyEvent.action == action)
            .order_by(CustodyEvent.id)
        ).all()
    return [(actor, payload) for actor, payload in rows]


def user_row(email: str) -> User:
    with session_scope() as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        return user


def refusal(page: str) -> str:
    found = re.search(r'data-testid="error"[^>]*><strong>[^<]*</strong> ([^\n<]*)', page)
    assert found is not None, page
    return html.unescape(found.group(1)).strip()


class Entrance:
    """One door into the same service call: what the caller sees (status, message)."""

    name = ""

    def __init__(self, client: TestClient, admin: Member) -> None:
        self.client, self.admin = client, admin

    def actor(self) -> str:
        return f"user:{self.admin.email}"

    def create(self, email: str, role: str) -> tuple[int, str]:
        raise NotImplementedError

    def update(self, user_id: int, **change: Any) -> tuple[int, str]:
        raise NotImplementedError


class Api(Entrance):
    name = "api"

    def create(self, email: str, role: str) -> tuple[int, str]:
        r = self.client.post(
            "/api/v1/users", json={"email": email, "role": role}, headers=self.admin.headers
        )
        return r.status_code, r.json().get("detail", "")

    def update(self, user_id: int, **change: Any) -> tuple[int, str]:
        version = user_version(user_id)
        r = self.client.patch(
            f"/api/v1/users/{user_id}",
            json={"version": version, **change},
            headers=self.admin.headers,
        )
        return r.status_code, r.json().get("detail", "")


class Web(Entrance):
    name = "web"

    def __init__(self, client: TestClient, admin: Member) -> None:
        super().__init__(client, admin)
        self.csrf = login(client, admin)

    def create(self, email: str, role: str) -> tuple[int, str]:
        r = self.client.post(
            "/team/admin/users",
            headers=HTML,
            data={"csrf_token": self.csrf, "email": email, "role": role},
        )
        return r.status_code, refusal(r.text) if r.status_code >= 400 else ""

    def update(self, user_id: int, **change: Any) -> tuple[int, str]:
        with session_scope() as s:  # the form as the page shows it, with the change made
            user = s.get(User, user_id)
            assert user is not None
            form = {"role": user.role, "can_publish": user.can_publish, "is_active": user.is_active}
            version = user.version
        form.update(change)
        data = {"csrf_token": self.csrf, "version": str(version), "role": form["role"]}
        data.update({k: "on" for k in ("can_publish", "is_active") if form[k]})
        r = self.client.post(
            f"/team/admin/users/{user_id}", headers=HTML, data=data, follow_redirects=False
        )
        return r.status_code, refusal(r.text) if r.status_code >= 400 else ""


class Cli(Entrance):
    name = "cli"

    def actor(self) -> str:
        return "cli:"

    def create(self, email: str, role: str) -> tuple[int, str]:
        out = runner.invoke(cli, ["users", "create", email, "--role", role])
        message = out.stderr.strip().removeprefix("error: ") if out.exit_code else ""
        return (201 if out.exit_code == 0 else 409), message

    def update(self, user_id: int, **change: Any) -> tuple[int, str]:
        assert change == {"is_active": False}, "the CLI can only disable"
        with session_scope() as s:
            user = s.get(User, user_id)
            assert user is not None
            email = user.email
        out = runner.invoke(cli, ["users", "disable", email])
        return (200 if out.exit_code == 0 else 422), out.stderr.strip()


def user_version(user_id: int) -> int:
    with session_scope() as s:
        user = s.get(User, user_id)
        assert user is not None
        return user.version


DOORS = {"api": Api, "web": Web, "cli": Cli}


@pytest.fixture(params=["api", "web", "cli"])
def door(request: pytest.FixtureRequest, client: TestClient, admin: Member) -> Entrance:
    return DOORS[request.param](client, admin)  # type: ignore[abstract]


@pytest.fixture(params=["api", "web"])
def admin_door(request: pytest.FixtureRequest, client: TestClient, admin: Member) -> Entrance:
    """The doors where an admin acts as themselves (the CLI has no logged-in user)."""
    return DOORS[request.param](client, admin)  # type: ignore[abstract]


def test_a_new_user_is_in_the_custody_log_whichever_door(door: Entrance) -> None:
    status, _ = door.create("New.Reviewer@example.org", "reviewer")
    assert status in (200, 201)
    (actor, payload), *_ = [e for e in events("user.created") if e[1]["email"].startswith("new")]
    assert actor.startswith(door.actor())
    assert payload == {
        "email": "new.reviewer@example.org",
        "role": "reviewer",
        "can_publish": False,
    }


def test_a_taken_email_is_refused_in_the_same_words_whichever_door(
    door: Entrance, reviewer: Member
) -> None:
    before = events("user.created")
    status, message = door.create(reviewer.email.upper(), "contributor")
    assert status == 409
    assert message == f"a user with the email {reviewer.email} already exists"
    assert events("user.created") == before


def test_disabling_a_user_is_the_same_change_and_event_whichever_door(
    door: Entrance, client: TestClient, contributor: Member
) -> None:
    status, message = door.update(contributor.id, is_active=False)
    assert status in (200, 303), message
    assert not user_row(contributor.email).is_active
    assert client.get("/api/v1/me", headers=contributor.headers).status_code == 401
    [(actor, payload)] = events("user.updated")
    assert actor.startswith(door.actor())
    assert payload == {
        "email": contributor.email,
        "before": {"role": "contributor", "can_publish": False, "active": True},
        "after": {"role": "contributor", "can_publish": False, "active": False},
    }


def test_nobody_disables_their_own_account(admin_door: Entrance, admin: Member) -> None:
    status, message = admin_door.update(admin.id, is_active=False)
    assert (status, message) == (422, "you cannot disable your own account")
    assert user_row(admin.email).is_active and events("user.updated") == []


def test_nobody_demotes_their_own_account(admin_door: Entrance, admin: Member) -> None:
    """The API used to allow it: an admin could leave the archive without one."""
    status, message = admin_door.update(admin.id, role="reviewer")
    assert (status, message) == (422, "you cannot demote your own account")
    assert user_row(admin.email).role == "admin" and events("user.updated") == []


def test_admins_can_always_publish(admin_door: Entrance, reviewer: Member) -> None:
    """The API used to store an admin without publishing rights."""
    status, message = admin_door.update(reviewer.id, role="admin", can_publish=False)
    assert status in (200, 303), message
    assert user_row(reviewer.email).can_publish is True
    [(_, payload)] = events("user.updated")
    assert payload["after"] == {"role": "admin", "can_publish": True, "active": True}


def test_a_change_that_changes_nothing_logs_nothing(admin_door: Entrance, reviewer: Member) -> None:
    status, _ = admin_door.update(reviewer.id, role="reviewer")
    assert status in (200, 303) and events("user.updated") == []


def test_a_personal_token_is_in_the_custody_log(client: TestClient, reviewer: Member) -> None:
    out = runner.invoke(cli, ["tokens", "create", reviewer.email, "--name", "scripts"])
    assert out.exit_code == 0, out.output
    plain = out.stdout.strip().splitlines()[-1]
    actor, payload = events("token.created")[-1]
    assert actor.startswith("cli:") and payload["email"] == reviewer.email
    assert payload["name"] == "scripts" and plain.startswith(payload["prefix"])
    assert plain not in str(payload)  # the token itself is never logged


def _web_key(client: TestClient, admin: Member) -> tuple[int, str]:
    csrf = login(client, admin)
    r = client.post(
        "/team/admin/keys",
        headers=HTML,
        data={"csrf_token": csrf, "partner": "Newsroom", "scopes": ["read", "feed"]},
    )
    assert r.status_code == 200
    found = re.search(r"/team/admin/keys/(\d+)/revoke", r.text)
    assert found is not None
    key_id = int(found.group(1))
    for _ in range(2):
        r = client.post(
            f"/team/admin/keys/{key_id}/revoke",
            headers=HTML,
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
    return key_id, refusal(r.text)


def _cli_key() -> tuple[int, str]:
    made = runner.invoke(
        cli, ["apikeys", "create", "Newsroom", "--scope", "read", "--scope", "feed"]
    )
    assert made.exit_code == 0, made.output
    key_id = int(made.stdout.split()[1])
    assert runner.invoke(cli, ["apikeys", "revoke", str(key_id)]).exit_code == 0
    again = runner.invoke(cli, ["apikeys", "revoke", str(key_id)])
    assert again.exit_code == 1
    return key_id, again.stderr.strip().removeprefix("error: ")


@pytest.mark.parametrize("door_name", ["web", "cli"])
def test_partner_keys_are_logged_and_refused_the_same_whichever_door(
    door_name: str, client: TestClient, admin: Member
) -> None:
    key_id, second_revoke = _web_key(client, admin) if door_name == "web" else _cli_key()
    assert second_revoke.startswith(f"API key {key_id} was already revoked at ")
    [(actor, created)] = events("apikey.created")
    [(_, revoked)] = events("apikey.revoked")
    assert actor.startswith("cli:" if door_name == "cli" else f"user:{admin.email}")
    assert set(created) == {"key_id", "partner", "prefix", "scopes", "rate_per_minute"}
    assert created["key_id"] == key_id and created["scopes"] == ["feed", "read"]
    assert revoked == {"key_id": key_id, "prefix": created["prefix"]}
