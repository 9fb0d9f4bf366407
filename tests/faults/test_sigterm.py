"""SIGTERM while an upload streams in: the server stops taking new connections but drains
the upload to a clean 201; or, when the client gives up, a clean failure with nothing
recorded. Then it exits, and the restarted app finds everything consistent."""

from __future__ import annotations

import hashlib
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.faults.conftest import MiB, counts, findings, restarted, ts_bytes
from tests.faults.upload import new_clip, send

pytestmark = pytest.mark.slow


def test_sigterm_mid_upload_drains_it_to_a_201(
    server_factory: Any, contributor: Any, tmp_path: Path
) -> None:
    data = ts_bytes(tmp_path, 4 * MiB)
    server = server_factory().start()
    assert server.proc is not None
    with httpx.Client(base_url=server.base, timeout=60) as http:
        code = new_clip(http, contributor)

        def body() -> Iterator[bytes]:
            for i in range(0, len(data), 256 * 1024):
                if i == MiB:
                    server.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
                    time.sleep(0.5)  # the server is shutting down while the rest arrives
                yield data[i : i + 256 * 1024]

        r = send(http, contributor, code, body(), "raw")
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert server.wait_dead() in (0, -signal.SIGTERM)  # then it exits (uvicorn re-raises it)
    with restarted():
        assert counts() == {"media": 1, "jobs": 1, "ingested": 1}
        assert findings() == []


def test_sigterm_then_the_client_gives_up_leaves_nothing(
    server_factory: Any, contributor: Any, tmp_path: Path
) -> None:
    data = ts_bytes(tmp_path, 4 * MiB)
    server = server_factory().start()
    assert server.proc is not None
    with httpx.Client(base_url=server.base, timeout=60) as http:
        code = new_clip(http, contributor)
    u = urlsplit(server.base)
    head = (
        f"POST /api/v1/clips/{code}/media HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {contributor.headers['Authorization']}\r\n"
        f"Content-Type: video/mp2t\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
        sock.sendall(head + data[:MiB])
        time.sleep(0.5)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # ... and the client never sends the rest
    assert server.wait_dead() in (0, -signal.SIGTERM)
    with restarted():
        assert counts() == {"media": 0, "jobs": 0, "ingested": 0}
        assert findings() == []
