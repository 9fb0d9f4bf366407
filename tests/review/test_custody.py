"""The custody log: every review action is in it; `archive audit verify` catches an edited,
a deleted and an inserted row, on SQLite and on PostgreSQL (where the table first refuses
UPDATE and DELETE, so the attacker has to be a DBA switching the trigger off)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import get_settings
from app.custody.service import GENESIS, chain_hash, event_body
from app.db import reset_engine
from tests.review.conftest import Api, Team

Tamper = Callable[[Connection], None]


def _edit(conn: Connection) -> None:
    conn.execute(
        text("UPDATE custody_event SET actor = 'user:someone-else@example.org' WHERE id = 3")
    )


def _delete(conn: Connection) -> None:
    conn.execute(text("DELETE FROM custody_event WHERE id = 3"))


def _insert_before_first(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO custody_event (id, leaf_index, occurred_at, actor, action, clip_code, "
            "payload, prev_hash, hash) SELECT 0, -1, occurred_at, 'user:forger@example.org', "
            "'review.approved', clip_code, payload, :p, :h FROM custody_event WHERE id = 1"
        ),
        {"p": "f" * 64, "h": "e" * 64},
    )


def _insert_at_end(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO custody_event (leaf_index, occurred_at, actor, action, clip_code, "
            "payload, prev_hash, hash) SELECT leaf_index + 1, occurred_at, "
            "'user:forger@example.org', action, clip_code, payload, hash, :h FROM custody_event "
            "ORDER BY id DESC LIMIT 1"
        ),
        {"h": "d" * 64},
    )


CASES = {
    "edited": (_edit, "edited"),
    "deleted": (_delete, "deleted or inserted"),
    "inserted-first": (_insert_before_first, "deleted or inserted"),
    "inserted-last": (_insert_at_end, "edited"),
}


def _make_history(client: TestClient, team: Team) -> str:
    api = Api(client)
    code = api.in_review(team.uploader, team.r1)
    api.c.post(
        f"/api/v1/clips/{code}/comments",
        json={"body": "see 0:12", "at_seconds": 12},
        headers=team.r1.headers,
    )
    api.approve(code, team.r1)
    return code


def _verify() -> tuple[int, str]:
    get_settings.cache_clear()
    reset_engine()
    result = CliRunner().invoke(cli, ["audit", "verify"])
    return result.exit_code, result.output


def _check_detected(url: str, tamper: Tamper, expect: str, pg: bool) -> None:
    code, out = _verify()
    assert code == 0, out
    assert "chain intact" in out
    head = out.split("head: ")[1].split()[0]
    assert len(head) == 64
    eng = create_engine(url)
    try:
        with eng.begin() as conn:
            if pg:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            tamper(conn)
    finally:
        eng.dispose()
    code, out = _verify()
    assert code == 1, out
    assert "TAMPERED" in out and expect in out
    assert "last good head" in out


def test_every_review_action_is_logged(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    api.c.post(f"/api/v1/clips/{code}/assignment", json={}, headers=team.r1.headers)
    api.c.post(f"/api/v1/clips/{code}/comments", json={"body": "hm"}, headers=team.r1.headers)
    api.complete_checklist(code, team.r1)
    api.approve(code, team.r1, note="solid")
    api.approve(code, team.r2)
    api.ok_move(code, team.admin, "published", "go")
    events = api.events(code, team.admin)
    actions = [e["action"] for e in events]
    for action in (
        "clip.created",
        "review.transition",
        "review.assigned",
        "review.comment",
        "review.checklist",
        "review.approved",
    ):
        assert action in actions, action
    verified = next(
        e for e in events if e["action"] == "review.transition" and e["payload"]["to"] == "verified"
    )
    assert verified["payload"]["approvals"] == [team.r1.email, team.r2.email]
    assert verified["actor"] == f"user:{team.r2.email}"
    assert all(len(e["hash"]) == 64 for e in events)


def test_the_export_is_itself_logged_and_reports_the_chain(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    r = api.c.get(f"/api/v1/clips/{code}/custody", headers=team.r1.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["chain_ok"] and len(body["chain_head"]) == 64
    again = api.c.get(f"/api/v1/clips/{code}/custody", headers=team.r1.headers).json()
    assert again["events"][-1]["action"] == "custody.exported"
    assert again["events"][-1]["actor"] == f"user:{team.r1.email}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_audit_verify_catches_tampering_on_sqlite(
    case: str, client: TestClient, team: Team, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the SQLite variant (the PostgreSQL one is below)")
    _make_history(client, team)
    tamper, expect = CASES[case]
    _check_detected(db_url, tamper, expect, pg=False)


@pytest.mark.postgres
def test_postgres_refuses_update_delete_and_truncate_of_the_log(
    pg_app_url: str, make_pg_team
) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app

    with TestClient(create_app()) as client:
        _make_history(client, make_pg_team())
    eng = create_engine(pg_app_url)
    try:
        for sql in (
            "UPDATE custody_event SET actor = 'x' WHERE id = 2",
            "DELETE FROM custody_event WHERE id = 2",
            "TRUNCATE custody_event",
        ):
            with pytest.raises(DBAPIError, match="append-only"), eng.begin() as conn:
                conn.execute(text(sql))
        with eng.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM custody_event")).scalar() > 3
    finally:
        eng.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("case", sorted(CASES))
def test_audit_verify_catches_a_dba_tampering_on_postgres(
    case: str, pg_app_url: str, make_pg_team
) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app

    with TestClient(create_app()) as client:
        _make_history(client, make_pg_team())
    tamper, expect = CASES[case]
    _check_detected(pg_app_url, tamper, expect, pg=True)


def _rewrite_and_rehash(url: str) -> None:
    """A forger with database access edits event 3 and recomputes every hash after it, so
    the chain is internally consistent again."""
    eng = create_engine(url)
    try:
        with eng.begin() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, occurred_at, actor, action, clip_code, payload FROM custody_event "
                    "ORDER BY id"
                )
            ).all()
            prev = GENESIS
            for row in rows:
                actor = "user:forger@example.org" if row.id == 3 else row.actor
                at = row.occurred_at
                if isinstance(at, str):  # SQLite gives the stored text back
                    at = datetime.fromisoformat(at)
                at = at if at.tzinfo else at.replace(tzinfo=UTC)
                payload = row.payload
                if isinstance(payload, str):
                    payload = json.loads(payload)
                h = chain_hash(prev, event_body(at, actor, row.action, row.clip_code, payload))
                conn.execute(
                    text(
                        "UPDATE custody_event SET actor = :a, prev_hash = :p, hash = :h "
                        "WHERE id = :id"
                    ),
                    {"a": actor, "p": prev, "h": h, "id": row.id},
                )
                prev = h
    finally:
        eng.dispose()


def test_a_checkpoint_exposes_a_rewritten_and_rehashed_log(
    client: TestClient, team: Team, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the forger needs UPDATE rights (PostgreSQL's trigger refuses them)")
    _make_history(client, team)
    code, out = _verify()
    assert code == 0, out
    checkpoint = out.split("head: ")[1].split()[0]
    Api(client).new_clip(team.uploader)  # the log goes on after the checkpoint

    result = CliRunner().invoke(cli, ["audit", "verify", "--expect-head", checkpoint])
    assert result.exit_code == 0, result.output
    assert f"checkpoint {checkpoint} found after event" in result.output
    assert "events since" in result.output and "(0 events since)" not in result.output

    _rewrite_and_rehash(db_url)
    code, out = _verify()
    # the chain alone was recomputed: the Merkle leaves still hold the old content (a forger
    # who rebuilds the tree too is caught by signed checkpoints: tests/custody/test_log.py)
    assert code == 1 and "does not match its leaf in the Merkle tree" in out, out
    get_settings.cache_clear()
    reset_engine()
    result = CliRunner().invoke(cli, ["audit", "verify", "--expect-head", checkpoint])
    assert result.exit_code == 1, result.output
    assert "TAMPERED" in result.output and "Merkle tree" in result.output


def test_expect_head_must_be_a_hash(client: TestClient) -> None:
    result = CliRunner().invoke(cli, ["audit", "verify", "--expect-head", "not-a-hash"])
    assert result.exit_code == 2
    assert "64-character hex" in result.output
