"""The media store: content-addressed, write-once originals and a separate derivatives tree.

Layout under ``MEDIA_ROOT``::

    tmp/                          uploads being streamed, promotions in flight (see
                                  app/storage/owned.py: locked by their process, swept
                                  as soon as no live process owns them)
    uploads/<id>                  resumable (tus) uploads in progress; kept across restarts
    originals/<aa>/<bb>/<sha256>  the evidence: written once, read-only (0o444), never touched
    derivatives/<aa>/<bb>/<sha256>/<generation>/   keyframes, thumbnails, poster, contact sheet
    quarantine/                   orphan originals moved aside by ``reconcile`` (never deleted)

Durability order for a new original: temp file written and fsynced (the caller may
validate the complete file while the fsync runs), made read-only, renamed to its intent
name in ``tmp/``, atomically linked into place (``os.link`` refuses to overwrite), and the
directories fsynced. Only then may the database row be committed; the intent (a second
name of the same inode, still locked) is removed once that transaction has committed
(:meth:`Promotion.end`). A process that dies before then leaves an unlocked intent, and
the sweep settles it: the row committed (the intent goes), or it did not (the original
goes to ``quarantine/``, or back to ``uploads/`` for a resumable upload still open).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.storage import owned, tempfiles
from app.storage.fs import fsync_dir, makedirs_durable
from app.storage.space import free_bytes
from app.storage.tempfiles import References
from app.storage.writer import HashingFile

if TYPE_CHECKING:
    from app.storage.backend import StagedOriginal

log = logging.getLogger("archive.storage")

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
HASH_BLOCK = 1024 * 1024


Busy = owned.Busy


class TooLarge(Exception):
    """The stream went over the size limit (the temp file has been removed)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload is larger than the limit of {limit} bytes")
        self.limit = limit


def hash_file(path: Path, *, limit: int | None = None) -> tuple[str, int]:
    """SHA-256 and size of ``path`` (or of its first ``limit`` bytes)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            want = HASH_BLOCK if limit is None else min(HASH_BLOCK, limit - size)
            if want <= 0:
                break
            block = fh.read(want)
            if not block:
                break
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


@dataclass(frozen=True)
class Written:
    path: Path
    sha256: str
    size: int
    checked: Callable[[], Any] | None = None
    """The outcome of a check (ffprobe validation) run on the complete file while it was
    fsynced: returns the check's result or raises its exception. None: not checked yet."""
    lock_fd: int | None = None
    """An open descriptor of the file holding its writer's exclusive lock (the promotion
    keeps a duplicate, so the lock outlives the writer until the row's transaction ends)."""
    release: Callable[[], None] | None = None
    """Closes the writer's descriptor (after the promotion, or after removing the file)."""
    staged: StagedOriginal | None = None
    """The same bytes streamed to the object store (ARCHIVE_STORAGE=s3) while the file was
    written: the original is stored from there, and the file is only for validation."""

    def discard(self) -> None:
        """Remove the written file and close the writer's descriptor (a refused upload);
        drop what was streamed to the object store."""
        self.path.unlink(missing_ok=True)
        if self.release is not None:
            self.release()
        if self.staged is not None:
            self.staged.abort()


class TempWrite(HashingFile):
    """A file in ``tmp/`` being streamed: hashed while written, with a size limit, and
    locked by this process until it is promoted or discarded."""

    def __init__(self, fd: int, path: Path, limit: int, *, direct: bool = True) -> None:
        super().__init__(fd, hashlib.sha256(), direct=direct)
        self.path = path
        self.limit = limit
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.size + len(data) > self.limit:
            self.discard()
            raise TooLarge(self.limit)
        super().write(data)

    def finish(self) -> Written:
        """fsync; the file stays in tmp/ (open and locked) until promoted or discarded."""
        self.sync()
        self.close_stage()
        return Written(
            self.path,
            self.hasher.hexdigest(),
            self.size,
            lock_fd=self.fd,
            release=self.release,
        )

    def release(self) -> None:
        """Close the descriptor (and so drop the lock, unless a promotion holds it too)."""
        if not self.closed:
            self.closed = True
            self.close_stage()
            os.close(self.fd)

    def discard(self) -> None:
        """Remove the file (while still holding its lock), then close it."""
        self.path.unlink(missing_ok=True)
        self.release()


