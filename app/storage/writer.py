"""Append a stream to a file and take its SHA-256 on the way, with as little CPU as we can.

Two halves that touch disjoint state, so two threads can run them at once on the same
batches, each in order (:class:`app.ingest.pipe.BlockPipe` does): ``hash_chunks`` (hashlib
releases the GIL on large buffers) and ``write_chunks``.

Writing uses direct I/O (``O_DIRECT``) where the filesystem allows it. Buffered writes
copy every byte into the page cache, and that copy cost more CPU than SHA-256 itself
(about 1 s per GiB on our 2-core machines); direct I/O lets the disk read the bytes from
our buffer. The chunks are copied once into a page-aligned staging buffer (``STAGE``
bytes, reused) and each full buffer is written in one call. Direct I/O needs aligned file
offsets and lengths: the piece before the first ``ALIGN`` boundary (a resumed tus upload)
and the last partial block are written buffered. Where direct I/O is refused (tmpfs on
older kernels, some network filesystems) every write is buffered, with an ``fdatasync``
every ``SYNC_EVERY`` bytes so the disk works while the rest arrives and the final
``fsync`` has little left (the kernel itself starts writing back only at its dirty
threshold, often gigabytes later).
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
from typing import Any

ALIGN = 4096
STAGE = 4 * 1024 * 1024
SYNC_EVERY = 32 * 1024 * 1024


def write_all(fd: int, chunks: list[Any], offset: int) -> int:
    """Write ``chunks`` at ``offset`` with as few syscalls as possible (``pwritev``),
    resuming after partial writes; returns the byte count."""
    views = [memoryview(c) for c in chunks if len(c)]
    total = sum(len(v) for v in views)
    while views:
        n = os.pwritev(fd, views[:1024], offset)  # IOV_MAX
        if n <= 0:
            raise OSError(errno.EIO, "pwritev wrote nothing")
        offset += n
        while n:
            if n >= len(views[0]):
                n -= len(views.pop(0))
            else:
                views[0] = views[0][n:]
                n = 0
    return total


def _set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on or off for ``fd``; False when the filesystem refuses it."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    want = flags | os.O_DIRECT if on else flags & ~os.O_DIRECT
    if want == flags:
        return True
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, want)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return False
        raise
    return True


class HashingFile:
    """An open file appended to at ``size`` (its current end), hashed on the way.

    Writes are positional (the descriptor's offset is not used). ``size`` counts the bytes
    handed to ``write_chunks``; after :meth:`flush` (which :meth:`sync` calls) they are
    all in the file.
    """

    def __init__(self, fd: int, hasher: Any, size: int = 0, *, direct: bool = True) -> None:
        self.fd = fd
        self.hasher = hasher
        self.size = size
        self._unsynced = 0
        self._direct = direct and hasattr(os, "O_DIRECT")
        self._stage: mmap.mmap | None = None
        # stage[i] holds the byte for file position _base + i; bytes _lead.._fill are new.
        self._base = size - size % ALIGN
        self._lead = self._fill = size % ALIGN

    def hash_chunks(self, chunks: list[bytes]) -> None:
        for c in chunks:
            self.hasher.update(c)

    def write_chunks(self, chunks: list[bytes]) -> None:
        if self._stage is None:
            if not self._direct:
                n = write_all(self.fd, chunks, self.size)
                self.size += n
                self._written(n)
                return
            self._stage = mmap.mmap(-1, STAGE)  # page-aligned, as O_DIRECT needs
        # Views of the stage are released on the way out, errors included: an exception's
        # traceback keeps the frames' locals alive, and a live view of the mmap would make
        # close_stage() (on the error path) fail with BufferError.
        with memoryview(self._stage) as stage:
            for c in chunks:
                view = memoryview(c)
                while view:
                    n = min(len(view), STAGE - self._fill)
                    stage[self._fill : self._fill + n] = view[:n]
                    self._fill += n
                    view = view[n:]
                    if self._fill == STAGE:
                        self._emit()
                self.size += len(c)

    def write(self, data: bytes) -> None:
        """Hash and write one buffer in the calling thread (and flush it)."""
        self.hash_chunks([data])
        self.write_chunks([data])
        self.flush()

    def flush(self) -> None:
        """Write what is staged, down to the last byte."""
        if self._stage is not None and self._fill > self._lead:
            self._emit()

    def sync(self) -> None:
        self.flush()
        os.fsync(self.fd)
        self._unsynced = 0

    def close_stage(self) -> None:
        if self._stage is not None:
            self._stage.close()
            self._stage = None

    def _written(self, n: int) -> None:
        """Buffered bytes: fdatasync now and then so the disk keeps up with the stream."""
        self._unsynced += n
        if self._unsynced >= SYNC_EVERY:
            os.fdatasync(self.fd)
            self._unsynced = 0

    def _emit(self) -> None:
        """Write stage[_lead:_fill]: an unaligned head and tail buffered, the rest direct."""
        assert self._stage is not None
        lead, fill = self._lead, self._fill
        start = min(fill, -(-lead // ALIGN) * ALIGN)  # first aligned index at or after lead
        end = max(start, fill - fill % ALIGN)
        with memoryview(self._stage) as stage:  # released on errors too (write_chunks)
            if lead < start:
                self._put(stage, lead, start, direct=False)
            if start < end:
                self._put(stage, start, end, direct=self._direct)
            if end < fill:
                self._put(stage, end, fill, direct=False)
        self._base += fill - fill % ALIGN
        self._lead = self._fill = fill % ALIGN  # later bytes land after those just written

    def _put(self, stage: memoryview, lo: int, hi: int, *, direct: bool) -> None:
        if direct and not _set_direct(self.fd, True):
            self._direct = direct = False
        if not direct:
            _set_direct(self.fd, False)
        while lo < hi:
            try:
                with stage[lo:hi] as piece:
                    n = os.pwrite(self.fd, piece, self._base + lo)
            except OSError as exc:
                if not direct or exc.errno != errno.EINVAL:
                    raise
                # an alignment this device does not accept: buffered from here on
                self._direct = direct = False
                _set_direct(self.fd, False)
                continue
            if n <= 0:
                raise OSError(errno.EIO, "pwrite wrote nothing")
            lo += n
            if not direct:
                self._written(n)
