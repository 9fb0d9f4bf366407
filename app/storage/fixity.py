"""Re-hash one file against its recorded SHA-256 and size, at a bounded read rate.

Domain-free (the kernel): the ingest domain's fixity cycle (app/ingest/fixity.py) decides
which originals to check and records what was found. A finding is one of:

- ``ok``: every byte was read and hashes to the recorded SHA-256 (a matching size alone
  never counts: the whole file is always read);
- ``changed``: the bytes (or the size) differ from the record;
- ``missing``: there is no file;
- ``unreadable``: the file is there but cannot be read to the end (permissions, an I/O
  error, not a regular file).
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BLOCK = 1024 * 1024
OK, CHANGED, MISSING, UNREADABLE = "ok", "changed", "missing", "unreadable"


class Throttle:
    """Keeps reads at or under ``mb_per_s`` (10^6 bytes a second) on average since it was
    made; 0 means no limit. Shared by every file of one run."""

    def __init__(self, mb_per_s: float = 0.0) -> None:
        self.rate = mb_per_s * 1_000_000
        self.start = time.monotonic()
        self.done = 0

    def consumed(self, n: int) -> None:
        self.done += n
        if self.rate > 0:
            ahead = self.done / self.rate - (time.monotonic() - self.start)
            if ahead > 0:
                time.sleep(ahead)


@dataclass(frozen=True)
class FileCheck:
    status: str
    detail: str
    read: int  # bytes read
    actual: str | None = None  # the SHA-256 found, when the whole file was read
    sha512: str | None = None  # the SHA-512 found, when asked for and the file was read


def check_file(
    path: Path,
    sha256: str,
    size: int,
    throttle: Throttle | None = None,
    *,
    sha512: bool = False,
) -> FileCheck:
    """Read all of ``path`` once and compare it with ``sha256`` and ``size``; with
    ``sha512``, also take the SHA-512 of the same bytes (once per original: the bags'
    second manifest)."""
    try:
        fh = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return FileCheck(MISSING, "the file is missing", 0)
    except OSError as exc:
        return FileCheck(UNREADABLE, f"cannot open it: {exc.strerror or exc}", 0)
    hashers = _hashers(sha512)
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    read = 0
    try:
        with fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return FileCheck(UNREADABLE, "not a regular file", 0)
            while n := fh.readinto(buf):
                for h in hashers:
                    h.update(view[:n])
                read += n
                if throttle is not None:
                    throttle.consumed(n)
    except OSError as exc:
        return FileCheck(UNREADABLE, f"read failed after {read} bytes: {exc.strerror or exc}", read)
    return _compare(hashers, read, sha256, size)


def check_chunks(
    chunks: Iterable[bytes],
    sha256: str,
    size: int,
    throttle: Throttle | None = None,
    *,
    sha512: bool = False,
) -> FileCheck:
    """The same comparison over a stream (an object store's GET): read it all, once.
    ``chunks`` raises OSError when the read breaks off (reported as ``unreadable``)."""
    hashers = _hashers(sha512)
    read = 0
    try:
        for block in chunks:
            for h in hashers:
                h.update(block)
            read += len(block)
            if throttle is not None:
                throttle.consumed(len(block))
    except OSError as exc:
        return FileCheck(UNREADABLE, f"read failed after {read} bytes: {exc}", read)
    return _compare(hashers, read, sha256, size)


def _hashers(sha512: bool) -> list[Any]:
    return [hashlib.sha256(), hashlib.sha512()] if sha512 else [hashlib.sha256()]


def _compare(hashers: list[Any], read: int, sha256: str, size: int) -> FileCheck:
    actual = hashers[0].hexdigest()
    if read != size:
        return FileCheck(CHANGED, f"{read} bytes, the record says {size}", read, actual)
    if actual != sha256:
        return FileCheck(CHANGED, f"the bytes hash to {actual}, not to their SHA-256", read, actual)
    found512 = hashers[1].hexdigest() if len(hashers) > 1 else None
    return FileCheck(OK, "", read, actual, found512)
