"""Embedded job workers run nicer than the request threads, and so does their ffmpeg."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from app.jobs.embedded import _lower_priority


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_worker_thread_and_its_child_processes_run_nicer() -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, int] = {}

    def worker() -> None:
        _lower_priority(5)
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        out = subprocess.run(["nice"], capture_output=True, text=True, check=True).stdout
        seen["child"] = int(out)

    t = threading.Thread(target=worker)
    t.start()
    t.join(30)
    assert seen == {"thread": min(19, base + 5), "child": min(19, base + 5)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # not the server
