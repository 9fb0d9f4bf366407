"""Writing a BagIt bag (RFC 8493) as a stream: a tar, or files in a directory.

No database here: :class:`BagPlan` holds everything (the payload files by path, the tag
files as bytes), and :func:`members` yields the bag's files in order, each as a name, a
size and its chunks. The payload comes first. A payload file whose SHA-256 and SHA-512 are
both stored (an original after its first fixity read) is not hashed again: the manifests
take the stored checksums, and :func:`write_tar` copies it into the tar inside the kernel
(``copy_file_range``, else ``sendfile``), so its bytes never pass through Python. Any
other payload file is read once, in 1 MiB blocks, and hashed from the same blocks that go
out. A payload file in an object store (ARCHIVE_STORAGE=s3) has no path but a reader of
its chunks (``PayloadFile.chunks``, the backend's ``read``): it streams from the bucket
through Python, hashed on the way unless both checksums are stored, its length checked.
Memory stays constant whatever the size of the original. The manifests come after
the payload (a tar's order is free, and a directory has none), then the tag manifests,
which cover every other tag file.

Never build a bag inside the media store: the bag is written to a stream or to a fresh
directory, and the store is only read (``bagit.make_bag`` would move the originals).
"""

from __future__ import annotations

import errno
import hashlib
import os
import tarfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BLOCK = 1024 * 1024
ALGORITHMS = ("sha256", "sha512")
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


@dataclass(frozen=True)
class PayloadFile:
    name: str  # under data/, e.g. "data/original/IRN091.mp4"
    path: Path | None  # a local file; None: read through ``chunks``
    size: int
    sha256: str | None = None  # known already (the original's stored checksum)
    sha512: str | None = None  # known already (taken by the original's first fixity read)
    chunks: Callable[[], Iterable[bytes]] | None = None  # an object store's reader

    @property
    def known(self) -> bool:
        """Both checksums are stored: the file is copied, never hashed again."""
        return bool(self.sha256 and self.sha512)

    def blocks(self) -> Iterator[bytes]:
        """The file's bytes, exactly ``size`` of them (a short read is an OSError)."""
        if self.path is not None:
            return _plain(self.path, self.size)
        assert self.chunks is not None, f"{self.name}: neither a path nor a reader"
        return _counted(self.chunks(), self.size, self.name)


@dataclass
class BagPlan:
    root: str  # the bag's directory name (the clip code)
    info: list[tuple[str, str]]  # bag-info.txt fields, in order (Payload-Oxum is added)
    payload: list[PayloadFile] = field(default_factory=list)
    tags: dict[str, bytes] = field(default_factory=dict)  # e.g. "metadata/record.json"
    created: datetime | None = None


@dataclass(frozen=True)
class Member:
    name: str  # relative to the bag's root
    size: int
    chunks: Iterable[bytes]
    source: Path | None = None  # a payload file copied as it is (its checksums are stored)


HASH_AHEAD = 4  # blocks handed to the hashing thread and not yet hashed (4 MiB at most)


def _update(hashers: Iterable[Any], block: bytes) -> None:
    for h in hashers:
        h.update(block)


def _read(p: PayloadFile, digests: dict[str, dict[str, str]]) -> Iterator[bytes]:
    """The file's blocks, hashed on the way (SHA-512, and SHA-256 unless it is stored).

    The hashing runs in one thread beside the read and the write (hashlib releases the GIL
    on large buffers), in order, at most HASH_AHEAD blocks behind: on a second core the
    export then runs at the speed of the disk, not of SHA-512."""
    hashers = [hashlib.new(a) for a in ALGORITHMS if not (a == "sha256" and p.sha256)]
    pending: deque[Future[None]] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bag-hash") as pool:
        for block in p.blocks():
            pending.append(pool.submit(_update, hashers, block))
            while len(pending) > HASH_AHEAD:
                pending.popleft().result()
            yield block
        for f in pending:
            f.result()
    found = {h.name: h.hexdigest() for h in hashers}
    if p.sha256:
        found["sha256"] = p.sha256
    digests[p.name] = found


def _plain(path: Path, size: int) -> Iterator[bytes]:
    """The file's blocks, unhashed (its checksums are stored), checked for length."""
    done = 0
    with open(path, "rb", buffering=0) as fh:
        while done < size:
            block = fh.read(min(BLOCK, size - done))
            if not block:
                raise OSError(f"{path} ended after {done} of {size} bytes")
            done += len(block)
            yield block


def _counted(chunks: Iterable[bytes], size: int, name: str) -> Iterator[bytes]:
    """The chunks of a stored object, checked to add up to ``size`` bytes."""
    done = 0
    for block in chunks:
        if done + len(block) > size:
            raise OSError(f"{name} is longer than its record's {size} bytes")
        done += len(block)
        yield block
    if done != size:
        raise OSError(f"{name} ended after {done} of {size} bytes")


def _manifest(entries: dict[str, dict[str, str]], algorithm: str) -> bytes:
    return "".join(f"{d[algorithm]}  {name}\n" for name, d in sorted(entries.items())).encode()


def _tag(name: str, data: bytes, digests: dict[str, dict[str, str]]) -> Member:
    digests[name] = {a: hashlib.new(a, data).hexdigest() for a in ALGORITHMS}
    return Member(name, len(data), (data,))


