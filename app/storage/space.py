"""Free space where the store writes, and telling a full disk from other failures."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# what ffmpeg (strerror) and other tools print for those
FULL_TEXTS = ("No space left on device", "Disk quota exceeded")


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer can still use on ``path``'s filesystem (statvfs
    f_bavail: the root-only reserve of ext4 does not count)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def out_of_space(exc: BaseException | None) -> bool:
    """True when ``exc`` (or an exception it was raised from) is a full disk or quota:
    an ``OSError`` with ENOSPC/EDQUOT, or a tool's error whose message or stderr says so."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        text = f"{exc} {getattr(exc, 'stderr_tail', '')}"
        if any(t in text for t in FULL_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
