"""The upload writer: direct and buffered writes give the same bytes and SHA-256 for any
chunking and any starting offset, and the pipe keeps a bounded amount in flight."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import threading
from pathlib import Path

import pytest

from app.ingest.pipe import BlockPipe
from app.storage import HashingFile
from app.storage.writer import ALIGN, STAGE


def _pieces(seed: int, total: int) -> list[bytes]:
    """``total`` random bytes cut at awkward sizes (1 byte, around ALIGN and STAGE, ...)."""
    rng = random.Random(seed)
    sizes = [1, ALIGN - 1, ALIGN + 1, 3, STAGE - 5, 2 * STAGE + 7, 65536, 100_003]
    out, left = [], total
    while left:
        n = min(left, rng.choice(sizes))
        out.append(rng.randbytes(n))
        left -= n
    return out


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "buffered"])
@pytest.mark.parametrize("start", [0, 10_001, ALIGN], ids=["empty", "mid-block", "aligned"])
def test_bytes_and_hash_match_for_any_chunking(tmp_path: Path, direct: bool, start: int) -> None:
    head = os.urandom(start)
    path = tmp_path / "f"
    path.write_bytes(head)
    pieces = _pieces(start, 3 * STAGE + 12_345)
    fd = os.open(path, os.O_WRONLY)
    try:
        out = HashingFile(fd, hashlib.sha256(head), start, direct=direct)
        for i in range(0, len(pieces), 3):  # batches of three chunks, like BlockPipe's
            out.hash_chunks(pieces[i : i + 3])
            out.write_chunks(pieces[i : i + 3])
        out.sync()
        out.write(b"tail")  # a second flush after the file ends mid-block
        out.sync()
        out.close_stage()
    finally:
        os.close(fd)
    expected = head + b"".join(pieces) + b"tail"
    assert path.read_bytes() == expected
    assert out.size == len(expected)
    assert out.hasher.hexdigest() == hashlib.sha256(expected).hexdigest()


class _Gated(HashingFile):
    """Writes wait for a gate; counts what reached each stage."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd, hashlib.sha256(), direct=False)
        self.gate = threading.Event()
        self.hashed_batches = 0
        self.all_hashed = threading.Event()

    def hash_chunks(self, chunks: list[bytes]) -> None:
        super().hash_chunks(chunks)
        self.hashed_batches += 1
        if self.hashed_batches == 2:
            self.all_hashed.set()

    def write_chunks(self, chunks: list[bytes]) -> None:
        self.gate.wait()
        super().write_chunks(chunks)


def test_pipe_holds_at_most_depth_batches_while_the_disk_is_stuck(tmp_path: Path) -> None:
    block, depth = 1000, 2
    data = [os.urandom(250) for _ in range(200)]  # 50 blocks

    async def run() -> tuple[int, bytes, str]:
        fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT, 0o600)
        target = _Gated(fd)
        try:
            async with BlockPipe(target, block=block, depth=depth) as pipe:

                async def feed_all() -> None:
                    for chunk in data:
                        await pipe.feed(chunk)
                    await pipe.drain()

                task = asyncio.create_task(feed_all())
                await asyncio.get_running_loop().run_in_executor(None, target.all_hashed.wait)
                for _ in range(50):  # let the feeder run as far as it can
                    await asyncio.sleep(0)
                stuck_at = pipe.fed
                target.gate.set()
                await task
            target.sync()
        finally:
            os.close(fd)
        return stuck_at, (tmp_path / "f").read_bytes(), target.hasher.hexdigest()

    stuck_at, content, digest = asyncio.run(run())
    # depth batches handed on plus one being gathered, whatever the body's size
    assert stuck_at <= (depth + 1) * block
    assert content == b"".join(data) and digest == hashlib.sha256(content).hexdigest()
