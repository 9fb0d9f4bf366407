"""Hostile cursors, `since` and `limit`: every list, feed, export and page that takes one
answers 422 (`invalid_cursor` naming the parameter) before any SQL runs, never a 5xx or
a stream cut off after a 200. The routes are found from the app's route list, so a new
list route is covered without editing this file."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from app.i18n import translate
from tests.public.conftest import Key
from tests.support import access_rules, api_routes

CURSOR_PARAMS = {"cursor", "since"}
PATH_VALUES = {"slug": "shiraz", "code": "IRN091"}
HOSTILE = settings(
    max_examples=30,
    derandomize=True,  # seeded: the same cases on every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


def _query_params(dependant: Any) -> Iterator[str]:
    for p in dependant.query_params:
        yield p.alias
    for sub in dependant.dependencies:
        yield from _query_params(sub)


@pytest.fixture()
def routes(app: Any) -> list[tuple[str, str, str]]:
    """(url, cursor parameter, access rule) for every GET route taking a cursor, the
    Farsi copies of the public pages included."""
    found: set[tuple[str, str, str]] = set()
    for route in api_routes(app):
        if "GET" not in route.methods:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m[1], "1"), route.path)
        for name in set(_query_params(route.dependant)) & CURSOR_PARAMS:
            rule = access_rules(route)[0]
            found.add((url, name, rule))
            if rule == "public" and not url.startswith("/api/"):
                found.add(("/fa" + url, name, rule))
    return sorted(found)


def test_every_list_feed_export_and_page_with_a_cursor_is_found(
    routes: list[tuple[str, str, str]],
) -> None:
    urls = {(u, p) for u, p, _ in routes}
    assert {
        ("/api/v1/published", "cursor"),
        ("/api/v1/changes", "since"),
        ("/api/v1/export.ndjson", "cursor"),
        ("/api/v1/export.csv", "cursor"),
        ("/api/v1/clips", "cursor"),
        ("/clips", "cursor"),
        ("/fa/clips", "cursor"),
        ("/cities/shiraz", "cursor"),
    } <= urls, urls


@pytest.fixture()
def callers(admin: Any, make_key: Callable[..., Key]) -> dict[str, dict[str, str]]:
    key = make_key("read", "export", "feed", rate=100000, partner="Cursors")
    return {
        "public": {},
        "partner_read": {},
        "partner_export": key.headers,
        "partner_feed": key.headers,
        "team": admin.headers,
        "reviewer": admin.headers,
        "admin": admin.headers,
    }


HOSTILE_CURSORS = {
    "huge int": b64json({"id": 99999999999999999999999}),
    "just past 64 bits": b64json({"id": 2**63}),
    "just past 32 bits": b64json({"id": 2**31}),
    "null": b64json({"id": None}),
    "negative": b64json({"id": -1}),
    "float": b64json({"id": 1.5}),
    "bool": b64json({"id": True}),
    "string": b64json({"id": "7"}),
    "nested": b64json({"id": {"id": 7}}),
    "other key": b64json({"id": 7, "and": 1}),
    "no id": b64json({}),
    "array": b64json([7]),
    "number": b64json(7),
    "deep": b64json(json.loads("[" * 300 + "]" * 300)),
    "not base64": "%%%***",
    "base64 with junk": b64json({"id": 7}) + "!!",
    "not json": b64(b"\xff\xfe not json"),
    "not utf-8": b64(b"\x80\x81"),
    "persian": "شیراز",
    "too long": b64json({"id": 7, "pad": "x" * 600}),
    "NaN": b64(b'{"id": NaN}'),
    "4301 digits": b64(b'{"id": ' + b"9" * 4301 + b"}"),
}


def _assert_refused(r: Any, url: str, param: str) -> None:
    assert r.status_code == 422, (url, param, r.status_code, r.text[:200])
    if r.headers["content-type"].startswith("application/json"):
        body = r.json()
        assert body["error"] == "invalid_cursor" and body["field"] == param, body
    elif url.startswith("/fa/"):  # the Farsi search page says it in Farsi (err.<code>)
        assert html.escape(translate("fa", "err.invalid_cursor")) in r.text
    else:  # the public search page shows the message in its form
        assert "pass the next_cursor of the previous page back unchanged" in r.text


@pytest.mark.parametrize("name", sorted(HOSTILE_CURSORS))
def test_hostile_cursors_are_422_invalid_cursor_naming_the_parameter(
    client: TestClient,
    demo: int,
    callers: dict[str, dict[str, str]],
    routes: list[tuple[str, str, str]],
    name: str,
) -> None:
    for url, param, rule in routes:
        r = client.get(url, params={param: HOSTILE_CURSORS[name]}, headers=callers[rule])
        _assert_refused(r, url, param)


def test_a_cursor_this_api_issued_still_pages(
    client: TestClient,
    demo: int,
    callers: dict[str, dict[str, str]],
    routes: list[tuple[str, str, str]],
) -> None:
    first = client.get("/api/v1/published?limit=100").json()
    rest = client.get("/api/v1/published", params={"cursor": first["next_cursor"]}).json()
    assert len(first["items"]) + len(rest["items"]) == 103
    last = b64json({"id": 2**31 - 1})  # the largest id is a cursor, past every row
    for url, param, rule in routes:
        r = client.get(url, params={param: last}, headers=callers[rule])
        assert r.status_code in (200, 404), (url, r.status_code, r.text[:200])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
cursors = st.one_of(
    json_values.map(b64json),
    st.fixed_dictionaries({"id": st.integers()}).map(b64json),
    st.binary(max_size=40).map(b64),
    st.text(max_size=60),
)


def test_arbitrary_base64_json_in_every_cursor_never_gives_a_5xx(
    client: TestClient,
    demo: int,
    callers: dict[str, dict[str, str]],
    routes: list[tuple[str, str, str]],
) -> None:
    @given(cursor=cursors)
    @HOSTILE
    def run(cursor: str) -> None:
        for url, param, rule in routes:
            r = client.get(url, params={param: cursor}, headers=callers[rule])
            assert r.status_code < 500, (url, param, cursor, r.text[:200])
            if r.status_code == 422 and r.headers["content-type"].startswith("application/"):
                assert r.json()["error"] == "invalid_cursor", r.text[:200]
            if r.status_code == 200 and "export" in url:
                assert r.text.startswith("code,") or r.text == "" or r.text.startswith("{")

    run()


@contextmanager
def statements() -> Iterator[list[str]]:
    from app.db import get_engine

    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_bad_cursor_runs_no_query_on_the_clips(
    client: TestClient,
    demo: int,
    callers: dict[str, dict[str, str]],
    routes: list[tuple[str, str, str]],
) -> None:
    """Validated before any SQL: only the caller's key may be looked up."""
    for url, param, rule in routes:
        with statements() as seen:
            r = client.get(url, params={param: HOSTILE_CURSORS["huge int"]}, headers=callers[rule])
        assert r.status_code == 422, url
        if url.endswith("/clips"):
            continue  # the search page's 422 shows its form, listing the provinces
        touching = [s for s in seen if re.search(r"\b(clip|place|public_change)\b", s)]
        assert not touching, (url, touching)