@dataclass
class Promotion:
    """A new original in place whose row is not committed yet: it holds a lock on the
    original's inode (so no sweep moves it) until :meth:`end`."""

    path: Path
    created: bool
    intent: Path | None
    fds: list[int] = field(default_factory=list)

    def end(self, committed: bool) -> None:
        """The row's transaction is over. Committed: the intent has done its job. Not
        committed (or not known to be): keep the intent, and the sweep, which asks the
        database, settles it."""
        if committed and self.intent is not None:
            self.intent.unlink(missing_ok=True)
        fds, self.fds = self.fds, []
        for fd in fds:
            os.close(fd)


@dataclass(frozen=True)
class Fixity:
    sha256: str
    ok: bool
    actual: str | None
    size: int | None
    reason: str = ""


class MediaStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.uploads = self.root / "uploads"
        self.originals = self.root / "originals"
        self.derivatives = self.root / "derivatives"
        self.quarantine = self.root / "quarantine"

    def ensure(self) -> None:
        for d in (self.tmp, self.uploads, self.originals, self.derivatives):
            makedirs_durable(d)

    def free_bytes(self) -> int:
        """Free bytes on the store's filesystem (tmp/, uploads/ and originals/ share it)."""
        return free_bytes(self.tmp)

    # -- originals ---------------------------------------------------------------------
    @staticmethod
    def _check_sha(sha256: str) -> str:
        if not SHA_RE.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return sha256

    def original_path(self, sha256: str) -> Path:
        sha = self._check_sha(sha256)
        return self.originals / sha[:2] / sha[2:4] / sha

    def has_original(self, sha256: str) -> bool:
        return self.original_path(sha256).exists()

    def open_temp(self, limit: int) -> TempWrite:
        makedirs_durable(self.tmp)
        for _ in range(5):
            path = self.tmp / owned.temp_name()
            try:
                fd = owned.create_locked(path)
            except owned.Gone:
                continue
            return TempWrite(fd, path, limit)
        raise RuntimeError(f"could not create a temp file in {self.tmp}")

    def promote(self, written: Written) -> Promotion:
        """Put the fsynced, validated file in place as the original ``written.sha256``.

        When the same bytes are already stored, the file is dropped and the existing
        original kept (content addressing: same name, same bytes); the promotion then holds
        a shared lock on it instead. Call :meth:`Promotion.end` when the row's transaction
        is over. If nothing was linked into place, the file is back where it was.
        """
        src, sha = written.path, written.sha256
        dst = self.original_path(sha)
        makedirs_durable(dst.parent)
        makedirs_durable(self.tmp)
        from_upload = src.parent == self.uploads
        owner = owned.parse(src.name)
        file_id = src.name if from_upload else (owner.id if owner else uuid.uuid4().hex)
        intent = self.tmp / owned.intent_name(file_id, sha, from_upload=from_upload)
        held = os.dup(written.lock_fd) if written.lock_fd is not None else _lock_now(src)
        try:
            os.chmod(src, 0o444)
            os.rename(src, intent)
            try:
                fsync_dir(self.tmp)
                if src.parent != self.tmp:
                    fsync_dir(src.parent)
                for _ in range(5):
                    if _link(intent, dst):
                        break
                    fd = owned.hold_shared(dst)  # another upload's original, same bytes
                    if fd is not None:
                        os.close(held)
                        held = fd
                        intent.unlink()
                        return Promotion(dst, False, None, [fd])
                else:
                    raise RuntimeError(f"the original {sha} kept moving while it was promoted")
            except BaseException:
                if intent.exists():
                    os.rename(intent, src)
                raise
        except BaseException:
            with contextlib.suppress(OSError):
                os.chmod(src, 0o600)
            os.close(held)
            raise
        promotion = Promotion(dst, True, intent if intent.exists() else None, [held])
        try:
            fsync_dir(dst.parent)
        except BaseException:
            promotion.end(committed=False)  # the sweep settles the intent
            raise
        return promotion

    def fixity(self, sha256: str) -> Fixity:
        """Re-hash an original and compare with the name it is stored under."""
        path = self.original_path(sha256)
        if not path.exists():
            return Fixity(sha256, False, None, None, "the original file is missing")
        actual, size = hash_file(path)
        if actual != sha256:
            return Fixity(sha256, False, actual, size, "the bytes no longer match their SHA-256")
        return Fixity(sha256, True, actual, size)

    def iter_originals(self) -> list[str]:
        if not self.originals.exists():
            return []
        return sorted(p.name for p in self.originals.glob("*/*/*") if SHA_RE.match(p.name))

    def quarantine_original(self, sha256: str) -> Path:
        """Move an unreferenced original aside (originals are never deleted by the app)."""
        src = self.original_path(sha256)
        makedirs_durable(self.quarantine)
        dst = self.quarantine / sha256
        os.rename(src, dst)
        fsync_dir(src.parent)
        fsync_dir(self.quarantine)
        return dst

    def quarantine_upload(self, upload_id: str) -> Path:
        """Move the bytes of a resumable upload no row refers to aside (never deleted)."""
        src = self.upload_path(upload_id)
        makedirs_durable(self.quarantine)
        dst = self.quarantine / f"upload-{upload_id}"
        os.rename(src, dst)
        fsync_dir(src.parent)
        fsync_dir(self.quarantine)
        return dst

    # -- derivatives -------------------------------------------------------------------
    def derivative_root(self, sha256: str) -> Path:
        sha = self._check_sha(sha256)
        return self.derivatives / sha[:2] / sha[2:4] / sha

    def new_generation(self, sha256: str) -> tuple[str, Path]:
        """A fresh directory for one extraction run; it records its original's SHA-256."""
        gen = uuid.uuid4().hex
        path = self.derivative_root(sha256) / gen
        try:
            makedirs_durable(path)
            (path / "original.json").write_text(json.dumps({"original_sha256": sha256}))
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)  # e.g. a full disk: no half-made set
            raise
        return gen, path

    def generation_dir(self, sha256: str, generation: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", generation):
            raise ValueError(f"not a generation id: {generation!r}")
        return self.derivative_root(sha256) / generation

    def drop_generations(
        self, sha256: str, *, keep: str | None, older_than: float | None = None
    ) -> int:
        """Remove derivative generations other than ``keep`` (optionally only stale ones)."""
        root = self.derivative_root(sha256)
        if not root.exists():
            return 0
        removed = 0
        now = time.time()
        for d in root.iterdir():
            if not d.is_dir() or d.name == keep:
                continue
            if older_than is not None and now - d.stat().st_mtime < older_than:
                continue
            shutil.rmtree(d, ignore_errors=True)
            removed += 1
        return removed

    # -- temp files ----------------------------------------------------------------------
    def dead_temp(self, older_than: float) -> list[Path]:
        """Entries of tmp/ that no live process owns (app/storage/tempfiles.py)."""
        return tempfiles.dead(self, older_than)

    def sweep_temp(self, older_than: float, refs: References | None = None) -> int:
        """Remove the entries of tmp/ that no live process owns, and settle dead
        promotions with ``refs`` (app/storage/tempfiles.py)."""
        return tempfiles.sweep(self, older_than, refs)

    def upload_path(self, upload_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self.uploads / upload_id


def _link(src: Path, dst: Path) -> bool:
    """Link ``src`` as ``dst``; False when ``dst`` exists (never replaced)."""
    try:
        os.link(src, dst)  # atomic, and never replaces an existing original
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise
    if dst.exists():  # a filesystem without hard links: rename if still absent
        return False
    os.rename(src, dst)
    return True


def _lock_now(path: Path) -> int:
    fd = owned.try_lock(path)
    if fd is None:
        raise RuntimeError(f"{path} is locked by another writer")
    return fd


def get_store() -> MediaStore:
    from app.config import get_settings

    return MediaStore(get_settings().media_root)
