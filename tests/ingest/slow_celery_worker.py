"""A real `archive worker` (Celery, prefork) whose first keyframes attempt stalls, so a test
can kill the pool process in the middle of the job. Run as a script by test_celery.py."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import app.worker  # the entry point: assembles the process (every step registered)
from app.jobs import registry

_real = registry.get_step("keyframes").run


def _slow_once(media_id: int, sha256: str, progress: Any) -> Any:
    outcome = _real(media_id, sha256, progress)  # derivatives are on disk, rows not written
    marker = Path(os.environ["SLOW_MARKER"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(120)
    return outcome


registry._steps["keyframes"] = replace(registry.get_step("keyframes"), run=_slow_once)

if __name__ == "__main__":
    app.worker.run(1, pool="prefork", loglevel="WARNING")
