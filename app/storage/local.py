"""The local-disk backend: today's MediaStore (app/storage/store.py) behind the Backend
interface (app/storage/backend.py), with the same files in the same places."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from app.storage.backend import (
    DERIVATIVES,
    ORIGINALS,
    PUBLIC,
    SHA_RE,
    ObjectStat,
    StorageTooLarge,
    StorageUnavailable,
    Stored,
    check_derived_key,
    check_key,
    check_prefix,
)
from app.storage.derivatives import PLAYBACK_DIR, PREVIEW, preview_dir
from app.storage.fixity import FileCheck, Throttle, check_file
from app.storage.fs import fsync_dir, makedirs_durable
from app.storage.store import MediaStore, TooLarge, Written

READ_BLOCK = 1024 * 1024


class LocalBackend:
    name = "local"

    def __init__(self, store: MediaStore) -> None:
        self.store = store

    def path(self, key: str) -> Path:
        """The file behind a key (only this module and app/storage know it)."""
        check_key(key)
        top, sha, *rest = key.split("/")
        if top + "/" == ORIGINALS:
            return self.store.original_path(sha)
        if top + "/" == DERIVATIVES and rest[:1] == [PREVIEW]:  # MEDIA_ROOT/preview/...
            return preview_dir(self.store.root, sha).joinpath(*rest[1:])
        return self._base(top + "/").joinpath(sha[:2], sha[2:4], sha, *rest)

    def _base(self, top: str) -> Path:
        if top == ORIGINALS:
            return self.store.originals
        return self.store.derivatives if top == DERIVATIVES else self.store.root / PLAYBACK_DIR

    def check(self) -> None:
        try:
            self.store.ensure()
        except OSError as exc:
            raise StorageUnavailable(
                f"the media store {self.store.root} is not usable: {exc.strerror or exc}"
            ) from exc

    def put_original(self, chunks: Iterable[bytes], *, limit: int) -> Stored:
        temp = self.store.open_temp(limit)
        try:
            for chunk in chunks:
                temp.write(chunk)
            written = temp.finish()
        except TooLarge as exc:
            raise StorageTooLarge(str(exc)) from exc
        except BaseException:
            temp.discard()
            raise
        return self._keep(written)

    def begin_original(self, limit: int, *, sha256: str | None = None) -> None:
        """None: the upload's temp file is what ``MediaStore.promote`` puts in place."""
        return None

    def put_original_file(self, path: Path, sha256: str, size: int) -> Stored:
        """A copy of ``path`` (hashed while copied) becomes the original ``sha256``; the
        file itself is left alone."""
        temp = self.store.open_temp(size)
        try:
            with open(path, "rb") as fh:
                while block := fh.read(READ_BLOCK):
                    temp.write(block)
            written = temp.finish()
        except TooLarge as exc:
            raise ValueError(f"{path} has more than the {size} bytes expected") from exc
        except BaseException:
            temp.discard()
            raise
        if (written.sha256, written.size) != (sha256, size):
            written.discard()
            raise ValueError(
                f"{path} no longer has SHA-256:{sha256} and {size} bytes; nothing was stored"
            )
        return self._keep(written)

    def _keep(self, written: Written) -> Stored:
        try:
            promotion = self.store.promote(written)
        except BaseException:
            written.discard()
            raise
        if written.release is not None:
            written.release()
        promotion.end(committed=True)
        if not promotion.created and promotion.path.stat().st_size != written.size:
            raise RuntimeError(
                f"the stored original {written.sha256} has "
                f"{promotion.path.stat().st_size} bytes, not {written.size}"
            )
        return Stored(written.sha256, written.size, promotion.created)

    def put_derivative(self, key: str, data: bytes) -> None:
        _replace(self.path(check_derived_key(key)), lambda out: out.write(data))

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        fh = open(self.path(key), "rb")  # noqa: SIM115 - FileNotFoundError now, not lazily
        return _chunks(fh, start, length)

    def delete_derivative(self, key: str) -> None:
        self.path(check_derived_key(key)).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[ObjectStat]:
        for top in (ORIGINALS, DERIVATIVES, PUBLIC):
            if not (top.startswith(prefix) or prefix.startswith(top)):
                continue
            base = self._base(top)
            if not base.exists():
                continue
            for p in sorted(base.rglob("*")):
                key = self._key(top, base, p)
                if key is None or not key.startswith(prefix):
                    continue
                st = p.stat()
                yield ObjectStat(key, st.st_size, st.st_mtime)

    @staticmethod
    def _key(top: str, base: Path, p: Path) -> str | None:
        if not p.is_file() or p.is_symlink():
            return None
        parts = p.relative_to(base).parts  # aa/bb/<sha>[/rest...]
        if len(parts) < 3 or not SHA_RE.match(parts[2]):
            return None
        if top == ORIGINALS:
            return top + parts[2] if len(parts) == 3 else None
        return top + "/".join(parts[2:]) if len(parts) > 3 else None

    def stat(self, key: str) -> ObjectStat | None:
        try:
            st = self.path(key).stat()
        except FileNotFoundError:
            return None
        return ObjectStat(key, st.st_size, st.st_mtime)

    def check_original(
        self, sha256: str, size: int, throttle: Throttle | None = None, *, sha512: bool = False
    ) -> FileCheck:
        return check_file(self.store.original_path(sha256), sha256, size, throttle, sha512=sha512)

    def sweep_staging(self, older_than: float) -> int:
        return self.store.sweep_temp(older_than)

    def put_derivative_file(self, key: str, path: Path) -> None:
        dst = self.path(check_derived_key(key))
        if dst.exists() and os.path.samefile(path, dst):
            return  # made in place (a generation directory, the playback copy)
        with open(path, "rb") as src:
            _replace(dst, lambda out: shutil.copyfileobj(src, out, READ_BLOCK))

    def delete_prefix(self, prefix: str) -> int:
        top, sha, names = check_prefix(prefix)
        folders = [self._base(top + "/").joinpath(sha[:2], sha[2:4], sha, *names)]
        if top + "/" == DERIVATIVES and names[:1] == [PREVIEW]:
            folders = [preview_dir(self.store.root, sha).joinpath(*names[1:])]
        elif top + "/" == DERIVATIVES and not names:
            folders.append(preview_dir(self.store.root, sha))
        removed = 0
        for folder in folders:
            if folder.is_dir():
                removed += sum(1 for p in folder.rglob("*") if p.is_file())
                shutil.rmtree(folder, ignore_errors=True)
        return removed


def _replace(dst: Path, write: Callable[[BinaryIO], object]) -> None:
    """Create or replace ``dst`` atomically and durably: written to a temp file beside it,
    fsynced, renamed over it, the directory fsynced."""
    makedirs_durable(dst.parent)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=".put-")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(dst.parent)


def _chunks(fh: BinaryIO, start: int, length: int | None) -> Iterator[bytes]:
    with fh:
        fh.seek(start)
        left = length
        while left is None or left > 0:
            block = fh.read(READ_BLOCK if left is None else min(READ_BLOCK, left))
            if not block:
                return
            if left is not None:
                left -= len(block)
            yield block
