"""Node-local working copies for processing (ffmpeg, Pillow and numpy need files).

On the local backend every function here is a thin pass-through: the original and the
derivatives already are files under ``MEDIA_ROOT``, and what a step makes is written in
place, as before. On S3 a worker node shares no disk with the others:

- :func:`original` / :func:`derivative` / :func:`generation` give a copy from the bucket,
  kept in ``MEDIA_ROOT/cache/`` (``originals/<aa>/<bb>/<sha256>``, ``derivatives/<key>``).
  A copy is downloaded to a temp name and renamed into place only once its size (and, for
  an original, its SHA-256) matched: a corrupted or truncated object is refused
  (:class:`CopyMismatch`) and nothing is cached. The cache is bounded by
  ``ARCHIVE_S3_CACHE_BYTES``: after each download the least recently used copies go.
  Each copy is used inside a ``with`` block holding a shared lock on it, which the eviction
  respects; a per-key lock file serialises concurrent downloads of the same object, so two
  workers of one node download it once. Only generation derivatives (immutable: a new run
  gets a new generation) are cached, never ``public/`` objects (re-made under one key).
- :func:`output` / :func:`output_folder` give a place to write a new derivative (a scratch
  file or folder in ``MEDIA_ROOT/cache/work/``) and upload it when the block ends without
  an error; :func:`publish_generation` uploads a keyframe run's generation folder and
  removes the local scratch; :func:`drop_generation` / :func:`drop_generations` remove
  generations from the bucket and the node.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.config import get_settings
from app.storage.backend import (
    DERIVATIVES,
    Backend,
    check_derived_key,
    check_prefix,
    derivative_key,
    original_key,
)
from app.storage.configured import get_backend
from app.storage.fs import makedirs_durable
from app.storage.local import LocalBackend
from app.storage.store import MediaStore

log = logging.getLogger("archive.storage")

CACHE = "cache"
WORK = "work"
_GENERATION = re.compile(r"^[0-9a-f]{32}$")
_PART = ".part-"
_LOCK = ".lock-"
WORK_STALE_SECONDS = 24 * 3600.0


class CopyMismatch(Exception):
    """The bytes read from the store are not what the archive recorded (a corrupted or
    replaced object): the working copy was refused, nothing was cached."""


def _local() -> LocalBackend | None:
    backend = get_backend()
    return backend if isinstance(backend, LocalBackend) else None


def cache_root() -> Path:
    return Path(get_settings().media_root) / CACHE


def _store() -> MediaStore:
    return MediaStore(get_settings().media_root)


# -- reading ---------------------------------------------------------------------------


@contextlib.contextmanager
def original(sha256: str, size: int | None = None) -> Iterator[Path]:
    """A readable file with the original's bytes (checked against ``sha256``, and ``size``
    when given, while it downloads)."""
    local = _local()
    if local is not None:
        yield local.store.original_path(sha256)
        return
    key = original_key(sha256)
    path = cache_root() / "originals" / sha256[:2] / sha256[2:4] / sha256
    with _held(get_backend(), key, path, sha256=sha256, size=size):
        yield path


@contextlib.contextmanager
def derivative(key: str, sha256: str | None = None) -> Iterator[Path]:
    """A readable file with a generation derivative's bytes (``derivatives/<sha>/<gen>/...``);
    FileNotFoundError when there is no such object."""
    with generation_files([key], sha256s={key: sha256} if sha256 else None) as paths:
        if key not in paths:
            raise FileNotFoundError(key)
        yield paths[key]


@contextlib.contextmanager
def generation(sha256: str, gen: str, names: Iterable[str]) -> Iterator[Path]:
    """A folder holding the named files of a generation (those that exist: a missing one is
    simply not there, as in a local generation directory)."""
    local = _local()
    if local is not None:
        yield local.store.generation_dir(sha256, gen)
        return
    keys = [derivative_key(sha256, gen, n) for n in names]
    with generation_files(keys):
        yield _cache_path(derivative_key(sha256, gen, "x")).parent


@contextlib.contextmanager
def generation_files(
    keys: Iterable[str], sha256s: dict[str, str | None] | None = None
) -> Iterator[dict[str, Path]]:
    local = _local()
    if local is not None:
        yield {k: p for k in keys if (p := local.path(k)).is_file()}
        return
    backend = get_backend()
    with contextlib.ExitStack() as stack:
        found: dict[str, Path] = {}
        for key in keys:
            path = _cache_path(key)
            try:
                stack.enter_context(
                    _held(backend, key, path, sha256=(sha256s or {}).get(key), size=None)
                )
            except FileNotFoundError:
                continue
            found[key] = path
        yield found


def _cache_path(key: str) -> Path:
    check_derived_key(key)
    parts = key.split("/")
    if parts[0] + "/" != DERIVATIVES or len(parts) < 4 or not _GENERATION.match(parts[2]):
        raise ValueError(f"only generation derivatives are cached, not {key!r}")
    return cache_root().joinpath(*parts)


@contextlib.contextmanager
def _held(
    backend: Backend, key: str, path: Path, *, sha256: str | None, size: int | None
) -> Iterator[None]:
    """``path`` holds the object's bytes for the duration of the block (a shared lock on it
    keeps the eviction off)."""
    makedirs_durable(path.parent)
    downloaded = False
    with _key_lock(path):
        if path.is_file():
            os.utime(path)  # recently used
        else:
            _download(backend, key, path, sha256=sha256, size=size)
            downloaded = True
        fd = os.open(path, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        if downloaded:
            evict(get_settings().s3_cache_bytes)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _key_lock(path: Path, *, wait: bool = True) -> Iterator[bool]:
    lock = path.with_name(_LOCK + path.name)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _download(
    backend: Backend, key: str, path: Path, *, sha256: str | None, size: int | None
) -> None:
    """The object into ``path`` (temp name, checked, fsynced, renamed): all or nothing."""
    if size is None:
        found = backend.stat(key)
        if found is None:
            raise FileNotFoundError(key)
        size = found.size
    tmp = path.with_name(f"{_PART}{path.name}-{uuid.uuid4().hex}")
    h = hashlib.sha256()
    got = 0
    try:
        with open(tmp, "wb") as fh:
            for chunk in backend.read(key):
                h.update(chunk)
                got += len(chunk)
                if got > size:
                    break
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if got != size:
            raise CopyMismatch(
                f"the object {key} read from the {backend.name} store has "
                f"{'more than ' if got > size else ''}{got} bytes, not the {size} recorded: "
                "the working copy was refused"
            )
        if sha256 is not None and h.hexdigest() != sha256:
            raise CopyMismatch(
                f"the object {key} read from the {backend.name} store does not match its "
                f"SHA-256 (expected {sha256}, read {h.hexdigest()}): the working copy was "
                "refused (run a fixity check)"
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _cached_files(root: Path) -> list[Path]:
    out = []
    for area in ("originals", "derivatives"):
        base = root / area
        if base.exists():
            out += [
                p for p in base.rglob("*") if p.is_file() and not p.name.startswith((_LOCK, _PART))
            ]
    return out


def cache_size() -> int:
    """Bytes held by the node's working copies."""
    total = 0
    for p in _cached_files(cache_root()):
        with contextlib.suppress(FileNotFoundError):
            total += p.stat().st_size
    return total


