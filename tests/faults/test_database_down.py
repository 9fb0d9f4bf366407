"""The database goes away under a request: a JSON 503 ``database_unavailable`` with
Retry-After (never a plain-text 500), nothing half-stored, and the server recovers by
itself once the database is back. PostgreSQL is a private cluster stopped mid-upload;
SQLite is locked past its busy timeout, or its file cannot be opened."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app.db import get_engine, reset_engine, session_scope
from tests.conftest import BACKEND
from tests.faults.conftest import MiB, counts, findings, restarted, ts_bytes
from tests.faults.upload import new_clip, send
from tests.ingest.conftest import store_files

sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="a SQLite fault (the SQLite pass)")


def unavailable(r: Any) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"] == "database_unavailable" and "nothing was saved" in r.text
    assert int(r.headers["retry-after"]) > 0


def _member() -> Any:
    from app.accounts.service import create_token, create_user
    from tests.conftest import Member

    with session_scope() as session:
        user, _ = create_user(
            session,
            email="pg-down@example.org",
            role="contributor",
            actor="test",
            password="x" * 20,
        )
        _, token = create_token(session, user, "test", actor="test")
        return Member(user.id, user.email, "contributor", "x" * 20, token)


@pytest.mark.slow
def test_postgres_stopped_mid_upload(private_pg: Any, server_factory: Any, tmp_path: Path) -> None:
    who = _member()
    server = server_factory().start()
    data = ts_bytes(tmp_path, 4 * MiB)
    media_root = Path(os.environ["ARCHIVE_MEDIA_ROOT"])
    with httpx.Client(base_url=server.base, timeout=60) as http:
        code = new_clip(http, who)

        def body() -> Iterator[bytes]:
            for i in range(0, len(data), 256 * 1024):
                if i == MiB:
                    private_pg.stop()  # the database goes away while the bytes arrive
                yield data[i : i + 256 * 1024]

        unavailable(send(http, who, code, body(), "raw"))
        assert store_files(media_root)["tmp"] == []  # the temp file went with the request
        unavailable(http.get("/api/v1/clips", headers=who.headers))
        assert "database_unavailable" in http.get("/healthz").text

        private_pg.start()  # back: the server recovers by itself, no restart
        assert http.get("/healthz").status_code == 200
        r = send(http, who, code, data, "raw")
        assert r.status_code == 201, r.text
        assert r.json()["sha256"] == hashlib.sha256(data).hexdigest()
    reset_engine()  # this process's pool still holds connections to the old server
    assert counts() == {"media": 1, "jobs": 1, "ingested": 1}
    assert findings() == []


@pytest.fixture()
def short_busy_timeout(db_url: str) -> Iterator[None]:
    """The app's SQLite connections give up on a lock after 0.2 s instead of 30 s."""
    reset_engine()

    def shorten(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    event.listen(get_engine(), "connect", shorten)  # after the app's own pragmas
    yield
    reset_engine()


@sqlite_only
def test_sqlite_locked_past_its_busy_timeout_is_503(
    db_url: str, short_busy_timeout: None, contributor: Any
) -> None:
    holder = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    with restarted() as client:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"}
            unavailable(client.post("/api/v1/clips", json=body, headers=contributor.headers))
            # reads never wait for the write lock (deferred read transactions under WAL)
            assert client.get("/api/v1/clips", headers=contributor.headers).status_code == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert client.get("/api/v1/clips", headers=contributor.headers).json()["items"] == []
        new_clip(client, contributor)  # the lock is gone: it works again


@sqlite_only
def test_sqlite_file_that_cannot_be_opened_is_503(db_url: str, contributor: Any) -> None:
    path = Path(db_url.split("///", 1)[1])
    with restarted() as client:
        reset_engine()
        os.rename(path, path.with_suffix(".away"))
        path.mkdir()  # where the database file was, something SQLite cannot open
        try:
            unavailable(client.get("/api/v1/clips", headers=contributor.headers))
            page = client.get("/", headers={"Accept": "text/html"})  # a page: the HTML error
            assert page.status_code == 503 and "text/html" in page.headers["content-type"]
            assert "nothing was saved" in page.text
        finally:
            reset_engine()
            path.rmdir()
            os.rename(path.with_suffix(".away"), path)
        assert client.get("/api/v1/clips", headers=contributor.headers).status_code == 200
