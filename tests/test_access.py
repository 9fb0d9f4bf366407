"""Deny by default: every route declares exactly one access rule."""

from __future__ import annotations

from app.main import create_app
from tests.support import FRAMEWORK_PUBLIC, access_rules, api_routes, other_routes


def test_every_api_route_declares_exactly_one_access_rule(db_url: str) -> None:
    app = create_app()
    routes = api_routes(app)
    assert len(routes) > 5
    missing = [f"{sorted(r.methods)} {r.path}" for r in routes if not access_rules(r)]
    assert not missing, f"routes without an access rule: {missing}"
    several = [f"{r.path}: {access_rules(r)}" for r in routes if len(set(access_rules(r))) > 1]
    assert not several, f"routes with conflicting access rules: {several}"


def test_non_api_routes_are_only_the_known_public_framework_ones(db_url: str) -> None:
    app = create_app()
    unknown = [r.path for r in other_routes(app) if r.path not in FRAMEWORK_PUBLIC]
    assert not unknown, f"routes outside the access-rule system: {unknown}"


def test_a_route_without_a_rule_is_caught(db_url: str) -> None:
    app = create_app()

    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    assert any(not access_rules(r) for r in api_routes(app))
