"""Many readers at once (issue 11 §1), against the real server on the real database.

- readers never wait for a writer (SQLite's write lock, or a PostgreSQL row lock);
- overload gets a prompt 503 with Retry-After, and the server recovers by itself;
- a cached page or partner list costs one query (the change-log head), and is never stale
  after a change, never another viewer's.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, event, select, text

from app.config import get_settings
from app.db import get_engine, session_scope
from tests.support import served

HANG = 20.0  # a client gives up after this: a request waiting on a lock would take 30 s


@contextmanager
def write_lock(db_url: str, code: str) -> Iterator[None]:
    """Hold what a writer holds: SQLite's write lock (BEGIN IMMEDIATE on another
    connection), or on PostgreSQL the row lock of clip ``code``, until the block ends."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT id FROM clip WHERE code = :c FOR UPDATE"), {"c": code})
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def get_all(urls: list[str]) -> list[httpx.Response]:
    """GET every URL at once, each from its own client thread."""

    def one(url: str) -> httpx.Response:
        return httpx.get(url, timeout=HANG, headers={"Accept": "text/html"})

    with ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(one, urls))


def first_codes(n: int) -> list[str]:
    from app.clips.models import Clip

    with session_scope() as s:
        return list(s.scalars(select(Clip.code).order_by(Clip.id).limit(n)))


def test_fifty_readers_get_their_pages_while_a_writer_holds_the_lock(
    app: Any, demo: int, db_url: str
) -> None:
    code = first_codes(1)[0]
    with served(app) as base:
        paths = ["/cities/shiraz", "/api/v1/published", "/healthz", f"/clips/{code}", "/fa/"]
        warm = get_all([base + p for p in paths])  # caches filled before the lock
        assert [r.status_code for r in warm] == [200] * len(paths)
        with write_lock(db_url, code):
            # a new page too: a cache miss must not wait for the writer either
            urls = [base + paths[i % len(paths)] for i in range(48)]
            urls += [base + "/cities/behbahan", base + "/api/v1/published?city=Behbahan"]
            answers = get_all(urls)
        assert [r.status_code for r in answers] == [200] * len(urls)
        assert all(b"IRN" in r.content or r.url.path == "/healthz" for r in answers)


def test_a_write_still_waits_for_the_writer_and_then_succeeds(
    app: Any, demo: int, db_url: str, admin: Any
) -> None:
    code = first_codes(1)[0]
    with served(app) as base:
        clip = httpx.get(f"{base}/api/v1/clips/{code}", headers=admin.headers).json()
        done: list[httpx.Response] = []
        with write_lock(db_url, code):
            t = threading.Thread(
                target=lambda: done.append(
                    httpx.patch(
                        f"{base}/api/v1/clips/{code}",
                        json={"title_en": "Edited while locked", "version": clip["version"]},
                        headers=admin.headers,
                        timeout=HANG,
                    )
                )
            )
            t.start()
            t.join(1.0)
            assert not done, "the write went through while another writer held the lock"
        t.join(HANG)
        # it waited for the lock, then found the published record frozen (issue 13: a
        # published clip changes only through a correction, tests/review/test_corrections.py
        # checks the page after one)
        assert done[0].status_code == 409, done[0].text
        assert done[0].json()["error"] == "record_frozen"
        page = httpx.get(f"{base}/clips/{code}")
        assert "Edited while locked" not in page.text


def _admission(app: Any) -> Any:
    from app.kit.overload import Admission

    layer = app.middleware_stack
    while not isinstance(layer, Admission):
        layer = layer.app
    return layer


