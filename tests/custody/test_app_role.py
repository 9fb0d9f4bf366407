"""PostgreSQL: `archive migrate --app-role NAME` leaves the serving role unable to undo the
custody log's protection: it can add events (the app works as that role) but cannot
switch the trigger off, edit or delete events, or rename, drop or replace the table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import get_settings
from app.db import reset_engine

pytestmark = pytest.mark.postgres

ATTACKS = {
    "disable the trigger": "ALTER TABLE custody_event DISABLE TRIGGER custody_event_append_only",
    "disable every trigger": "ALTER TABLE custody_event DISABLE TRIGGER ALL",
    "rename the table": "ALTER TABLE custody_event RENAME TO custody_event_old",
    "drop the table": "DROP TABLE custody_event CASCADE",
    "create a stand-in": "CREATE TABLE custody_event_new (id integer)",
    "edit an event": "UPDATE custody_event SET actor = 'x' WHERE id = 1",
    "delete an event": "DELETE FROM custody_event WHERE id = 1",
    "truncate the log": "TRUNCATE custody_event",
    "edit the tree": "UPDATE custody_node SET hash = 'x'",
    "delete checkpoints": "DELETE FROM custody_checkpoint",
    "skip triggers": "SET session_replication_role = replica",
    "move the schema version": "UPDATE alembic_version SET version_num = 'x'",
}


@pytest.fixture()
def serving_role(fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    role = f"archive_srv_{uuid.uuid4().hex[:8]}"
    admin = create_engine(fresh_pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", fresh_pg_url)
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(tmp_path / "media"))
    monkeypatch.setenv("ARCHIVE_SECRET_KEY", "test-secret-" + "x" * 40)
    monkeypatch.setenv("ARCHIVE_JOBS", "off")
    get_settings.cache_clear()
    reset_engine()
    try:
        yield role
    finally:
        reset_engine()
        with admin.connect() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"REVOKE ALL ON SCHEMA public FROM {role}"))
        admin.dispose()
        server = create_engine(
            make_url(fresh_pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with server.connect() as conn:
            conn.execute(
                text(f"DROP DATABASE IF EXISTS {make_url(fresh_pg_url).database} WITH (FORCE)")
            )
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        server.dispose()


def test_the_serving_role_can_log_but_cannot_undo_the_log(
    serving_role: str, fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(cli, ["migrate", "--app-role", serving_role])
    assert result.exit_code == 0, result.output
    assert f"granted {serving_role}" in result.output

    as_app = make_url(fresh_pg_url).set(username=serving_role).render_as_string(False)
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", as_app)
    get_settings.cache_clear()
    reset_engine()
    from app.accounts.service import create_token, create_user
    from app.db import session_scope
    from app.main import create_app

    with session_scope() as session:  # the app, as the serving role, writes events
        user, _ = create_user(
            session,
            email="a@example.org",
            role="admin",
            password="serving-role-test-passphrase",
            actor="test",
        )
        _, token = create_token(session, user, "t", actor="test")
    with TestClient(create_app()) as client:
        body = {"city": "Abadan", "province": "Khuzestan", "date": "Nov 2019"}
        r = client.post("/api/v1/clips", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
    assert CliRunner().invoke(cli, ["audit", "checkpoint"]).exit_code == 0

    eng = create_engine(as_app)
    try:
        for what, sql in ATTACKS.items():
            with pytest.raises(DBAPIError) as caught, eng.begin() as conn:
                conn.execute(text(sql))
            message = str(caught.value.orig).lower()
            assert "permission denied" in message or "must be owner" in message, (what, message)
    finally:
        eng.dispose()
    reset_engine()
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_app_role_refuses_unknown_roles_and_sqlite(
    fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from app.migrate import RoleError, grant_app_role, upgrade

    upgrade(fresh_pg_url)
    with pytest.raises(RoleError, match="does not exist"):
        grant_app_role("no_such_role_here", fresh_pg_url)
    with pytest.raises(RoleError, match="plain role name"):
        grant_app_role('x"; DROP TABLE clip; --', fresh_pg_url)
    with pytest.raises(RoleError, match="PostgreSQL"):
        grant_app_role("someone", f"sqlite:///{tmp_path / 'x.db'}")
