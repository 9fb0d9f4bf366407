"""Test hook: fault points where a test kills the serving process (tests/faults/).

``ARCHIVE_TEST_FAULT=<point>`` in a server's environment makes :func:`point` SIGKILL the
process when it reaches that point, the way a power cut or the OOM killer would. Only
tests set it; unset (always, outside tests) a call is one dictionary lookup and nothing
happens. The points of an upload, in order: ``after_temp_write`` (every byte written to
the temp file, not fsynced), ``after_fsync``, ``after_rename`` (the original is in place),
``before_commit`` (its row, custody event and job are flushed, not committed).
"""

from __future__ import annotations

import os
import signal

ENV = "ARCHIVE_TEST_FAULT"
POINTS = ("after_temp_write", "after_fsync", "after_rename", "before_commit")


def point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