@pytest.mark.parametrize(
    "url,field",
    [
        ("/api/v1/published?limit=0", "limit"),
        ("/api/v1/published?limit=201", "limit"),
        ("/api/v1/published?limit=99999999999999999999999", "limit"),
        ("/api/v1/published?limit=1.5", "limit"),
        ("/api/v1/published?limit=true", "limit"),
        ("/api/v1/published?limit=%C2%B2", "limit"),
        ("/api/v1/changes?limit=-1", "limit"),
        ("/api/v1/changes?limit=501", "limit"),
        ("/api/v1/clips?limit=1e3", "limit"),
        ("/api/v1/review/queue?limit=0", "limit"),
        ("/api/v1/review/queue?offset=9223372036854775808", "offset"),
        ("/api/v1/review/queue?offset=-1", "offset"),
        ("/team/queue?offset=99999999999999999999", "offset"),
    ],
)
def test_hostile_limits_and_offsets_are_422_naming_the_parameter(
    client: TestClient,
    demo: int,
    callers: dict[str, dict[str, str]],
    routes: list[tuple[str, str, str]],
    url: str,
    field: str,
) -> None:
    r = client.get(url, headers=callers["partner_feed" if "changes" in url else "admin"])
    assert r.status_code == 422, (url, r.text[:200])
    assert r.json()["field"] == field


@pytest.mark.parametrize("export", ["/api/v1/export.csv", "/api/v1/export.ndjson"])
def test_an_export_with_a_bad_parameter_is_an_error_not_a_cut_stream(
    client: TestClient,
    demo: int,
    callers: dict[str, dict[str, str]],
    routes: list[tuple[str, str, str]],
    export: str,
) -> None:
    h = callers["partner_export"]
    for params in (
        {"cursor": HOSTILE_CURSORS["huge int"]},
        {"cursor": HOSTILE_CURSORS["null"]},
        {"on": "¹"},
        {"updated_since": "soon"},
    ):
        r = client.get(export, params=params, headers=h)
        assert r.status_code == 422 and r.headers["content-type"] == "application/json", params
    whole = client.get(export, headers=h)
    assert whole.status_code == 200
    lines = [line for line in whole.text.splitlines() if line]
    assert len(lines) == 103 + (1 if export.endswith("csv") else 0)
