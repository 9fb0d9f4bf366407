"""The partner API: list/detail, filters, keyset pages, ETag, scopes, limits, feed, exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.db import session_scope
from tests.public.conftest import Key, set_status


def _all_codes(client: TestClient, headers: dict[str, str], **params: str) -> list[str]:
    codes: list[str] = []
    cursor = None
    while True:
        q = {**params, "limit": "17", **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/published", params=q, headers=headers).json()
        codes += [c["code"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return codes


def test_list_pages_through_every_published_clip(
    client: TestClient, demo: int, full_key: Key, add_clip: Callable[..., str]
) -> None:
    hidden = add_clip(status="verified")
    codes = _all_codes(client, full_key.headers)
    assert len(codes) == len(set(codes)) == 103
    assert hidden not in codes


def test_filters(client: TestClient, demo: int, full_key: Key) -> None:
    h = full_key.headers
    shiraz = client.get("/api/v1/published?city=Shiraz&limit=200", headers=h).json()["items"]
    assert shiraz and {c["place"]["city"] for c in shiraz} == {"Shiraz"}
    fars = client.get("/api/v1/published?province=Fars&limit=200", headers=h).json()["items"]
    assert {c["place"]["province"] for c in fars} == {"Fars"} and len(fars) >= len(shiraz)
    on = client.get("/api/v1/published?on=2019-11-16&limit=200", headers=h).json()["items"]
    assert all(c["date"]["earliest"] <= "2019-11-16" <= c["date"]["latest"] for c in on)
    rng = client.get("/api/v1/published?from=2019-11-18&to=2019-11-19&limit=200", headers=h)
    assert all(
        c["date"]["earliest"] <= "2019-11-19" and c["date"]["latest"] >= "2019-11-18"
        for c in rng.json()["items"]
    )
    q = client.get("/api/v1/published?q=IRN091", headers=h).json()["items"]
    assert [c["code"] for c in q] == ["IRN091"]
    later = client.get("/api/v1/published?updated_since=2100-01-01T00:00:00Z", headers=h)
    assert later.json()["items"] == []
    assert len(_all_codes(client, h, updated_since="2000-01-01")) == 103


@pytest.mark.parametrize(
    "query,field",
    [
        ("on=yesterday", "on"),
        ("from=2019-11-20&to=2019-11-10", "from"),
        ("on=2019-11-16&from=2019-11-15", "on"),
        ("updated_since=soon", "updated_since"),
        ("cursor=%%%", "cursor"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    client: TestClient, demo: int, query: str, field: str
) -> None:
    r = client.get(f"/api/v1/published?{query}")
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_detail_and_404_for_unknown_or_unpublished(
    client: TestClient, demo: int, add_clip: Callable[..., str]
) -> None:
    r = client.get("/api/v1/published/IRN091")
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == "IRN091" and body["date"]["edtf"] == "2019-11-15/2019-11-23"
    assert set(body) >= {"place", "date", "media", "keyframes", "verification", "source"}
    assert "status" not in body and "created_by" not in body and "version" not in body
    draft = add_clip(status="draft")
    for code in (draft, "IRN999", "nonsense"):
        miss = client.get(f"/api/v1/published/{code}")
        assert miss.status_code == 404 and miss.json()["error"] == "not_found"


def test_etag_and_304(client: TestClient, demo: int, add_clip: Callable[..., str]) -> None:
    first = client.get("/api/v1/published?limit=5")
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public")
    again = client.get("/api/v1/published?limit=5", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    one = client.get("/api/v1/published/IRN091")
    assert (
        client.get("/api/v1/published/IRN091", headers={"If-None-Match": one.headers["etag"]})
    ).status_code == 304
    add_clip(title_en="new")  # changes the first page? no: new ids come last
    with session_scope() as session:
        from sqlalchemy import select

        from app.clips.models import Clip

        clip = session.scalar(select(Clip).order_by(Clip.id).limit(1))
        assert clip is not None
        clip.title_en = "edited"
    changed = client.get("/api/v1/published?limit=5", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_scopes_and_keys(
    client: TestClient, demo: int, make_key: Callable[..., Key], reviewer: object
) -> None:
    read_only = make_key("read")
    feed_only = make_key("feed")
    revoked = make_key("read", "export", "feed", revoked=True)
    assert client.get("/api/v1/published", headers=read_only.headers).status_code == 200
    assert client.get("/api/v1/published", headers=feed_only.headers).status_code == 403
    assert client.get("/api/v1/export.csv", headers=read_only.headers).status_code == 403
    assert client.get("/api/v1/changes", headers=read_only.headers).json()["error"] == (
        "missing_scope"
    )
    assert client.get("/api/v1/changes", headers=feed_only.headers).status_code == 200
    anon = client.get("/api/v1/export.ndjson")
    assert anon.status_code == 401 and anon.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/changes").status_code == 401
    team = client.get("/api/v1/export.csv", headers=reviewer.headers)  # type: ignore[attr-defined]
    assert team.status_code == 403
    gone = client.get("/api/v1/published", headers=revoked.headers)
    assert gone.status_code == 401 and gone.json()["error"] == "key_revoked"
    bogus = client.get("/api/v1/published", headers={"Authorization": "Bearer vak_nope"})
    assert bogus.status_code == 401
    in_url = client.get(f"/api/v1/published?api_key={read_only.plain}")
    assert in_url.status_code == 400 and in_url.json()["error"] == "key_in_query"
    assert read_only.plain not in in_url.text


def test_rate_limits(
    client: TestClient, demo: int, make_key: Callable[..., Key], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "partner_anonymous_rate_per_minute", 3)
    for _ in range(3):
        assert client.get("/api/v1/published?limit=1").status_code == 200
    limited = client.get("/api/v1/published?limit=1")
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    key = make_key("read", rate=5)
    statuses = [
        client.get("/api/v1/published?limit=1", headers=key.headers).status_code for _ in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    other = make_key("read", rate=5, partner="Other")
    assert client.get("/api/v1/published?limit=1", headers=other.headers).status_code == 200


def test_change_feed_sync(client: TestClient, full_key: Key, add_clip: Callable[..., str]) -> None:
    from sqlalchemy import select

    from app.clips.models import Clip

    h = full_key.headers
    a = add_clip(title_en="A")
    b = add_clip(title_en="B")
    draft = add_clip(status="draft", title_en="never public")
    page = client.get("/api/v1/changes", headers=h).json()
    assert [(e["kind"], e["code"]) for e in page["events"]] == [("published", a), ("published", b)]
    assert page["events"][0]["clip"]["title_en"] == "A" and page["has_more"] is False
    cursor = page["next_cursor"]
    empty = client.get("/api/v1/changes", params={"since": cursor}, headers=h).json()
    assert empty["events"] == [] and empty["next_cursor"] == cursor
    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == a))
        assert clip is not None
        clip.title_en = "A, corrected"
        hidden = session.scalar(select(Clip).where(Clip.code == draft))
        assert hidden is not None
        hidden.title_en = "still not public"
    set_status(b, "retracted")
    set_status(draft, "published")
    nxt = client.get("/api/v1/changes", params={"since": cursor}, headers=h).json()
    kinds = [(e["kind"], e["code"]) for e in nxt["events"]]
    assert kinds == [("updated", a), ("retracted", b), ("published", draft)]
    assert nxt["events"][0]["clip"]["title_en"] == "A, corrected"
    assert nxt["events"][1]["clip"] is None  # a tombstone carries nothing
    # small pages: the same events, in order, across calls
    seen, since = [], None
    while True:
        part = client.get(
            "/api/v1/changes", params={"limit": 2, **({"since": since} if since else {})}, headers=h
        ).json()
        seen += [(e["kind"], e["code"]) for e in part["events"]]
        since = part["next_cursor"]
        if not part["has_more"]:
            break
    assert seen == [("published", a), ("published", b), *kinds]


def test_exports_stream_every_published_clip(
    client: TestClient, demo: int, full_key: Key, add_clip: Callable[..., str]
) -> None:
    add_clip(status="in_review", title_en='=HYPERLINK("http://evil")')
    formula = add_clip(title_en="=cmd|' /C calc'!A0")
    nd = client.get("/api/v1/export.ndjson", headers=full_key.headers)
    assert nd.status_code == 200 and nd.headers["content-type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in nd.text.splitlines()]
    assert len(rows) == 104 and len({r["code"] for r in rows}) == 104
    assert "HYPERLINK" not in nd.text
    c = client.get("/api/v1/export.csv", headers=full_key.headers)
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(c.text)))
    assert len(table) == 104
    assert next(r for r in table if r["code"] == formula)["title_en"].startswith("'=")
    fars = client.get("/api/v1/export.csv?province=Fars", headers=full_key.headers)
    assert 0 < len(list(csv.DictReader(io.StringIO(fars.text)))) < 104


def test_cors_is_configurable(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient as TC

    from app.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("ARCHIVE_CORS_ORIGINS", '["https://partner.example"]')
    get_settings.cache_clear()
    with TC(create_app()) as c:
        r = c.get("/api/v1/published", headers={"Origin": "https://partner.example"})
        assert r.headers["access-control-allow-origin"] == "https://partner.example"
        assert "ETag" in r.headers["access-control-expose-headers"]
        other = c.get("/api/v1/published", headers={"Origin": "https://else.example"})
        assert "access-control-allow-origin" not in other.headers


def test_openapi_documents_the_partner_api_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/published", "/api/v1/published/{code}", "/api/v1/changes",
                 "/api/v1/export.ndjson", "/api/v1/export.csv"):  # fmt: skip
        assert path in spec["paths"], path
    assert "examples" in spec["components"]["schemas"]["ClipPublic"]
    assert "/" not in spec["paths"] and "/fa/cities" not in spec["paths"]
