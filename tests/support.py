"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, Route

# Framework routes that are public by design (documentation and static assets).
FRAMEWORK_PUBLIC = {"/openapi.json", "/api/docs", "/static"}


def iter_routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:  # FastAPI's included router wrapper
            yield from iter_routes(original.routes)
        else:
            yield route


def api_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in iter_routes(app.routes) if isinstance(r, APIRoute)]


def other_routes(app: FastAPI) -> list[Route | Mount]:
    return [
        r
        for r in iter_routes(app.routes)
        if isinstance(r, Route | Mount) and not isinstance(r, APIRoute)
    ]


def access_rules(route: APIRoute) -> list[str]:
    found: list[str] = []

    def walk(dependant: Any) -> None:
        rule = getattr(dependant.call, "access_rule", None)
        if rule is not None:
            found.append(rule)
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.dependant)
    return found
