"""A real `archive worker` (Celery, prefork) whose first keyframes attempt stalls, so a test
can kill the pool process in the middle of the job. Run as a script by test_celery.py."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from app.ingest import pipeline

_real = pipeline.STEPS["keyframes"]


def _slow_once(media_id: int, sha256: str, progress: Any) -> Any:
    outcome = _real(media_id, sha256, progress)  # derivatives are on disk, rows not written
    marker = Path(os.environ["SLOW_MARKER"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(120)
    return outcome


pipeline.STEPS["keyframes"] = _slow_once

if __name__ == "__main__":
    from app.jobs.celery_app import run_worker

    run_worker(1, pool="prefork", loglevel="WARNING")
