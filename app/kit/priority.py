"""Lower the CPU priority of the calling thread (Linux's nice value is per thread)."""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)


def lower_thread_priority(nice: int) -> None:
    """Make the calling thread, and any process it starts afterwards (children inherit
    it), ``nice`` steps nicer. Background work (job workers, an upload's hashing and
    writing) then yields the CPU to the threads serving requests while both want it, and
    runs at full speed when nothing else does. Elsewhere than Linux nothing changes."""
    if nice <= 0:
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (AttributeError, OSError):
        log.debug("could not lower this thread's priority")
