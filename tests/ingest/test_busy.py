"""A busy server turns readers away with 503, never an upload (issue 11 §1)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.config import get_settings
from tests.support import served


def _admission(app: Any) -> Any:
    from app.kit.overload import Admission

    layer = app.middleware_stack
    while not isinstance(layer, Admission):
        layer = layer.app
    return layer


def _stalled_request(base: str) -> socket.socket:
    """A JSON POST whose body never finishes: it holds its slot and no database work."""
    u = urlsplit(base)
    sock = socket.create_connection((u.hostname, u.port))
    head = (
        f"POST /api/v1/clips HTTP/1.1\r\nHost: {u.netloc}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    sock.sendall(head.encode())
    return sock


def test_an_upload_is_never_turned_away_when_the_server_is_busy(
    db_url: str,
    new_clip: Callable[..., str],
    contributor: Any,
    phone_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = new_clip()
    monkeypatch.setenv("ARCHIVE_THREADS", "2")
    monkeypatch.setenv("ARCHIVE_OVERLOAD_WAIT_SECONDS", "0.5")
    get_settings.cache_clear()
    from app.main import create_app

    app = create_app()
    with served(app) as base:
        assert httpx.get(f"{base}/healthz").status_code == 200  # builds the middleware stack
        holders = [_stalled_request(base) for _ in range(2)]
        try:
            deadline = time.monotonic() + 20
            while _admission(app).inside < 2:
                assert time.monotonic() < deadline, "the stalled requests never got in"
                time.sleep(0.02)
            busy = httpx.get(f"{base}/api/v1/published", timeout=20)
            up = httpx.post(
                f"{base}/api/v1/clips/{code}/media",
                params={"filename": "phone.mp4"},
                content=phone_clip.read_bytes(),
                headers={**contributor.headers, "Content-Type": "video/mp4"},
                timeout=60,
            )
        finally:
            for s in holders:
                s.close()
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert up.status_code == 201, up.text
        r = httpx.get(f"{base}/api/v1/clips/{code}/media", headers=contributor.headers)
        assert r.status_code == 200 and r.json()["size"] == phone_clip.stat().st_size
