"""Files in ``tmp/`` that say who owns them, so a sweep can tell a live upload from a dead one.

Every file in ``tmp/`` is named ``<host>-<pid>-<id>.<kind>`` and is ``flock()``-ed by the
process working on it, from its creation until it is promoted or removed. The kernel drops
a process's locks when it dies, however it dies (kill -9 included), so on this host a file
whose lock can be taken belongs to no live process, whatever its age. Files named for
another host (a store shared over NFS, where locks do not reliably cross machines) and
files with other names keep the age rule instead.

Kinds: ``part`` (an upload being streamed), ``<sha256>.promote`` (the intent of a
promotion from ``tmp/``: a hard link to the new original, kept until its row's transaction
ends) and ``<sha256>.promote-upload`` (the same for a resumable upload; ``<id>`` is the
upload's id, so its bytes can be put back in ``uploads/`` when the row never committed).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

HOST_TAG = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname())[:64] or "host"
NAME_RE = re.compile(
    r"^(?P<host>[A-Za-z0-9_.]{1,64})-(?P<pid>\d+)-(?P<id>[0-9a-f]{32})"
    r"\.(?:part|(?P<sha>[0-9a-f]{64})\.(?P<intent>promote|promote-upload))$"
)


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    id: str
    sha256: str | None  # set for a promotion's intent
    from_upload: bool  # the intent of a resumable upload (``id`` is the upload's)

    @property
    def local(self) -> bool:
        return self.host == HOST_TAG


def parse(name: str) -> Owner | None:
    m = NAME_RE.match(name)
    if m is None:
        return None
    return Owner(m["host"], int(m["pid"]), m["id"], m["sha"], m["intent"] == "promote-upload")


def temp_name(file_id: str | None = None) -> str:
    return f"{HOST_TAG}-{os.getpid()}-{file_id or uuid.uuid4().hex}.part"


def intent_name(file_id: str, sha256: str, *, from_upload: bool) -> str:
    kind = "promote-upload" if from_upload else "promote"
    return f"{HOST_TAG}-{os.getpid()}-{file_id}.{sha256}.{kind}"


class Gone(Exception):
    """A sweeper removed the file between its creation and our lock (create another)."""


def create_locked(path: Path) -> int:
    """Create ``path`` (it must not exist) for writing and take its exclusive lock.

    A sweeper may find the file in the instant before the lock and remove it; then the
    inode we hold has no name left (``Gone``), and the caller creates another file.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits at most while a sweeper unlinks it
        if os.fstat(fd).st_nlink == 0:
            raise Gone(str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def try_lock(path: Path) -> int | None:
    """An open descriptor holding ``path``'s exclusive lock, or None when a live process
    holds a lock on it (or it is gone, or not a regular file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class Busy(Exception):
    """A live process holds the file's exclusive lock (another upload of the same bytes
    whose row is not committed yet)."""


def hold_shared(path: Path, *, wait: float = 1.0) -> int | None:
    """Open ``path`` and take a shared lock that keeps sweepers from moving it; None when
    it is gone, or was replaced while we waited for the lock. Never blocks for long: a
    sweeper holds its lock for an instant, but a promotion holds it until its transaction
    ends, and waiting for that (on SQLite, inside our own transaction) could deadlock;
    after ``wait`` seconds it raises :class:`Busy`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        end = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    raise Busy(str(path)) from None
                time.sleep(0.02)
        if not same_file(fd, path):
            os.close(fd)
            return None
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise
    return fd


def same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the inode open as ``fd``."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
    except FileNotFoundError:
        return False
