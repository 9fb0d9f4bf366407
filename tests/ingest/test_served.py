"""Uploads to the real app served by uvicorn with `archive serve`'s HTTP protocol
(app/server.py), over loopback: what a client sees, byte for byte, on the wire."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from app.config import get_settings
from app.db import session_scope
from app.ingest.models import Media
from app.server import READ_BYTES
from tests.ingest.conftest import store_files, wait_for
from tests.media import ffmpeg
from tests.support import served


@pytest.fixture(scope="module")
def big_ts(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A valid MPEG-TS of several read buffers: a short noisy clip, repeated."""
    seed = tmp_path_factory.mktemp("served") / "seed.ts"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1,noise=alls=60:allf=t",
        "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-f", "mpegts", str(seed),
    )  # fmt: skip
    block = seed.read_bytes()
    block = block[: len(block) // 188 * 188]
    want = 5 * READ_BYTES
    return (block * (want // len(block) + 1))[: want // 188 * 188]


@pytest.fixture()
def base(db_url: str) -> Iterator[str]:
    from app.main import create_app

    with served(create_app(), lifespan="on") as url:
        yield url


def _media_root() -> Path:
    return Path(get_settings().media_root)


def _post(base: str, code: str, who: Any, content: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/clips/{code}/media",
        params={"filename": "big.ts"},
        content=content,
        headers={**who.headers, "Content-Type": "video/mp2t", **headers},
        timeout=120,
    )


def test_content_length_and_chunked_uploads_are_stored_intact(
    base: str, contributor: Any, new_clip: Any, big_ts: bytes
) -> None:
    first = big_ts
    second = big_ts[: len(big_ts) - 188 * 1000]  # other bytes, or it would be a duplicate
    r = _post(base, new_clip(), contributor, first)
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(first).hexdigest()
    assert r.json()["size"] == len(first)

    pieces = (second[i : i + 300_000] for i in range(0, len(second), 300_000))
    r = _post(base, new_clip(), contributor, pieces)  # no length: Transfer-Encoding chunked
    assert r.status_code == 201, r.text
    sha = hashlib.sha256(second).hexdigest()
    assert r.json()["sha256"] == sha and r.json()["via"] == "raw"
    stored = _media_root() / "originals" / sha[:2] / sha[2:4] / sha
    assert stored.read_bytes() == second
    assert store_files(_media_root())["tmp"] == []

    r = _post(base, new_clip(), contributor, first)  # the same bytes again, to another clip
    assert r.status_code == 409 and r.json()["error"] == "duplicate_media"


def test_a_client_that_disconnects_mid_body_leaves_no_temp_file(
    base: str, contributor: Any, new_clip: Any, big_ts: bytes
) -> None:
    code = new_clip()
    u = urlsplit(base)
    head = (
        f"POST /api/v1/clips/{code}/media?filename=cut.ts HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {contributor.headers['Authorization']}\r\n"
        f"Content-Type: video/mp2t\r\nContent-Length: {len(big_ts)}\r\n\r\n"
    ).encode()
    with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
        sock.sendall(head + big_ts[: 2 * READ_BYTES + 777])
        wait_for(lambda: store_files(_media_root())["tmp"])  # the upload is streaming
    wait_for(lambda: store_files(_media_root())["tmp"] == [])
    files = store_files(_media_root())
    assert files["originals"] == [] and files["uploads"] == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 0


def test_the_size_limit_bites_while_streaming_over_the_wire(
    base: str, contributor: Any, new_clip: Any, big_ts: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_MAX_UPLOAD_BYTES", str(READ_BYTES + 1))
    get_settings.cache_clear()
    pieces = (big_ts[i : i + 200_000] for i in range(0, len(big_ts), 200_000))
    r = _post(base, new_clip(), contributor, pieces)
    assert r.status_code == 413 and r.json()["error"] == "upload_too_large"
    files = store_files(_media_root())
    assert files["tmp"] == [] and files["originals"] == []
