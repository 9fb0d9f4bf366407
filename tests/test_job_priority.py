"""Background work runs nicer than the request threads: embedded job workers and their
ffmpeg, and an upload's hashing and writing threads."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from typing import Any

import pytest

from app.ingest.pipe import BlockPipe
from app.kit.priority import lower_thread_priority

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread nice is Linux's"
)


@linux_only
def test_a_worker_thread_and_its_child_processes_run_nicer() -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, int] = {}

    def worker() -> None:
        lower_thread_priority(5)
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        out = subprocess.run(["nice"], capture_output=True, text=True, check=True).stdout
        seen["child"] = int(out)

    t = threading.Thread(target=worker)
    t.start()
    t.join(30)
    assert seen == {"thread": min(19, base + 5), "child": min(19, base + 5)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # not the server


class _Recorder:
    """Stands in for a HashingFile: records the nice value of the thread each half runs on."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def hash_chunks(self, chunks: list[bytes]) -> None:
        self.seen["hash"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def write_chunks(self, chunks: list[bytes]) -> None:
        self.seen["write"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@linux_only
def test_an_uploads_hashing_and_writing_threads_run_nicer() -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    target: Any = _Recorder()

    async def upload() -> None:
        async with BlockPipe(target, block=4, nice=3) as pipe:
            await pipe.feed(b"0123456789")
            await pipe.drain()

    asyncio.run(upload())
    assert target.seen == {"hash": min(19, base + 3), "write": min(19, base + 3)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