def members(plan: BagPlan) -> Iterator[Member]:
    """The bag's files: bagit.txt, the payload, bag-info, the manifests, the tag files and
    the tag manifests last. A payload file's manifest lines exist once its chunks have
    been consumed, so consume each member before asking for the next."""
    payload: dict[str, dict[str, str]] = {}
    tags: dict[str, dict[str, str]] = {}
    yield _tag("bagit.txt", BAGIT_TXT, tags)
    for p in plan.payload:
        if p.known:
            assert p.sha256 and p.sha512
            payload[p.name] = {"sha256": p.sha256, "sha512": p.sha512}
            yield Member(p.name, p.size, p.blocks(), source=p.path)
        else:
            yield Member(p.name, p.size, _read(p, payload))
    missing = [p.name for p in plan.payload if p.name not in payload]
    if missing:
        raise RuntimeError(f"payload files not consumed before the manifests: {missing}")
    oxum = f"{sum(p.size for p in plan.payload)}.{len(plan.payload)}"
    info = "".join(f"{k}: {v}\n" for k, v in [*plan.info, ("Payload-Oxum", oxum)])
    yield _tag("bag-info.txt", info.encode(), tags)
    for a in ALGORITHMS:
        yield _tag(f"manifest-{a}.txt", _manifest(payload, a), tags)
    for name, data in plan.tags.items():
        yield _tag(name, data, tags)
    for a in ALGORITHMS:
        data = _manifest(tags, a)  # every tag file so far (a tag manifest never lists itself)
        yield Member(f"tagmanifest-{a}.txt", len(data), (data,))


def _dirs(name: str, seen: set[str]) -> list[str]:
    parts = name.split("/")[:-1]
    out = []
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i])
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def _header(name: str, size: int, mtime: float, *, directory: bool = False) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = 0 if directory else size
    info.mtime = int(mtime)
    info.mode = 0o755 if directory else 0o644
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.uname = info.gname = "archive"
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


@dataclass(frozen=True)
class _Span:
    """A whole payload file, to be copied into the tar as it is."""

    path: Path
    size: int


def _tar_pieces(plans: Iterable[BagPlan]) -> Iterator[bytes | _Span]:
    """The tar of each bag under its root directory: bytes, and spans of payload files."""
    for plan in plans:
        mtime = plan.created.timestamp() if plan.created else time.time()
        seen: set[str] = set()
        yield _header(plan.root, 0, mtime, directory=True)
        for d in ("data",):
            seen.add(d)
            yield _header(f"{plan.root}/{d}", 0, mtime, directory=True)
        for m in members(plan):
            for d in _dirs(m.name, seen):
                yield _header(f"{plan.root}/{d}", 0, mtime, directory=True)
            yield _header(f"{plan.root}/{m.name}", m.size, mtime)
            if m.source is not None:
                yield _Span(m.source, m.size)
            else:
                written = 0
                for chunk in m.chunks:
                    written += len(chunk)
                    yield chunk
                if written != m.size:
                    raise OSError(f"{m.name}: {written} bytes written, {m.size} announced")
            if m.size % tarfile.BLOCKSIZE:
                yield b"\0" * (tarfile.BLOCKSIZE - m.size % tarfile.BLOCKSIZE)
    yield b"\0" * (tarfile.BLOCKSIZE * 2)


def tar_stream(plans: Iterable[BagPlan]) -> Iterator[bytes]:
    """One tar holding each bag under its root directory, as a stream of chunks."""
    for piece in _tar_pieces(plans):
        if isinstance(piece, _Span):
            yield from _plain(piece.path, piece.size)
        else:
            yield piece


# errors that mean "this kernel or filesystem pair cannot do it": fall back to the next way
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


def copy_into(src: Path, size: int, out_fd: int) -> int:
    """Append the ``size`` bytes of ``src`` to ``out_fd`` (at its offset) inside the kernel:
    ``copy_file_range``, else ``sendfile``, else a read/write loop. The file must still be
    exactly ``size`` bytes (an original that grew or shrank is refused)."""
    with open(src, "rb", buffering=0) as fh:
        fd = fh.fileno()
        found = os.fstat(fd).st_size
        if found != size:
            raise OSError(errno.EIO, f"{src} is {found} bytes, its record says {size}")
        done = 0
        ways = [
            lambda n: os.copy_file_range(fd, out_fd, n),
            lambda n: os.sendfile(out_fd, fd, None, n),
            lambda n: os.write(out_fd, os.read(fd, min(n, BLOCK))),
        ]
        for way in ways:
            try:
                while done < size:
                    n = way(min(size - done, 1 << 30))
                    if n <= 0:
                        raise OSError(errno.EIO, f"{src} ended after {done} of {size} bytes")
                    done += n
                return done
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY or done:
                    raise
        raise OSError(errno.EIO, f"{src}: no way to copy it")  # pragma: no cover


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def write_tar(plans: Iterable[BagPlan], out: Path) -> int:
    """Write the tar to ``out`` (through a temp name, fsynced once); returns its size.

    Small pieces (headers, tag files, padding) are gathered into one buffer; payload files
    with stored checksums are copied in the kernel (:func:`copy_into`)."""
    tmp = out.with_name(f".{out.name}.part")
    size = 0
    pending = bytearray()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for piece in _tar_pieces(plans):
                if isinstance(piece, _Span):
                    _write_all(fd, pending)
                    pending.clear()
                    size += copy_into(piece.path, piece.size, fd)
                    continue
                pending += piece
                size += len(piece)
                if len(pending) >= BLOCK:
                    _write_all(fd, pending)
                    pending.clear()
            _write_all(fd, pending)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def write_dir(plan: BagPlan, parent: Path) -> Path:
    """Write the bag as files under ``parent/<root>`` (which must not exist yet)."""
    root = parent / plan.root
    root.mkdir(parents=True)
    (root / "data").mkdir()
    for m in members(plan):
        path = root / m.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if m.source is not None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                copy_into(m.source, m.size, fd)
            finally:
                os.close(fd)
            continue
        with open(path, "wb") as fh:
            for chunk in m.chunks:
                fh.write(chunk)
    return root
