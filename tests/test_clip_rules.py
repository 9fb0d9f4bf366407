"""Clips through every door: the API, the team's web pages and the CLI go through the same
service, so a new clip is the same custody event, a bad date the same refusal, and a
deleted clip the same 410 (one live-clip lookup for every domain)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from app.custody.models import CustodyEvent
from app.db import session_scope
from tests.conftest import Member
from tests.review.test_team_web import HTML, login
from tests.test_account_rules import refusal

runner = CliRunner()
ROW = {"city": "Abadan", "province": "Khuzestan", "date": "16 Nov 2019", "title_en": "Gate"}


def create_via(
    door: str, client: TestClient, who: Member, tmp: Path, **row: str
) -> tuple[int, str]:
    """Create one clip; (status, the refusal's message or '')."""
    fields = {**ROW, **row}
    if door == "api":
        r = client.post("/api/v1/clips", json=fields, headers=who.headers)
        return r.status_code, "" if r.status_code == 201 else r.json()["detail"]
    if door == "web":
        csrf = login(client, who)
        r = client.post(
            "/team/upload",
            headers=HTML,
            data={"csrf_token": csrf, **fields},
            follow_redirects=False,
        )
        return (201, "") if r.status_code == 303 else (r.status_code, refusal(r.text))
    csv = tmp / "one.csv"
    csv.write_text("city,province,date,title\n" + ",".join(fields.values()) + "\n")
    out = runner.invoke(cli, ["import", str(csv), "--by", who.email])
    if out.exit_code == 0:
        return 201, ""
    line = next(x for x in out.stderr.splitlines() if x.strip().startswith("line 2:"))
    return 422, line.split("line 2:", 1)[1].strip()


def created_events() -> list[tuple[str, str | None, dict[str, Any]]]:
    with session_scope() as s:
        rows = s.execute(
            select(CustodyEvent.actor, CustodyEvent.clip_code, CustodyEvent.payload)
            .where(CustodyEvent.action == "clip.created")
            .order_by(CustodyEvent.id)
        ).all()
    return [(a, c, p) for a, c, p in rows]


DOORS = ["api", "web", "cli"]


@pytest.mark.parametrize("door", DOORS)
def test_a_new_clip_is_the_same_custody_event_whichever_door(
    door: str, client: TestClient, contributor: Member, tmp_path: Path
) -> None:
    assert create_via(door, client, contributor, tmp_path) == (201, "")
    [(actor, code, payload)] = created_events()
    assert actor == f"user:{contributor.email}" and code and code.startswith("IRN")
    assert payload["status"] == "draft" and payload["places_created"] == []
    assert payload["fields"]["city"] == "Abadan" and payload["fields"]["title_en"] == "Gate"
    assert payload["fields"]["date"] == "2019-11-16"


def test_a_bad_date_is_refused_in_the_same_words_whichever_door(
    client: TestClient, contributor: Member, tmp_path: Path
) -> None:
    answers = {d: create_via(d, client, contributor, tmp_path, date="31 Feb 2019") for d in DOORS}
    messages = {message for _, message in answers.values()}
    assert all(status == 422 for status, _ in answers.values()), answers
    assert len(messages) == 1 and "February 2019 has 28 days" in messages.pop(), answers
    assert created_events() == []


def test_a_deleted_clip_is_gone_through_every_door(
    client: TestClient, contributor: Member, reviewer: Member, admin: Member
) -> None:
    code = client.post("/api/v1/clips", json=ROW, headers=contributor.headers).json()["code"]
    r = client.delete(f"/api/v1/clips/{code}", params={"reason": "dup"}, headers=admin.headers)
    assert r.status_code == 204
    answers = [
        client.get(f"/api/v1/clips/{code}", headers=reviewer.headers),
        client.patch(
            f"/api/v1/clips/{code}", json={"version": 1, "title_en": "x"}, headers=admin.headers
        ),
        client.post(
            f"/api/v1/clips/{code}/transitions", json={"to": "submitted"}, headers=admin.headers
        ),
        client.post(f"/api/v1/clips/{code}/comments", json={"body": "hi"}, headers=admin.headers),
        client.get(f"/api/v1/clips/{code}/checklist", headers=reviewer.headers),
        client.get(f"/api/v1/clips/{code}/processing", headers=reviewer.headers),
        client.post(f"/api/v1/clips/{code}/media", content=b"x", headers=contributor.headers),
    ]
    assert [a.status_code for a in answers] == [410] * len(answers)
    details = {a.json()["detail"] for a in answers}
    assert len(details) == 1 and details.pop().startswith(f"clip {code} was deleted on ")
    login(client, reviewer)
    page = client.get(f"/team/clips/{code}", headers=HTML)
    assert page.status_code == 410