def evict(limit: int) -> int:
    """Remove the least recently used working copies until the cache holds at most ``limit``
    bytes; copies in use (a shared lock) stay. Returns how many went."""
    entries = []
    for p in _cached_files(cache_root()):
        with contextlib.suppress(FileNotFoundError):
            st = p.stat()
            entries.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in entries)
    removed = 0
    for _, size, p in sorted(entries, key=lambda e: (e[0], str(e[2]))):
        if total <= limit:
            break
        if _evict_one(p):
            total -= size
            removed += 1
    if total > limit:
        log.warning("the working-copy cache holds %d bytes (limit %d): all in use", total, limit)
    return removed


def _evict_one(path: Path) -> bool:
    with _key_lock(path, wait=False) as locked:
        if not locked:
            return False  # being downloaded or opened right now
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # in use
            path.unlink(missing_ok=True)
            return True
        finally:
            os.close(fd)


# -- writing ---------------------------------------------------------------------------


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A private folder for files being made (removed afterwards)."""
    work = cache_root() / WORK
    makedirs_durable(work)
    _sweep_work(work)
    folder = work / f"{os.getpid()}-{uuid.uuid4().hex}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _sweep_work(work: Path) -> None:
    """Scratch folders left by a process that died (a day old)."""
    now = time.time()
    for d in work.iterdir():
        with contextlib.suppress(OSError):
            if now - d.stat().st_mtime > WORK_STALE_SECONDS:
                shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def output(key: str) -> Iterator[Path]:
    """Where to write the derivative ``key``; stored when the block ends without an error.
    Local: the key's own file (written in place, as before); S3: a scratch file, uploaded."""
    check_derived_key(key)
    local = _local()
    if local is not None:
        path = local.path(key)
        makedirs_durable(path.parent)
        yield path
        return
    with scratch() as folder:
        path = folder / key.rsplit("/", 1)[1]
        yield path
        get_backend().put_derivative_file(key, path)


