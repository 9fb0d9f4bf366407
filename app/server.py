"""The HTTP/1.1 protocol `archive serve` gives uvicorn: its httptools protocol, fed from a
reused read buffer.

uvicorn's ``HttpToolsProtocol`` is an ``asyncio.Protocol``: for every socket read the event
loop allocates a new ``bytes`` (256 KiB at most under uvloop) and calls ``data_received``;
then httptools copies each body span into another ``bytes`` (``on_body``), uvicorn appends
that to a ``bytearray`` and copies the ``bytearray`` into yet another ``bytes`` for the
ASGI message. For a large upload that is four copies of every byte, and the fresh
allocations page-fault, before our code sees the body.

:class:`BufferedHttpToolsProtocol` is an ``asyncio.BufferedProtocol`` instead: the loop
(uvloop or the plain asyncio one) reads the socket straight into a buffer we hand it
(``READ_BYTES``, one per thread, reused by every connection: the parser is fed
synchronously in ``buffer_updated`` and all httptools callbacks receive copies, so nothing
points into the buffer once the call returns). The parser's ``on_body`` copy is the only
copy left: the ASGI message carries that ``bytes`` object itself (:class:`_Body`).

It wraps uvicorn's protocol rather than subclassing it, because uvloop uses the buffered
interface only for protocols that are *not* ``asyncio.Protocol`` instances. Everything
else (parsing, keep-alive, pipelining, flow control, 400s, shutdown) is uvicorn's own
code. ``archive serve`` (:func:`serve`) selects it unless ``ARCHIVE_HTTP_PROTOCOL=uvicorn``;
by hand: ``uvicorn --http app.server:BufferedHttpToolsProtocol ...`` (then without the
malloc tuning, which :func:`serve` does).
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

READ_BYTES = 4 * 1024 * 1024
"""The most one socket read takes. uvicorn pauses reading once more than 64 KiB of body
wait for the app, so an ASGI message carries at most about this much (64 KiB more).
4 MiB rather than 1: the upload's SHA-256 thread then takes the GIL back a quarter as
often between ``update`` calls (bench/README.md, 2026-11-25: median upload ratio 1.29-1.34
against 1.45-1.53), for about 10 MB more peak RSS during an upload."""

HTTP_PROTOCOL = "app.server:BufferedHttpToolsProtocol"
"""uvicorn's ``http`` setting for this protocol (``--http`` on uvicorn's command line)."""

PROTOCOLS = {"buffered": HTTP_PROTOCOL, "uvicorn": "auto"}
"""``ARCHIVE_HTTP_PROTOCOL`` -> uvicorn's ``http`` setting ("auto": httptools when installed,
as plain uvicorn does)."""

MALLOC_MMAP_THRESHOLD = 4 * READ_BYTES
MALLOC_TRIM_THRESHOLD = 32 * 1024 * 1024
"""glibc malloc settings for a serving process (:func:`tune_malloc`)."""

_local = threading.local()


def tune_malloc() -> bool:
    """Let glibc's malloc keep the memory of freed body chunks instead of handing it back
    to the kernel and faulting it in again for the next one.

    Each body chunk httptools hands over is a fresh ``bytes`` of up to ``READ_BYTES``, and
    the upload pipe keeps several alive at once. By default glibc's trim threshold follows
    its mmap threshold, which follows the largest block freed: the top of the heap goes back
    to the kernel whenever about two chunks' worth there is free, and the next chunks
    page-fault fresh zeroed memory (20,000-50,000 minor faults per GiB uploaded, 0.1-0.2 s
    of CPU on the core the SHA-256 thread needs). With fixed thresholds (blocks under
    ``MALLOC_MMAP_THRESHOLD`` come from the heap, which keeps up to
    ``MALLOC_TRIM_THRESHOLD`` free) it is about 1,000. An upload holds about 20 MiB of
    chunks at most, so what the heap keeps is bounded by that, not by the file size.

    Returns False where the C library has no ``mallopt`` (not glibc); nothing changes then.
    :func:`serve` calls it in the serving process, with the buffered protocol only (the
    thresholds are sized for its chunks); importing this module changes nothing.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's <malloc.h>
    return bool(mallopt(m_mmap_threshold, MALLOC_MMAP_THRESHOLD)) and bool(
        mallopt(m_trim_threshold, MALLOC_TRIM_THRESHOLD)
    )


def _read_buffer() -> memoryview:
    """This thread's read buffer (an event loop runs in one thread, one read at a time)."""
    buf: memoryview | None = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = memoryview(bytearray(READ_BYTES))
    return buf


class _Body:
    """Stands in for a request cycle's body ``bytearray``: uvicorn does ``body += chunk``,
    ``len(body)`` and ``bytes(body)``; this keeps the parser's chunks and hands a lone
    chunk over as it is instead of copying it twice."""

    __slots__ = ("_chunks", "_size")

    def __init__(self, initial: bytes | bytearray = b"") -> None:
        self._chunks: list[bytes] = [bytes(initial)] if initial else []
        self._size = len(initial)

    def __iadd__(self, chunk: bytes) -> _Body:
        if chunk:
            self._chunks.append(chunk)
            self._size += len(chunk)
        return self

    def __len__(self) -> int:
        return self._size

    def __bytes__(self) -> bytes:
        if len(self._chunks) == 1:
            return self._chunks[0]
        return b"".join(self._chunks)


class _HttpTools(HttpToolsProtocol):
    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if cycle is not None and type(cycle.body) is not _Body:
            cycle.body = _Body(cycle.body)  # type: ignore[assignment]
        super().on_body(body)


class BufferedHttpToolsProtocol(asyncio.BufferedProtocol):
    """uvicorn's httptools HTTP/1.1 protocol, reading into a reused buffer (see the module)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.http = _HttpTools(config, server_state, app_state, _loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.http.connection_made(transport)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self.http.connection_lost(exc)

    def eof_received(self) -> bool | None:
        return self.http.eof_received()  # type: ignore[func-returns-value]

    def pause_writing(self) -> None:
        self.http.pause_writing()

    def resume_writing(self) -> None:
        self.http.resume_writing()

    def get_buffer(self, sizehint: int) -> memoryview:
        return _read_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        self.http.data_received(_read_buffer()[:nbytes])  # type: ignore[arg-type]


def serve(host: str, port: int, *, reload: bool = False, protocol: str | None = None) -> None:
    """``archive serve``: uvicorn with the protocol ``ARCHIVE_HTTP_PROTOCOL`` names (or
    ``protocol``); with "buffered", the malloc thresholds are set first (:func:`tune_malloc`;
    with ``reload`` uvicorn serves from a child process, which does not get them)."""
    import uvicorn

    from app.config import get_settings
    from app.logs import log_config

    chosen = protocol or get_settings().http_protocol
    if chosen not in PROTOCOLS:
        raise ValueError(f"HTTP protocol must be one of {', '.join(PROTOCOLS)}, not {chosen!r}")
    if chosen == "buffered":
        tune_malloc()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        proxy_headers=True,
        http=PROTOCOLS[chosen],
        log_config=log_config(),  # uvicorn's, with secrets in query strings redacted
    )
