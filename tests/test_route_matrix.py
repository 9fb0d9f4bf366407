"""Route x role matrix: every route of the app, called as six kinds of caller, with the
expected status in every cell.

A route that is not in ROUTES fails ``test_every_route_has_a_row`` until someone adds its
row (and a row whose route is gone fails too). Each row names the route's access rule, so
changing a route's rule without updating this table fails as well.

Columns: anonymous, partner key (read+export+feed), revoked partner key, contributor,
reviewer, admin. Team members authenticate with their personal token (Bearer vat_...).
Requests carry an empty JSON body (or the row's own body) so that an authorised write is
refused by validation (422) instead of changing state; destructive routes use a code that
does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from app.db import session_scope
from tests.support import access_rules

ROLES = ("anonymous", "partner", "revoked", "contributor", "reviewer", "admin")


@dataclass(frozen=True)
class Row:
    rule: str
    expect: tuple[int, int, int, int, int, int]
    path: str | None = None  # a concrete path overriding the default substitution
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def public(ok: int = 200, **kw: Any) -> Row:
    return Row("public", (ok, ok, 401, ok, ok, ok), **kw)


def team(ok: int = 200, **kw: Any) -> Row:
    return Row("team", (401, 401, 401, ok, ok, ok), **kw)


def reviewer(ok: int = 200, contributor: int = 403, **kw: Any) -> Row:
    return Row("reviewer", (401, 401, 401, contributor, ok, ok), **kw)


def admin(ok: int = 200, **kw: Any) -> Row:
    return Row("admin", (401, 401, 401, 403, 403, ok), **kw)


def cells(rule: str, *expect: int, **kw: Any) -> Row:
    assert len(expect) == 6
    return Row(rule, expect, **kw)  # type: ignore[arg-type]


NO_CLIP = "IRN999"
NO_ASSIGN = f"/api/v1/clips/{NO_CLIP}/assignment"
WEB_ASSIGN = f"/team/clips/{NO_CLIP}/assign"
WEB_RETRY = f"/team/clips/{NO_CLIP}/retry"
WEB_404 = (303, 303, 401, 404, 404, 404)

# fmt: off
ROUTES: dict[tuple[str, str], Row] = {
    # framework
    ("GET", "/openapi.json"): Row("framework", (200,) * 6),
    ("GET", "/api/docs"): Row("framework", (200,) * 6),
    ("GET", "/api/docs/assets"): Row(
        "framework", (200,) * 6, path="/api/docs/assets/swagger-ui-bundle.js"
    ),
    ("GET", "/static"): Row("framework", (200,) * 6, path="/static/style.css"),
    ("GET", "/healthz"): public(),
    # accounts
    ("POST", "/api/v1/auth/login"): public(422),
    ("POST", "/api/v1/auth/logout"): public(204),
    ("GET", "/api/v1/me"): team(),
    ("GET", "/api/v1/users"): admin(),
    ("POST", "/api/v1/users"): admin(422),
    ("PATCH", "/api/v1/users/{user_id}"): admin(422, body={"role": "nonsense"}),
    ("POST", "/api/v1/users/{user_id}/password-reset"): admin(
        404, path="/api/v1/users/999999/password-reset"
    ),
    ("POST", "/api/v1/auth/second-factor"): team(422),
    ("POST", "/api/v1/me/password"): team(422),
    ("POST", "/api/v1/me/two-factor"): team(200),
    ("POST", "/api/v1/me/two-factor/confirm"): team(422),
    ("GET", "/api/v1/me/sessions"): team(200),
    ("DELETE", "/api/v1/me/sessions"): team(200),
    ("DELETE", "/api/v1/me/sessions/{session_id}"): team(404),
    # catalogue (team)
    ("GET", "/api/v1/clips"): team(),
    ("POST", "/api/v1/clips"): team(422),
    ("GET", "/api/v1/clips/{code}"): team(),
    ("PATCH", "/api/v1/clips/{code}"): team(422),
    ("DELETE", "/api/v1/clips/{code}"): admin(404, path=f"/api/v1/clips/{NO_CLIP}"),
    ("GET", "/api/v1/places"): public(),
    # media, uploads, review (team)
    ("POST", "/api/v1/clips/{code}/media"): team(415),
    ("POST", "/api/v1/clips/{code}/corrections/footage"): team(415),
    ("GET", "/api/v1/clips/{code}/media"): team(404),
    ("GET", "/api/v1/clips/{code}/media/original"): team(404),
    ("GET", "/api/v1/clips/{code}/keyframes"): team(404),
    ("GET", "/api/v1/clips/{code}/keyframes/{position}/image"): team(404),
    ("GET", "/api/v1/clips/{code}/keyframes/{position}/thumbnail"): team(404),
    ("GET", "/api/v1/clips/{code}/poster"): team(404),
    ("GET", "/api/v1/clips/{code}/contact-sheet"): team(404),
    ("GET", "/api/v1/clips/{code}/processing"): team(200),
    ("POST", "/api/v1/clips/{code}/processing/retry"): team(409),
    ("OPTIONS", "/api/v1/uploads"): public(204),
    ("POST", "/api/v1/uploads"): team(412),
    ("HEAD", "/api/v1/uploads/{upload_id}"): team(404),
    ("PATCH", "/api/v1/uploads/{upload_id}"): team(412),
    ("DELETE", "/api/v1/uploads/{upload_id}"): team(412),
    ("GET", "/api/v1/clips/{code}/transitions"): team(200),
    ("POST", "/api/v1/clips/{code}/transitions"): team(422),
    ("POST", "/api/v1/clips/{code}/approvals"): reviewer(409),
    ("GET", "/api/v1/clips/{code}/checklist"): team(200),
    ("POST", "/api/v1/clips/{code}/corrections"): team(422),
    ("GET", "/api/v1/clips/{code}/corrections"): team(200),
    ("GET", "/api/v1/clips/{code}/corrections/{correction_id:int}"): team(404),
    ("POST", "/api/v1/clips/{code}/corrections/{correction_id:int}/checklist/{key}"): reviewer(404),
    ("POST", "/api/v1/clips/{code}/corrections/{correction_id:int}/approvals"): reviewer(404),
    ("POST", "/api/v1/clips/{code}/corrections/{correction_id:int}/rejection"): reviewer(404),
    ("PUT", "/api/v1/clips/{code}/checklist/{key}"): reviewer(422),
    ("GET", "/api/v1/review/checklist-items"): team(200),
    ("POST", "/api/v1/review/checklist-items"): admin(422),
    ("DELETE", "/api/v1/review/checklist-items/{key}"): admin(422),
    ("GET", "/api/v1/clips/{code}/comments"): team(200),
    ("POST", "/api/v1/clips/{code}/comments"): team(422),
    ("PATCH", "/api/v1/clips/{code}/comments/{comment_id}"): team(422),
    ("GET", "/api/v1/clips/{code}/blur-regions"): team(200),
    ("POST", "/api/v1/clips/{code}/blur-regions"): reviewer(422),
    ("DELETE", "/api/v1/clips/{code}/blur-regions/{region_id}"): reviewer(
        404, path=f"/api/v1/clips/{NO_CLIP}/blur-regions/1"
    ),
    ("POST", "/api/v1/clips/{code}/public-preview"): team(202),
    ("GET", "/api/v1/clips/{code}/public-preview/playback.mp4"): team(404),
    ("GET", "/api/v1/clips/{code}/public-preview/poster.jpg"): team(404),
    ("GET", "/api/v1/clips/{code}/public-preview/keyframes/{position}.jpg"): team(404),
    ("POST", "/api/v1/clips/{code}/assignment"): reviewer(404, path=NO_ASSIGN),
    ("DELETE", "/api/v1/clips/{code}/assignment"): reviewer(404, path=NO_ASSIGN),
    ("GET", "/api/v1/review/queue"): team(200),
    ("GET", "/api/v1/clips/{code}/custody"): team(200),
    # near-duplicates
    ("GET", "/api/v1/clips/{code}/duplicates"): team(200),
    ("POST", "/api/v1/clips/{code}/duplicates/{other}/decision"): reviewer(422),
    # custody log proofs (the matrix's world has no checkpoint yet)
    ("GET", "/api/v1/custody/checkpoint"): public(404),
    ("GET", "/api/v1/custody/consistency"): public(path="/api/v1/custody/consistency?from=0&to=0"),
    ("GET", "/api/v1/custody/inclusion"): team(404, path="/api/v1/custody/inclusion?event=99999"),
    ("GET", "/.well-known/archive-log-key"): public(),
    ("GET", "/api/v1/clips/{code}/evidence.tar"): team(200),
    # search by image (team): an empty body names what is missing
    ("POST", "/api/v1/search/image"): team(422),
    # partner API
    ("GET", "/api/v1/published"): cells("partner_read", 200, 200, 401, 200, 200, 200),
    ("GET", "/api/v1/published/{code}"): cells("partner_read", 200, 200, 401, 200, 200, 200),
    ("GET", "/api/v1/changes"): cells("partner_feed", 401, 200, 401, 403, 403, 403),
    ("GET", "/api/v1/export.ndjson"): cells("partner_export", 401, 200, 401, 403, 403, 403),
    ("GET", "/api/v1/export.csv"): cells("partner_export", 401, 200, 401, 403, 403, 403),
    # public site, English and Farsi
    ("GET", "/"): public(),
    ("GET", "/fa/"): public(),
    ("GET", "/cities"): public(),
    ("GET", "/map"): public(),
    ("GET", "/fa/map"): public(),
    ("GET", "/fa/cities"): public(),
    ("GET", "/cities/{slug}"): public(),
    ("GET", "/fa/cities/{slug}"): public(),
    ("GET", "/clips"): public(),
    ("GET", "/fa/clips"): public(),
    ("GET", "/clips/{code}"): public(),
    ("GET", "/fa/clips/{code}"): public(),
    ("GET", "/content-warning"): public(),
    ("GET", "/fa/content-warning"): public(),
    ("POST", "/content-warning"): public(303),
    ("POST", "/fa/content-warning"): public(303),
    ("GET", "/clips/{code}/playback.mp4"): public(404),  # the published clip has no media
    ("GET", "/clips/{code}/poster.jpg"): public(404),
    ("GET", "/clips/{code}/keyframes/{position}.jpg"): public(404),
    ("GET", "/iiif/{code}/manifest.json"): public(404),
    ("GET", "/sitemap.xml"): public(),
    ("GET", "/sitemap-pages.xml"): public(),
    ("GET", "/sitemap-clips-{part}.xml"): public(),
    ("GET", "/robots.txt"): public(),
    # log-in pages and the team interface (HTML: anonymous callers are sent to /login)
    ("GET", "/login"): cells("public", 200, 200, 401, 303, 303, 303),
    ("GET", "/fa/login"): cells("public", 200, 200, 401, 303, 303, 303),
    ("POST", "/login"): public(422),
    ("POST", "/fa/login"): public(422),
    ("GET", "/logout"): cells("public", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/logout"): cells("public", 303, 303, 401, 200, 200, 200),
    ("POST", "/logout"): public(303),
    ("POST", "/fa/logout"): public(303),
    ("GET", "/login/code"): cells("team", 303, 303, 401, 303, 303, 303),
    ("GET", "/fa/login/code"): cells("team", 303, 303, 401, 303, 303, 303),
    ("POST", "/login/code"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/fa/login/code"): cells("team", 303, 303, 401, 422, 422, 422),
    ("GET", "/team/account"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/team/account"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/team/account/password"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/team/account/password"): cells("team", 303, 303, 401, 200, 200, 200),
    ("POST", "/team/account/password"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/fa/team/account/password"): cells("team", 303, 303, 401, 422, 422, 422),
    ("GET", "/team/account/two-factor"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/team/account/two-factor"): cells("team", 303, 303, 401, 200, 200, 200),
    ("POST", "/team/account/two-factor"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/fa/team/account/two-factor"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/team/account/sessions/end-all"): cells("team", 303, 303, 401, 303, 303, 303),
    ("POST", "/fa/team/account/sessions/end-all"): cells("team", 303, 303, 401, 303, 303, 303),
    ("POST", "/team/account/sessions/{session_id}/end"): cells("team", *WEB_404),
    ("POST", "/fa/team/account/sessions/{session_id}/end"): cells("team", *WEB_404),
    ("POST", "/team/admin/users/{user_id}/password-reset"): cells(
        "admin", 303, 303, 401, 403, 403, 404, path="/team/admin/users/999999/password-reset"
    ),
    ("POST", "/fa/team/admin/users/{user_id}/password-reset"): cells(
        "admin", 303, 303, 401, 403, 403, 404, path="/fa/team/admin/users/999999/password-reset"
    ),
    ("GET", "/team"): cells("team", 303, 303, 401, 308, 308, 308),
    ("GET", "/fa/team"): cells("team", 303, 303, 401, 308, 308, 308),
    ("GET", "/team/"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/team/"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/team/queue"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/team/queue"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/team/mine"): cells("team", 303, 303, 401, 303, 303, 303),
    ("GET", "/fa/team/mine"): cells("team", 303, 303, 401, 303, 303, 303),
    ("GET", "/team/clips/{code}"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/team/clips/{code}"): cells("team", 303, 303, 401, 200, 200, 200),
    ("POST", "/team/clips/{code}/transition"): cells("team", 303, 303, 401, 409, 409, 409),
    ("POST", "/fa/team/clips/{code}/transition"): cells("team", 303, 303, 401, 409, 409, 409),
    ("POST", "/team/clips/{code}/approve"): cells("team", 303, 303, 401, 403, 409, 409),
    ("POST", "/fa/team/clips/{code}/approve"): cells("team", 303, 303, 401, 403, 409, 409),
    ("POST", "/team/clips/{code}/assign"): cells("team", *WEB_404, path=WEB_ASSIGN),
    ("POST", "/fa/team/clips/{code}/assign"): cells("team", *WEB_404, path="/fa" + WEB_ASSIGN),
    ("POST", "/team/clips/{code}/retry"): cells("team", *WEB_404, path=WEB_RETRY),
    ("POST", "/team/clips/{code}/duplicates/{other}/decision"): cells(
        "team", 303, 303, 401, 403, 422, 422
    ),
    ("POST", "/fa/team/clips/{code}/duplicates/{other}/decision"): cells(
        "team", 303, 303, 401, 403, 422, 422
    ),
    ("POST", "/fa/team/clips/{code}/retry"): cells("team", *WEB_404, path="/fa" + WEB_RETRY),
    ("POST", "/team/clips/{code}/checklist/{key}"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/fa/team/clips/{code}/checklist/{key}"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/team/clips/{code}/comments"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/team/clips/{code}/blur-regions"): cells("team", 303, 303, 401, 403, 422, 422),
    ("POST", "/team/clips/{code}/blur-regions/{region_id}/delete"): cells(
        "team", *WEB_404, path=f"/team/clips/{NO_CLIP}/blur-regions/1/delete"
    ),
    ("POST", "/team/clips/{code}/public-preview"): cells("team", 303, 303, 401, 303, 303, 303),
    ("POST", "/fa/team/clips/{code}/blur-regions"): cells("team", 303, 303, 401, 403, 422, 422),
    ("POST", "/fa/team/clips/{code}/blur-regions/{region_id}/delete"): cells(
        "team", *WEB_404, path=f"/fa/team/clips/{NO_CLIP}/blur-regions/1/delete"
    ),
    ("POST", "/fa/team/clips/{code}/public-preview"): cells("team", 303, 303, 401, 303, 303, 303),
    ("POST", "/fa/team/clips/{code}/comments"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/team/clips/{code}/edit"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/team/clips/{code}/corrections"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/fa/team/clips/{code}/corrections"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/team/clips/{code}/corrections/footage"): cells(
        "team", 303, 303, 401, 415, 415, 415
    ),
    ("POST", "/fa/team/clips/{code}/corrections/footage"): cells(
        "team", 303, 303, 401, 415, 415, 415
    ),
    ("POST", "/team/clips/{code}/corrections/{correction_id}"): cells(
        "team", 303, 303, 401, 403, 404, 404
    ),
    ("POST", "/fa/team/clips/{code}/corrections/{correction_id}"): cells(
        "team", 303, 303, 401, 403, 404, 404
    ),
    ("POST", "/fa/team/clips/{code}/edit"): cells("team", 303, 303, 401, 422, 422, 422),
    ("GET", "/team/admin/users"): cells("admin", 303, 303, 401, 403, 403, 200),
    ("GET", "/fa/team/admin/users"): cells("admin", 303, 303, 401, 403, 403, 200),
    ("POST", "/team/admin/users"): cells("admin", 303, 303, 401, 403, 403, 422),
    ("POST", "/fa/team/admin/users"): cells("admin", 303, 303, 401, 403, 403, 422),
    ("POST", "/team/admin/users/{user_id}"): cells("admin", 303, 303, 401, 403, 403, 422),
    ("POST", "/fa/team/admin/users/{user_id}"): cells("admin", 303, 303, 401, 403, 403, 422),
    ("GET", "/team/admin/keys"): cells("admin", 303, 303, 401, 403, 403, 200),
    ("GET", "/fa/team/admin/keys"): cells("admin", 303, 303, 401, 403, 403, 200),
    ("POST", "/team/admin/keys"): cells("admin", 303, 303, 401, 403, 403, 422),
    ("POST", "/fa/team/admin/keys"): cells("admin", 303, 303, 401, 403, 403, 422),
    ("POST", "/team/admin/keys/{key_id}/revoke"): cells("admin", 303, 303, 401, 403, 403, 404),
    ("POST", "/fa/team/admin/keys/{key_id}/revoke"): cells("admin", 303, 303, 401, 403, 403, 404),
    ("GET", "/team/admin/checklist"): cells("admin", 303, 303, 401, 403, 403, 200),
    ("GET", "/fa/team/admin/checklist"): cells("admin", 303, 303, 401, 403, 403, 200),
    ("POST", "/team/admin/checklist"): cells("admin", 303, 303, 401, 403, 403, 422),
    ("POST", "/fa/team/admin/checklist"): cells("admin", 303, 303, 401, 403, 403, 422),
    ("GET", "/team/search/image"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/team/search/image"): cells("team", 303, 303, 401, 200, 200, 200),
    ("POST", "/team/search/image"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/fa/team/search/image"): cells("team", 303, 303, 401, 422, 422, 422),
    ("GET", "/team/upload"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/team/upload"): cells("team", 303, 303, 401, 200, 200, 200),
    ("POST", "/team/upload"): cells("team", 303, 303, 401, 422, 422, 422),
    ("POST", "/fa/team/upload"): cells("team", 303, 303, 401, 422, 422, 422),
    ("GET", "/team/upload/{code}"): cells("team", 303, 303, 401, 200, 200, 200),
    ("GET", "/fa/team/upload/{code}"): cells("team", 303, 303, 401, 200, 200, 200),
}
# fmt: on


def iter_routes(app: Any) -> Iterator[tuple[str, str, Any]]:
    """(method, full path, route) for every route, prefixes of included routers applied."""

    def walk(routes: list[Any]) -> Iterator[tuple[str, str, Any]]:
        for r in routes:
            if hasattr(r, "effective_route_contexts"):
                for ctx in r.effective_route_contexts():
                    for m in sorted(ctx.methods or []):
                        yield m, ctx.path, ctx.original_route
            elif isinstance(r, APIRoute | Route):
                for m in sorted(r.methods or []):
                    if m != "HEAD" or r.methods == {"HEAD"}:
                        yield m, r.path, r
            elif isinstance(r, Mount):
                yield "GET", r.path, r

    yield from walk(app.routes)


def rule_of(route: Any) -> str:
    if isinstance(route, APIRoute):
        rules = sorted(set(access_rules(route)))
        return rules[0] if len(rules) == 1 else "+".join(rules) or "none"
    return "framework"


@pytest.fixture()
def app_routes(db_url: str) -> list[tuple[str, str, Any]]:
    from app.main import create_app

    return list(iter_routes(create_app()))


def test_every_route_has_a_row(app_routes: list[tuple[str, str, Any]]) -> None:
    present = {(m, p) for m, p, _ in app_routes}
    missing = sorted(present - set(ROUTES))
    stale = sorted(set(ROUTES) - present)
    assert not missing, "routes without a row in tests/test_route_matrix.py: " + ", ".join(
        f"{m} {p}" for m, p in missing
    )
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_every_row_names_the_routes_access_rule(app_routes: list[tuple[str, str, Any]]) -> None:
    wrong = [
        f"{m} {p}: route has {rule_of(r)!r}, row says {ROUTES[(m, p)].rule!r}"
        for m, p, r in app_routes
        if (m, p) in ROUTES and rule_of(r) != ROUTES[(m, p)].rule
    ]
    assert not wrong, wrong


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    values: dict[str, str]


@pytest.fixture()
def world(db_url: str, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    from app.clips import service as clips
    from app.clips.schemas import ClipCreate
    from app.config import get_settings
    from app.partners import service as partners

    monkeypatch.setenv("ARCHIVE_PARTNER_ANONYMOUS_RATE_PER_MINUTE", "100000")
    get_settings.cache_clear()
    members = {role: make_user(role) for role in ("contributor", "reviewer", "admin")}
    with session_scope() as session:
        p = partners.get_or_create_partner(session, "Matrix")
        _, good = partners.create_key(session, p, ["read", "export", "feed"], 100000, actor="t")
        bad, revoked = partners.create_key(session, p, ["read", "export", "feed"], actor="t")
        partners.revoke_key(session, bad.id, actor="t")
        clip = clips.create(
            session,
            ClipCreate(city="Shiraz", province="Fars", date="16 Nov 2019", title_en="Matrix"),
            actor="test",
            user_id=members["contributor"].id,
            status="published",
        )
        code = clip.code
    headers = {
        "anonymous": {},
        "partner": {"Authorization": f"Bearer {good}"},
        "revoked": {"Authorization": f"Bearer {revoked}"},
        **{role: m.headers for role, m in members.items()},
    }
    values = {
        "code": code,
        "slug": "shiraz",
        "position": "0",
        "user_id": str(members["contributor"].id),
        "comment_id": "999999",
        "correction_id": "999999",
        "session_id": "999999",
        "key": "no-such-item",
        "key_id": "999999",
        "upload_id": "0" * 32,
        "part": "1",
        "other": "IRN998",
    }
    return World(headers, values)


def _concrete(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = re.sub(r"\{" + name + r"(:\w+)?\}", value, path)
    assert "{" not in path, f"no value for a parameter in {path}"
    return path


def test_every_cell(app: Any, world: World) -> None:
    from fastapi.testclient import TestClient

    failures: list[str] = []
    with TestClient(app) as client:
        for (method, template), row in ROUTES.items():
            url = row.path or _concrete(template, world.values)
            for role, expected in zip(ROLES, row.expect, strict=True):
                headers = {**world.headers[role], **row.headers}
                kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
                if method in ("POST", "PUT", "PATCH"):
                    kwargs["json"] = row.body
                r = client.request(method, url, **kwargs)
                if r.status_code != expected:
                    failures.append(f"{method} {url} as {role}: {r.status_code} != {expected}")
    assert not failures, "\n".join(failures)