def test_overload_gets_a_prompt_503_with_retry_after_then_recovers(
    db_url: str, demo: int, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_THREADS", "2")
    monkeypatch.setenv("ARCHIVE_OVERLOAD_WAIT_SECONDS", "0.5")
    get_settings.cache_clear()
    from app.main import create_app

    app = create_app()
    codes = first_codes(2)
    with served(app) as base:
        versions = {
            c: httpx.get(f"{base}/api/v1/clips/{c}", headers=admin.headers).json()["version"]
            for c in codes
        }
        writes: list[httpx.Response] = []

        def edit(code: str) -> None:
            body = {"title_en": f"Edited {code}", "version": versions[code]}
            url = f"{base}/api/v1/clips/{code}"
            writes.append(httpx.patch(url, json=body, headers=admin.headers, timeout=HANG))

        with write_lock(db_url, codes[0]), _row_lock_too(db_url, codes[1]):
            threads = [threading.Thread(target=edit, args=(c,)) for c in codes]
            for t in threads:
                t.start()
            _wait_for(lambda: _admission(app).inside == 2)  # both slots held by the writes
            page = httpx.get(f"{base}/cities/shiraz", headers={"Accept": "text/html"}, timeout=HANG)
            api = httpx.get(f"{base}/api/v1/published", timeout=HANG)
        for t in threads:
            t.join(HANG)
        assert page.status_code == 503 and page.headers["Retry-After"] == "1"
        assert "busy" in page.text and page.headers["content-type"].startswith("text/html")
        assert api.status_code == 503 and api.headers["Retry-After"] == "1"
        assert api.json()["error"] == "overloaded"
        # queued work finished (refused: published records change only through a correction)
        assert sorted(r.status_code for r in writes) == [409, 409]
        assert httpx.get(f"{base}/cities/shiraz").status_code == 200
        _wait_for(lambda: _admission(app).inside == 0)  # every slot given back


@contextmanager
def _row_lock_too(db_url: str, code: str) -> Iterator[None]:
    """On PostgreSQL the second write needs its own row lock to wait; SQLite's lock covers it."""
    if db_url.startswith("sqlite"):
        yield
        return
    with write_lock(db_url, code):
        yield


def _wait_for(check: Callable[[], bool]) -> None:
    import time

    deadline = time.monotonic() + HANG
    while not check():
        assert time.monotonic() < deadline, "the writes never reached the app"
        time.sleep(0.02)


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block (BEGIN/COMMIT/PRAGMA left out)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, stmt: str, *args: Any) -> None:
        if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|PRAGMA|SET |SHOW )", stmt, re.I):
            seen.append(stmt)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


PUBLIC_PAGES = ["/", "/cities", "/cities/shiraz", "/clips?province=Fars", "/fa/cities/shiraz"]


def test_a_cached_page_runs_only_the_change_log_query(client: Any, demo: int) -> None:
    code = first_codes(1)[0]
    for path in [*PUBLIC_PAGES, f"/clips/{code}", "/api/v1/published?city=Shiraz"]:
        first = client.get(path)
        assert first.status_code == 200
        with statements() as seen:
            again = client.get(path)
        assert again.content == first.content
        assert len(seen) == 1 and "public_change" in seen[0], (path, seen)


def test_the_cache_is_never_stale_after_a_change(
    client: Any, demo: int, add_clip: Callable[..., str], admin: Any
) -> None:
    code = first_codes(1)[0]
    city = client.get("/cities/shiraz").text
    listing = client.get("/api/v1/published?city=Shiraz")
    etag = listing.headers["ETag"]
    assert (
        client.get("/api/v1/published?city=Shiraz", headers={"If-None-Match": etag}).status_code
        == 304
    )

    new = add_clip(title_en="Fresh from the field")
    assert new not in city
    assert "Fresh from the field" in client.get("/cities/shiraz").text
    after = client.get("/api/v1/published?city=Shiraz", headers={"If-None-Match": etag})
    assert after.status_code == 200 and new in after.text and after.headers["ETag"] != etag

    client.get(f"/clips/{code}")
    assert "A corrected title" not in client.get("/api/v1/published?limit=200").text
    from app.clips import service as clips

    with session_scope() as s:  # as an approved correction applies its change
        clip = clips.live_clip(s, code, lock=True)
        clips.change_fields(
            s, clip, {"title_en": "A corrected title"}, actor="test", action="clip.corrected"
        )
    assert "A corrected title" in client.get(f"/clips/{code}").text
    assert "A corrected title" in client.get("/api/v1/published?limit=200").text


GATE = 'class="warning cw-gate"'


def test_cached_pages_vary_by_language_query_and_content_warning(
    client: Any, demo: int, media_clip: Any
) -> None:
    en, fa = client.get("/cities/shiraz"), client.get("/fa/cities/shiraz")
    assert 'lang="en"' in en.text and 'lang="fa"' in fa.text
    by_province = client.get("/cities?by=province").text
    assert by_province != client.get("/cities").text
    gate = client.get(f"/clips/{media_clip.code}").text
    client.cookies.set("cw_ok", "1")
    accepted = client.get(f"/clips/{media_clip.code}").text
    assert GATE in gate and GATE not in accepted


def test_a_team_members_page_is_never_served_to_someone_else(
    app: Any, media_clip: Any, contributor: Any
) -> None:
    from fastapi.testclient import TestClient

    code = media_clip.code
    with TestClient(app) as anonymous, TestClient(app) as member:
        before = anonymous.get(f"/clips/{code}").text  # cached for anonymous visitors
        r = member.post(
            "/api/v1/auth/login",
            json={"email": contributor.email, "password": contributor.password},
        )
        assert r.status_code == 200
        csrf = r.json()["csrf_token"]
        mine = member.get(f"/clips/{code}").text
        assert csrf in mine  # the gate's form carries the member's own token
        after = anonymous.get(f"/clips/{code}").text
        assert csrf not in after and after == before
