"""Review workflow fixtures: a team of five and helpers that drive the JSON API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.db import reset_engine, session_scope
from tests.conftest import Member

CHECKLIST_DONE: dict[str, dict[str, Any]] = {
    "source_identified": {"note": "Filmed by a resident; confirmed by phone"},
    "earliest_copy": {"note": "Earliest copy on Telegram", "evidence": ["https://t.me/x/1"]},
    "location_confirmed": {"lat": 30.3473, "lon": 48.2934, "precision": "vicinity"},
    "date_confirmed": {"date": "16 Nov 2019"},
    "content_described": {"note": "Crowd, gunfire heard at 0:12"},
    "sensitive_flagged": {"note": "No graphic violence"},
}


@dataclass
class Team:
    uploader: Member
    other_contributor: Member
    r1: Member
    r2: Member
    r3: Member
    admin: Member
    publisher: Member


@pytest.fixture()
def team(make_user) -> Team:  # type: ignore[no-untyped-def]
    return Team(
        uploader=make_user("contributor"),
        other_contributor=make_user("contributor"),
        r1=make_user("reviewer"),
        r2=make_user("reviewer"),
        r3=make_user("reviewer"),
        admin=make_user("admin"),
        publisher=make_user("reviewer", can_publish=True),
    )


class Api:
    def __init__(self, client: TestClient) -> None:
        self.c = client

    def new_clip(self, who: Member, **fields: Any) -> str:
        body = {"city": "Abadan", "province": "Khuzestan", "date": "Nov 2019", **fields}
        r = self.c.post("/api/v1/clips", json=body, headers=who.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["code"])

    def clip(self, code: str, who: Member) -> dict[str, Any]:
        r = self.c.get(f"/api/v1/clips/{code}", headers=who.headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def move(
        self, code: str, who: Member, to: str, note: str = "", version: int | None = None
    ) -> Any:
        body: dict[str, Any] = {"to": to, "note": note}
        if version is not None:
            body["version"] = version
        return self.c.post(f"/api/v1/clips/{code}/transitions", json=body, headers=who.headers)

    def ok_move(self, code: str, who: Member, to: str, note: str = "ok") -> dict[str, Any]:
        r = self.move(code, who, to, note)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def approve(self, code: str, who: Member, note: str = "") -> Any:
        return self.c.post(
            f"/api/v1/clips/{code}/approvals", json={"note": note}, headers=who.headers
        )

    def check(
        self,
        code: str,
        who: Member,
        key: str,
        done: bool = True,
        version: int | None = None,
        **fields: Any,
    ) -> Any:
        if version is None:
            items = self.c.get(f"/api/v1/clips/{code}/checklist", headers=who.headers).json()
            version = next(i["version"] for i in items["items"] if i["key"] == key)
        body = {"done": done, "version": version, **fields}
        return self.c.put(f"/api/v1/clips/{code}/checklist/{key}", json=body, headers=who.headers)

    def complete_checklist(self, code: str, who: Member) -> None:
        for key, fields in CHECKLIST_DONE.items():
            r = self.check(code, who, key, **fields)
            assert r.status_code == 200, r.text

    def in_review(self, uploader: Member, reviewer: Member) -> str:
        code = self.new_clip(uploader)
        self.ok_move(code, uploader, "submitted", "please review")
        self.ok_move(code, reviewer, "in_review", "starting")
        return code

    def verified(self, team: Team) -> str:
        code = self.in_review(team.uploader, team.r1)
        self.complete_checklist(code, team.r1)
        assert self.approve(code, team.r1).status_code == 201
        r = self.approve(code, team.r2)
        assert r.json()["status"] == "verified", r.text
        return code

    def events(self, code: str, who: Member) -> list[dict[str, Any]]:
        r = self.c.get(f"/api/v1/clips/{code}/custody", headers=who.headers)
        assert r.status_code == 200, r.text
        return r.json()["events"]  # type: ignore[no-any-return]


@pytest.fixture()
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture()
def pg_app_url(fresh_pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated, seeded PostgreSQL database configured as the app's database."""
    from app.migrate import upgrade
    from app.places.service import seed

    monkeypatch.setenv("ARCHIVE_DATABASE_URL", fresh_pg_url)
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(tmp_path / "media"))
    monkeypatch.setenv("ARCHIVE_SECRET_KEY", "test-secret-" + "x" * 40)
    monkeypatch.setenv("ARCHIVE_JOBS", "off")
    get_settings.cache_clear()
    reset_engine()
    upgrade(fresh_pg_url)
    with session_scope() as session:
        seed(session)
    yield fresh_pg_url
    reset_engine()
    get_settings.cache_clear()


@pytest.fixture()
def make_pg_team(pg_app_url: str):  # type: ignore[no-untyped-def]
    """Build a Team in the fresh PostgreSQL database (call after pg_app_url is configured)."""
    import uuid

    from app.accounts.service import create_token, create_user

    def member(role: str, can_publish: bool = False) -> Member:
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        with session_scope() as session:
            user, _ = create_user(
                session,
                email=email,
                role=role,
                password="correct horse battery staple",
                can_publish=can_publish,
                actor="test",
            )
            _, token = create_token(session, user, "test", actor="test")
            return Member(user.id, user.email, role, "correct horse battery staple", token)

    def make() -> Team:
        return Team(
            uploader=member("contributor"),
            other_contributor=member("contributor"),
            r1=member("reviewer"),
            r2=member("reviewer"),
            r3=member("reviewer"),
            admin=member("admin"),
            publisher=member("reviewer", True),
        )

    return make


def restore_default_checklist() -> None:
    """The migration seeds the checklist template; the PostgreSQL test reset truncates every
    table except places, so put the migration's own rows back when the template is empty."""
    import importlib.util
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from app.review.models import ChecklistTemplateItem

    path = next(
        (Path(__file__).resolve().parents[2] / "migrations" / "versions").glob(
            "*_review_workflow.py"
        )
    )
    spec = importlib.util.spec_from_file_location("review_workflow_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with session_scope() as session:
        if session.scalar(select(func.count()).select_from(ChecklistTemplateItem)):
            return
        now = datetime.now(UTC)
        for i, (key, kind, en, fa, hen, hfa) in enumerate(module.CHECKLIST):
            session.add(
                ChecklistTemplateItem(
                    key=key,
                    kind=kind,
                    label_en=en,
                    label_fa=fa,
                    help_en=hen,
                    help_fa=hfa,
                    position=(i + 1) * 10,
                    created_at=now,
                )
            )


@pytest.fixture(autouse=True)
def _default_checklist(request: pytest.FixtureRequest) -> None:
    if "db_url" in request.fixturenames:
        request.getfixturevalue("db_url")  # (autouse fixtures run first: reset the DB now)
        restore_default_checklist()
