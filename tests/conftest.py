"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL with TEST_DB=postgres),
an app client, and team members with tokens.

Schemas are built by the migrations only (never create_all).
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import get_settings
from app.db import reset_engine, session_scope
from app.tasks import bootstrap

bootstrap()  # every step, sweeper and mapper, as every entrance of the app does

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKEND = os.environ.get("TEST_DB", "sqlite")


def service_missing(what: str, env: str) -> None:
    """Outside CI a missing service skips; in CI it fails the run."""
    message = f"{what} not available (set {env})"
    if IN_CI:
        pytest.fail(f"{message}; CI must run these tests", pytrace=False)
    pytest.skip(message)


def _pg_server_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _create_pg_database(server_url: str, name: str) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = _pg_server_url()
    if url is None:
        service_missing("PostgreSQL", "TEST_DATABASE_URL")
    assert url is not None
    try:
        eng = create_engine(url)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001
        service_missing(f"PostgreSQL at {url} ({type(exc).__name__})", "TEST_DATABASE_URL")
    return url


@pytest.fixture()
def fresh_pg_url(pg_server_url: str) -> Iterator[str]:
    """An empty PostgreSQL database for this test only (migration tests)."""
    name = f"archive_t_{uuid.uuid4().hex[:10]}"
    url = _create_pg_database(pg_server_url, name)
    yield url
    reset_engine()
    _drop_pg_database(pg_server_url, name)


def _configure(monkeypatch: pytest.MonkeyPatch, tmp: Path, url: str) -> None:
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", url)
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp / "var"))
    monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(tmp / "media"))
    monkeypatch.setenv("ARCHIVE_SECRET_KEY", "test-secret-" + "x" * 40)
    monkeypatch.setenv("ARCHIVE_JOBS", os.environ.get("ARCHIVE_JOBS", "off"))
    monkeypatch.setenv("ARCHIVE_DEMO_ON_FIRST_RUN", "false")
    # the fixtures' admins log in without two-factor (tests/test_two_factor.py turns it on)
    monkeypatch.setenv("ARCHIVE_REQUIRE_2FA_FOR", "")
    get_settings.cache_clear()
    reset_engine()


def _seed(url: str) -> None:
    from app.migrate import upgrade
    from app.places.service import seed

    upgrade(url)
    os.environ["ARCHIVE_DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engine()
    with session_scope() as session:
        seed(session)
    reset_engine()


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Migrate once per run; each test then gets a copy (SQLite) or a truncated DB (PG)."""
    saved = os.environ.get("ARCHIVE_DATABASE_URL")
    base = tmp_path_factory.mktemp("template")
    os.environ["ARCHIVE_VAR_DIR"] = str(base / "var")
    if BACKEND == "postgres":
        server = _pg_server_url()
        if server is None:
            pytest.fail("TEST_DB=postgres needs TEST_DATABASE_URL", pytrace=False)
        assert server is not None
        name = f"archive_suite_{os.getpid()}"
        url = _create_pg_database(server, name)
        _seed(url)
        eng = create_engine(url)
        with eng.connect() as conn:
            max_place = conn.execute(text("SELECT coalesce(max(id), 0) FROM place")).scalar()
            tables = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND "
                        "tablename NOT IN ('alembic_version', 'place', 'place_alias')"
                    )
                )
            ]
        eng.dispose()
        yield {"kind": "postgres", "url": url, "max_place": max_place, "tables": tables}
        reset_engine()
        _drop_pg_database(server, name)
    else:
        path = base / "template.db"
        _seed(f"sqlite:///{path}")
        yield {"kind": "sqlite", "path": path}
    if saved is None:
        os.environ.pop("ARCHIVE_DATABASE_URL", None)
    else:
        os.environ["ARCHIVE_DATABASE_URL"] = saved


def _reset_pg(template: dict[str, object]) -> None:
    eng = create_engine(str(template["url"]))
    try:
        with eng.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            tables = ", ".join(f'"{t}"' for t in template["tables"])  # type: ignore[attr-defined]
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            conn.execute(
                text("DELETE FROM place_alias WHERE place_id > :m"), {"m": template["max_place"]}
            )
            conn.execute(text("DELETE FROM place WHERE id > :m"), {"m": template["max_place"]})
    finally:
        eng.dispose()


def _clear_public_cache() -> None:
    """Each test's database is new, but on PostgreSQL under the same URL (the cache's keys)."""
    from app.public import cache

    cache.clear()


@pytest.fixture()
def db_url(
    _template: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A migrated, seeded, empty-of-clips database configured as the app's database."""
    if _template["kind"] == "postgres":
        _reset_pg(_template)
        url = str(_template["url"])
    else:
        path = tmp_path / "archive.db"
        shutil.copyfile(str(_template["path"]), path)
        url = f"sqlite:///{path}"
    _configure(monkeypatch, tmp_path, url)
    _clear_public_cache()
    yield url
    reset_engine()
    get_settings.cache_clear()


@pytest.fixture()
def app(db_url: str):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app()


@pytest.fixture()
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@dataclass
class Member:
    id: int
    email: str
    role: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture()
def make_user(db_url: str):  # type: ignore[no-untyped-def]
    from app.accounts.service import create_token, create_user

    def make(
        role: str = "contributor", email: str | None = None, can_publish: bool = False
    ) -> Member:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        password = "correct horse battery staple"
        with session_scope() as session:
            user, _ = create_user(
                session,
                email=email,
                role=role,
                password=password,
                can_publish=can_publish,
                actor="test",
            )
            _, token = create_token(session, user, "test", actor="test")
            return Member(user.id, user.email, role, password, token)

    return make


@pytest.fixture()
def admin(make_user) -> Member:  # type: ignore[no-untyped-def]
    return make_user("admin")  # type: ignore[no-any-return]


@pytest.fixture()
def contributor(make_user) -> Member:  # type: ignore[no-untyped-def]
    return make_user("contributor")  # type: ignore[no-any-return]


@pytest.fixture()
def reviewer(make_user) -> Member:  # type: ignore[no-untyped-def]
    return make_user("reviewer")  # type: ignore[no-any-return]


@pytest.fixture
def canary() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request it receives."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
