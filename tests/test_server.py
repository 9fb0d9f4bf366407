"""The HTTP protocol `archive serve` runs (app/server.py) on a real uvicorn server, under
uvloop and under the plain asyncio loop: bodies arrive intact, reads go into the reused
buffer, keep-alive and pipelining work, memory stays bounded when the app is slow."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app import server as server_mod
from app.server import HTTP_PROTOCOL, READ_BYTES, BufferedHttpToolsProtocol, _Body
from tests.support import served

LOOPS = ["uvloop", "asyncio"]
MAX_MESSAGE = READ_BYTES + 64 * 1024  # one read on top of what uvicorn lets wait unpaused


class HashApp:
    """Hashes each request body; answers with what it saw, one JSON object per request."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        h = hashlib.sha256()
        size = messages = biggest = 0
        kinds = set()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            kinds.add(type(body).__name__)
            h.update(body)
            size += len(body)
            messages += 1
            biggest = max(biggest, len(body))
            if self.delay:
                await asyncio.sleep(self.delay)
            if not message.get("more_body"):
                break
        out = json.dumps(
            {
                "path": scope["path"],
                "sha256": h.hexdigest(),
                "size": size,
                "messages": messages,
                "biggest": biggest,
                "kinds": sorted(kinds),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(out)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": out})


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(12 * READ_BYTES + 12345)  # several read buffers, not a multiple


@pytest.fixture()
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes passed to ``buffer_updated``: the reads that went into our buffer."""
    seen: list[int] = []
    original = BufferedHttpToolsProtocol.buffer_updated

    def counting(self: BufferedHttpToolsProtocol, nbytes: int) -> None:
        seen.append(nbytes)
        original(self, nbytes)

    monkeypatch.setattr(BufferedHttpToolsProtocol, "buffer_updated", counting)
    return seen


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("loop", LOOPS)
def test_content_length_and_chunked_bodies_arrive_intact_through_the_buffer(
    loop: str, payload: bytes, reads: list[int]
) -> None:
    sha = hashlib.sha256(payload).hexdigest()
    with served(HashApp(), loop=loop) as base:
        r = httpx.post(base + "/raw", content=payload, timeout=60)
        got = r.json()
        assert r.status_code == 200 and got["sha256"] == sha and got["size"] == len(payload)
        assert got["kinds"] == ["bytes"]  # ASGI bodies stay bytes
        assert got["biggest"] <= MAX_MESSAGE
        # every byte came through buffer_updated: the loop used the buffered interface
        # (uvloop silently falls back to data_received for asyncio.Protocol subclasses)
        assert sum(reads) >= len(payload)

        n = len(reads)
        r = httpx.post(base + "/chunked", content=_pieces(payload, 100_000), timeout=60)
        got = r.json()
        assert r.status_code == 200 and got["sha256"] == sha and got["size"] == len(payload)
        assert sum(reads[n:]) > len(payload)  # the chunk framing came through the buffer too


@pytest.mark.parametrize("loop", LOOPS)
def test_keep_alive_and_pipelined_requests(loop: str) -> None:
    bodies = [b"", os.urandom(3 * READ_BYTES // 2), b"x" * 10]
    with served(HashApp(), loop=loop) as base:
        u = urlsplit(base)
        raw = b"".join(
            f"POST /p{i} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(b)}\r\n\r\n".encode() + b
            for i, b in enumerate(bodies)
        )
        with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
            sock.sendall(raw)  # all three at once, in one stream
            answers = _read_responses(sock, len(bodies))
            # the connection stays open for a fourth request
            sock.sendall(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
            answers += _read_responses(sock, 1)
    assert [a["path"] for a in answers] == ["/p0", "/p1", "/p2", "/after"]
    for a, b in zip(answers, [*bodies, b""], strict=True):
        assert a["sha256"] == hashlib.sha256(b).hexdigest() and a["size"] == len(b)


def _read_responses(sock: socket.socket, count: int) -> list[dict[str, Any]]:
    """Read ``count`` HTTP/1.1 responses with Content-Length bodies off ``sock``."""
    buf = b""
    out: list[dict[str, Any]] = []
    while len(out) < count:
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buf[:head_end].decode("latin-1").split("\r\n")
            assert head[0].startswith("HTTP/1.1 200"), head
            length = next(
                int(line.split(":", 1)[1])
                for line in head
                if line.lower().startswith("content-length")
            )
            start = head_end + 4
            if len(buf) >= start + length:
                out.append(json.loads(buf[start : start + length]))
                buf = buf[start + length :]
                continue
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        buf += data
    return out


@pytest.mark.parametrize("loop", LOOPS)
def test_a_slow_app_gets_bounded_chunks_and_memory_stays_flat(loop: str, reads: list[int]) -> None:
    """32 read buffers' worth (128 MiB) to an app that dawdles on each message: reading
    pauses (uvicorn's flow control still works with the buffered protocol), so no message
    exceeds one read buffer and the server holds a few of them, whatever the body's size."""
    piece = os.urandom(256 * 1024)
    count = 32 * READ_BYTES // len(piece)
    h = hashlib.sha256()
    for _ in range(count):
        h.update(piece)
    with served(HashApp(delay=0.005), loop=loop) as base:
        tracemalloc.start()  # the server thread's allocations and the client's
        try:
            r = httpx.post(
                base + "/slow",
                content=(piece for _ in range(count)),
                headers={"Content-Length": str(len(piece) * count)},
                timeout=120,
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    got = r.json()
    assert got["sha256"] == h.hexdigest() and got["size"] == len(piece) * count
    assert got["biggest"] <= MAX_MESSAGE and got["messages"] >= count * len(piece) // READ_BYTES
    assert max(reads) <= READ_BYTES
    body_mib = len(piece) * count / 2**20
    assert peak < 5 * READ_BYTES, f"peak traced memory {peak / 2**20:.1f} MiB, {body_mib} MiB body"


@pytest.mark.parametrize("loop", LOOPS)
def test_malformed_requests_still_get_400(loop: str) -> None:
    with served(HashApp(), loop=loop) as base:
        u = urlsplit(base)
        with socket.create_connection((u.hostname, u.port), timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 400") and b"Invalid HTTP request" in reply


def test_one_read_buffer_per_thread_is_reused() -> None:
    buf = server_mod._read_buffer()
    assert len(buf) == READ_BYTES and server_mod._read_buffer() is buf
    assert not isinstance(
        BufferedHttpToolsProtocol.__new__(BufferedHttpToolsProtocol), asyncio.Protocol
    )


def test_body_hands_a_lone_chunk_over_without_copying() -> None:
    body = _Body()
    chunk = b"a" * 1000
    body += chunk
    assert len(body) == 1000 and bytes(body) is chunk
    body += b""
    body += b"bc"
    assert len(body) == 1002 and bytes(body) == chunk + b"bc"
    assert bytes(_Body()) == b"" and bytes(_Body(bytearray(b"xy"))) == b"xy"


@pytest.mark.parametrize(
    ("setting", "http", "tuned"), [(None, HTTP_PROTOCOL, True), ("uvicorn", "auto", False)]
)
def test_archive_serve_runs_the_protocol_the_setting_names(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, http: str, tuned: bool
) -> None:
    import uvicorn
    from typer.testing import CliRunner
    from uvicorn.importer import import_from_string

    from app.cli import app as cli
    from app.config import get_settings

    if setting:
        monkeypatch.setenv("ARCHIVE_HTTP_PROTOCOL", setting)
    get_settings.cache_clear()
    seen: dict[str, Any] = {}
    calls: list[bool] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(server_mod, "tune_malloc", lambda: calls.append(True) or True)
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert seen["port"] == 8123 and seen["http"] == http and seen["proxy_headers"] is True
    assert calls == ([True] if tuned else [])  # the malloc tuning happens in serve() only
    assert import_from_string(HTTP_PROTOCOL) is BufferedHttpToolsProtocol


def test_a_protocol_the_setting_does_not_know_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from app.config import get_settings

    monkeypatch.setenv("ARCHIVE_HTTP_PROTOCOL", "h2")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="http_protocol"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_the_bench_serves_like_archive_serve() -> None:
    bench = Path(__file__).resolve().parents[1] / "bench" / "_common.py"
    text = bench.read_text()
    assert '"app.cli", "serve"' in text and 'http: str = "buffered"' in text


FAULTS_SCRIPT = """
import resource, os, sys
from collections import deque
if sys.argv[1] in ("serving", "imported"):
    from uvicorn.importer import import_from_string
    from app.server import HTTP_PROTOCOL
    import_from_string(HTTP_PROTOCOL)  # what uvicorn does in the serving process
if sys.argv[1] == "serving":
    import app.server
    assert app.server.tune_malloc()  # what serve() does before uvicorn starts
src = os.urandom(1024 * 1024 + 4096)
window = deque()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(512):  # 512 MiB of body chunks, a dozen alive at a time, as in an upload
    window.append(src[i % 7 :])
    if len(window) > 12:
        window.popleft()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_a_serving_process_reuses_freed_body_chunks_instead_of_faulting_in_new_pages(
    tmp_path: Path,
) -> None:
    """512 MiB of 1 MiB chunks is 131,072 pages: with glibc's default thresholds the freed
    chunks go back to the kernel and come back as fresh pages (tens of thousands of
    faults here, 22,567 on the machine this was written on); in a process that set the
    thresholds as `archive serve` does they are reused (3,084). Importing the protocol
    alone (as `uvicorn --http app.server:...` does) changes nothing any more."""
    import subprocess
    import sys

    script = tmp_path / "faults.py"
    script.write_text(FAULTS_SCRIPT)
    root = Path(__file__).resolve().parents[1]

    def faults(mode: str) -> int:
        env = {**os.environ, "PYTHONPATH": str(root)}
        out = subprocess.run(
            [sys.executable, str(script), mode], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        return int(out.stdout)

    serving, plain, imported = faults("serving"), faults("plain"), faults("imported")
    assert serving < 5_000, f"{serving} minor page faults for 512 MiB of body chunks"
    assert plain > 3 * serving, (plain, serving)  # the loop does fault without the tuning
    assert imported > 3 * serving, (imported, serving)  # importing the module tunes nothing
