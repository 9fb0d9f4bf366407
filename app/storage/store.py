"""The media store: content-addressed, write-once originals and a separate derivatives tree.

Layout under ``MEDIA_ROOT``::

    tmp/                          uploads being streamed (removed on failure; swept when stale)
    uploads/<id>                  resumable (tus) uploads in progress; kept across restarts
    originals/<aa>/<bb>/<sha256>  the evidence: written once, read-only (0o444), never touched
    derivatives/<aa>/<bb>/<sha256>/<generation>/   keyframes, thumbnails, poster, contact sheet
    quarantine/                   orphan originals moved aside by ``reconcile`` (never deleted)

Durability order for a new original: temp file written and fsynced (the caller may
validate the complete file while the fsync runs), atomically linked into place
(``os.link`` refuses to overwrite), made read-only, and the directory fsynced. Only then
may the database row be committed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.storage.writer import HashingFile

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
HASH_BLOCK = 1024 * 1024


class TooLarge(Exception):
    """The stream went over the size limit (the temp file has been removed)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload is larger than the limit of {limit} bytes")
        self.limit = limit


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _makedirs_durable(path: Path) -> None:
    """Create ``path`` and parents, fsyncing each parent whose entries changed."""
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir()
        fsync_dir(d.parent)


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


class TempWrite(HashingFile):
    """A file in ``tmp/`` being streamed: hashed while written, with a size limit."""

    def __init__(self, path: Path, limit: int, *, direct: bool = True) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
        """fsync and close; the file stays in tmp/ until promoted or discarded."""
        self.sync()
        os.close(self.fd)
        self.close_stage()
        self.closed = True
        return Written(self.path, self.hasher.hexdigest(), self.size)

    def discard(self) -> None:
        if not self.closed:
            os.close(self.fd)
            self.close_stage()
            self.closed = True
        self.path.unlink(missing_ok=True)


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
            _makedirs_durable(d)

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
        _makedirs_durable(self.tmp)
        return TempWrite(self.tmp / f"{uuid.uuid4().hex}.part", limit)

    def promote(self, temp: Path, sha256: str) -> tuple[Path, bool]:
        """Move the fsynced, validated ``temp`` into place; return (path, newly created).

        When the same bytes are already stored, the temp file is dropped and the existing
        original kept (content addressing: same name, same bytes).
        """
        dst = self.original_path(sha256)
        _makedirs_durable(dst.parent)
        os.chmod(temp, 0o444)
        try:
            os.link(temp, dst)  # atomic, and never replaces an existing original
            created = True
        except FileExistsError:
            created = False
        except OSError:  # a filesystem without hard links: rename if still absent
            if dst.exists():
                created = False
            else:
                os.rename(temp, dst)
                created = True
        temp.unlink(missing_ok=True)
        fsync_dir(dst.parent)
        fsync_dir(temp.parent)
        return dst, created

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
        _makedirs_durable(self.quarantine)
        dst = self.quarantine / sha256
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
        _makedirs_durable(path)
        (path / "original.json").write_text(json.dumps({"original_sha256": sha256}))
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
    def sweep_temp(self, older_than: float) -> int:
        """Remove files in tmp/ not written to for ``older_than`` seconds.

        An upload in progress keeps touching its file, so another API node sharing the
        store never loses a live upload.
        """
        if not self.tmp.exists():
            return 0
        removed = 0
        now = time.time()
        for p in self.tmp.iterdir():
            try:
                if now - p.stat().st_mtime >= older_than:
                    if p.is_dir():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def upload_path(self, upload_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self.uploads / upload_id


def get_store() -> MediaStore:
    from app.config import get_settings

    return MediaStore(get_settings().media_root)
