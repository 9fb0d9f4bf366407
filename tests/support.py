"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, Route

# Framework routes that are public by design (documentation and static assets).
FRAMEWORK_PUBLIC = {"/openapi.json", "/api/docs", "/api/docs/assets", "/static"}


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


@contextmanager
def served(asgi_app: Any, *, loop: str = "uvloop", lifespan: str = "off") -> Iterator[str]:
    """Serve ``asgi_app`` with uvicorn and the HTTP protocol `archive serve` uses
    (``app.server``), in a thread on a free loopback port; yields the base URL."""
    import socket
    import threading
    import time

    import uvicorn

    from app.server import HTTP_PROTOCOL

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        asgi_app, loop=loop, http=HTTP_PROTOCOL, lifespan=lifespan, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
