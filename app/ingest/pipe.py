"""Hash and write an upload in two worker threads while the event loop keeps receiving.

The event loop only gathers the body's chunks (the bytes objects the server hands over;
never copied) into batches of about ``block`` bytes. Each batch goes to two single-thread
executors, one hashing and one writing (``HashingFile.hash_chunks`` / ``write_chunks``),
so SHA-256, the disk and the network all work at once; hashlib and ``os.writev`` release
the GIL on large buffers. Each stage keeps its batches in order (one thread each). At most
``depth`` batches are in flight: when both stages fall behind, ``feed`` waits, the server
stops reading the socket and TCP slows the client down, so memory stays bounded (about
``(depth + 1) * block``) whatever the file size.
"""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from app.config import get_settings
from app.kit.priority import lower_thread_priority
from app.storage import HashingFile


class BlockPipe:
    def __init__(
        self, target: HashingFile, *, block: int, depth: int = 2, nice: int | None = None
    ) -> None:
        self.target = target
        self.block = max(1, block)
        self.depth = max(1, depth)
        self.fed = 0  # bytes handed in so far
        self._chunks: list[bytes] = []
        self._gathered = 0
        self._inflight: deque[tuple[Future[None], Future[None]]] = deque()
        # Both threads run ARCHIVE_UPLOAD_NICE nicer than the request threads, so readers
        # keep their latency while uploads arrive (bench/README.md, "Under load").
        nice = get_settings().upload_nice if nice is None else nice
        self._hash = ThreadPoolExecutor(
            1, "upload-hash", initializer=lower_thread_priority, initargs=(nice,)
        )
        self._disk = ThreadPoolExecutor(
            1, "upload-write", initializer=lower_thread_priority, initargs=(nice,)
        )

    async def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._chunks.append(chunk)
        self._gathered += len(chunk)
        self.fed += len(chunk)
        if self._gathered >= self.block:
            await self._submit()

    async def drain(self) -> None:
        """Send what is gathered and wait until every byte is hashed and written."""
        if self._chunks:
            await self._submit()
        while self._inflight:
            await self._wait_oldest()

    async def _submit(self) -> None:
        batch, self._chunks, self._gathered = self._chunks, [], 0
        while len(self._inflight) >= self.depth:
            await self._wait_oldest()
        self._inflight.append(
            (
                self._hash.submit(self.target.hash_chunks, batch),
                self._disk.submit(self.target.write_chunks, batch),
            )
        )

    async def _wait_oldest(self) -> None:
        hashed, written = self._inflight.popleft()
        await asyncio.wrap_future(hashed)
        await asyncio.wrap_future(written)

    def close(self) -> None:
        """Stop the threads, waiting for the batch each is on (a few milliseconds at most:
        this runs on error paths, before the file is closed or removed)."""
        for executor in (self._hash, self._disk):
            executor.shutdown(wait=True, cancel_futures=True)
        self._inflight.clear()
        self._chunks.clear()

    async def __aenter__(self) -> BlockPipe:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
