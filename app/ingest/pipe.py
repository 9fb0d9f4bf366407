"""Hash and write an upload in two worker threads while the event loop keeps receiving.

The event loop only gathers the body's chunks (the bytes objects the server hands over;
never copied) into batches of about ``block`` bytes. Each batch goes to two single-thread
executors, one hashing and one writing (``HashingFile.hash_chunks`` / ``write_chunks``),
so SHA-256, the disk and the network all work at once; hashlib and ``os.writev`` release
the GIL on large buffers. Each stage keeps its batches in order (one thread each). At most
``depth`` batches are in flight: when both stages fall behind, ``feed`` waits, the server
stops reading the socket and TCP slows the client down, so memory stays bounded (about
``(depth + 1) * block``) whatever the file size.

With a ``tee`` (the object store's side of an upload, ``Backend.begin_original``), a third
single-thread stage hands the same batches to it; it cuts them into parts and sends them
from its own thread, waiting while a part is outstanding, so the store's pace slows
the pipe exactly as the disk's does (app/storage/s3_upload.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING

from app.config import get_settings
from app.kit.priority import lower_thread_priority
from app.storage import HashingFile

if TYPE_CHECKING:
    from app.storage.backend import StagedOriginal


class BlockPipe:
    def __init__(
        self,
        target: HashingFile,
        *,
        block: int,
        depth: int = 2,
        nice: int | None = None,
        tee: StagedOriginal | None = None,
    ) -> None:
        self.target = target
        self.tee = tee
        self.block = max(1, block)
        self.depth = max(1, depth)
        self.fed = 0  # bytes handed in so far
        self._chunks: list[bytes] = []
        self._gathered = 0
        self._inflight: deque[tuple[Future[None], ...]] = deque()
        # Both threads run ARCHIVE_UPLOAD_NICE nicer than the request threads, so readers
        # keep their latency while uploads arrive (bench/README.md, "Under load").
        nice = get_settings().upload_nice if nice is None else nice
        self._hash = ThreadPoolExecutor(
            1, "upload-hash", initializer=lower_thread_priority, initargs=(nice,)
        )
        self._disk = ThreadPoolExecutor(
            1, "upload-write", initializer=lower_thread_priority, initargs=(nice,)
        )
        self._store = (
            None
            if tee is None
            else ThreadPoolExecutor(
                1, "upload-store", initializer=lower_thread_priority, initargs=(nice,)
            )
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
        stages: tuple[Future[None], ...] = (
            self._hash.submit(self.target.hash_chunks, batch),
            self._disk.submit(self.target.write_chunks, batch),
        )
        if self._store is not None:
            stages += (self._store.submit(self._tee_chunks, batch),)
        self._inflight.append(stages)

    def _tee_chunks(self, batch: list[bytes]) -> None:
        assert self.tee is not None
        for chunk in batch:
            self.tee.feed(chunk)

    async def _wait_oldest(self) -> None:
        for stage in self._inflight.popleft():
            await asyncio.wrap_future(stage)

    def close(self) -> None:
        """Stop the threads, waiting for the batch each is on (a few milliseconds at most:
        this runs on error paths, before the file is closed or removed)."""
        for executor in (self._hash, self._disk, self._store):
            if executor is not None:
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
        if exc is not None and self.tee is not None:
            # first, so a store stage waiting for the sender returns at once
            await asyncio.to_thread(self.tee.abort)
        self.close()