@contextlib.contextmanager
def output_folder(prefix: str) -> Iterator[Path]:
    """A folder to fill with the derivatives ``<prefix><name>`` (flat), replacing what was
    stored under ``prefix`` when the block ends without an error. Local: the folder itself
    (not created: the caller makes it); S3: a scratch folder, uploaded."""
    check_prefix(prefix)
    local = _local()
    if local is not None:
        yield local.path(prefix.rstrip("/"))
        return
    with scratch() as folder:
        out = folder / "out"
        yield out
        backend = get_backend()
        backend.delete_prefix(prefix)
        _upload_folder(backend, prefix, out)


def _upload_folder(backend: Backend, prefix: str, folder: Path) -> int:
    count = 0
    if not folder.is_dir():
        return 0
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith("."):
            backend.put_derivative_file(prefix + p.name, p)
            count += 1
    return count


def save(key: str, path: Path) -> None:
    """Store a file made elsewhere as ``key`` (nothing to do when it is the key's file)."""
    get_backend().put_derivative_file(key, path)


def publish_generation(sha256: str, gen: str, folder: Path) -> None:
    """A keyframe run's generation folder into the store, before the rows that point at it
    commit; on S3 the local scratch then goes (the node keeps no derivatives)."""
    backend = get_backend()
    if isinstance(backend, LocalBackend):
        return  # made in place
    _upload_folder(backend, derivative_key(sha256, gen, "x")[:-1], folder)
    shutil.rmtree(folder, ignore_errors=True)


def drop_generation(sha256: str, gen: str) -> None:
    """One generation, from the store and this node (a run whose rows never committed)."""
    store = _store()
    shutil.rmtree(store.generation_dir(sha256, gen), ignore_errors=True)
    backend = get_backend()
    if not isinstance(backend, LocalBackend):
        backend.delete_prefix(derivative_key(sha256, gen, "x")[:-1])


def drop_generations(sha256: str, *, keep: str | None) -> int:
    """Every generation but ``keep``, from the store (and this node's scratch)."""
    removed = _store().drop_generations(sha256, keep=keep)
    backend = get_backend()
    if isinstance(backend, LocalBackend):
        return removed
    prefix = derivative_key(sha256, "x")[:-1]
    gens = {o.key[len(prefix) :].split("/", 1)[0] for o in backend.list(prefix)}
    for gen in sorted(g for g in gens if _GENERATION.match(g) and g != keep):
        backend.delete_prefix(f"{prefix}{gen}/")
        removed += 1
    return removed
