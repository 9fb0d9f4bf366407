"""Copy a local media store into another backend (``archive storage migrate --to s3``).

Domain-free (the kernel): the caller (app/ingest/migration.py) says which originals the
database knows (:class:`Original`: SHA-256, size, current derivative generation) and
writes the run to the custody log; this module only reads the local store and writes the
target, key by key (app/storage/backend.py):

- ``originals/<sha256>``: when the target has it already with the right size, it is read
  back in full and its SHA-256 checked, then skipped (so a second run resumes where the
  first stopped); else it is streamed up create-only (``put_original_file``: an object
  under the key is never overwritten), and then read back and checked the same way. The
  local file is re-hashed on its way out too, and a file that no longer matches its name
  is not stored. A mismatch anywhere is a failure,
  reported, never repaired: a corrupt object in the bucket stays for a person to look at.
- ``derivatives/<sha256>/<generation>/...`` (the current generation only),
  ``public/<sha256>/...`` (the playback copy, the face-blurred copies of the current
  generation) and ``derivatives/<sha256>/preview/...`` (the team's blurred preview):
  replaceable objects, skipped when the target holds the same bytes, else
  put (replaced), then read back and compared by SHA-256.

Nothing local is ever deleted or changed. A store that cannot be reached stops the run
(StorageUnavailable / StorageDenied); every other failure is counted and the run goes on.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.kit import faults
from app.storage.backend import (
    Backend,
    check_derived_key,
    derivative_key,
    original_key,
    preview_key,
    public_key,
)
from app.storage.derivatives import BLURRED_DIR, PLAYBACK_DIR, preview_dir
from app.storage.fixity import OK
from app.storage.local import LocalBackend

BLOCK = 1024 * 1024
FAULT_POINT = "migrate_after_object"  # tests kill the run here (app/kit/faults.py)


@dataclass(frozen=True)
class Original:
    """An original the database knows."""

    sha256: str
    size: int
    generation: str | None = None  # the current derivative generation, if any


@dataclass
class Report:
    originals: int = 0  # how many the database knows
    copied: int = 0  # originals streamed up and verified
    verified: int = 0  # originals already in the target, verified, skipped
    derivatives_copied: int = 0
    derivatives_kept: int = 0  # already there with the same bytes
    bytes_copied: int = 0
    failures: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # local originals no row refers to
    seconds: float = 0.0
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "originals": self.originals,
            "originals_copied": self.copied,
            "originals_verified": self.verified,
            "derivatives_copied": self.derivatives_copied,
            "derivatives_kept": self.derivatives_kept,
            "bytes_copied": self.bytes_copied,
            "failures": len(self.failures),
            "orphans": len(self.orphans),
        }


class Failed(Exception):
    """One object could not be copied or verified (the run goes on)."""


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def migrate(
    source: LocalBackend,
    target: Backend,
    originals: Sequence[Original],
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> Report:
    """Copy every original in ``originals`` and its derivatives from ``source`` to
    ``target``, one progress line each through ``say``."""
    started = time.monotonic()
    report = Report(originals=len(originals), dry_run=dry_run)
    known = {o.sha256 for o in originals}
    report.orphans = [sha for sha in source.store.iter_originals() if sha not in known]
    total = len(originals)
    for i, o in enumerate(originals, 1):
        tag = f"[{i}/{total}] originals/{o.sha256[:12]}…"
        try:
            say(f"{tag} {_original(source, target, o, report, dry_run=dry_run)}")
        except Failed as exc:
            report.failures.append(f"originals/{o.sha256}: {exc}")
            say(f"{tag} FAILED: {exc}")
            continue
        faults.point(FAULT_POINT)
        keys = list(_derived(source, o))
        if not keys:
            continue
        copied = kept = size = 0
        bad: list[str] = []
        for key, path in keys:
            try:
                done = _derivative(target, key, path, dry_run=dry_run)
            except Failed as exc:
                bad.append(key)
                report.failures.append(f"{key}: {exc}")
                continue
            if done:
                copied += 1
                size += path.stat().st_size
            else:
                kept += 1
        report.derivatives_copied += copied
        report.derivatives_kept += kept
        report.bytes_copied += 0 if dry_run else size
        verb = "to copy" if dry_run else "copied, verified"
        line = f"{tag} derivatives: {copied} {verb} ({_mb(size)}), {kept} already there"
        say(line + (f", {len(bad)} FAILED ({', '.join(bad)})" if bad else ""))
    report.seconds = time.monotonic() - started
    return report


def _original(
    source: LocalBackend, target: Backend, o: Original, report: Report, *, dry_run: bool
) -> str:
    key = original_key(o.sha256)
    there = target.stat(key)
    if there is not None:
        if there.size != o.size:
            raise Failed(
                f"the target already holds {there.size} bytes under this key, the record "
                f"says {o.size}: left as it is (never overwritten); look at the object"
            )
        if dry_run:
            return f"{_mb(o.size)} already there (would be verified)"
        _verify(target, o)
        report.verified += 1
        return f"{_mb(o.size)} already there, verified"
    path = source.path(key)
    if not path.is_file():
        raise Failed("the local file is missing and the target does not have it")
    if path.stat().st_size != o.size:
        raise Failed(f"the local file has {path.stat().st_size} bytes, the record says {o.size}")
    if dry_run:
        return f"{_mb(o.size)} to copy"
    try:
        target.put_original_file(path, o.sha256, o.size)  # create-only, re-hashed on the way
    except ValueError as exc:
        raise Failed(
            f"the local file no longer matches its record ({exc}): not copied; run "
            "`archive fixity` and restore it from a copy"
        ) from exc
    _verify(target, o)
    report.copied += 1
    report.bytes_copied += o.size
    return f"{_mb(o.size)} copied, verified"


def _verify(target: Backend, o: Original) -> None:
    """Read the whole object back from the target and compare SHA-256 and size."""
    check = target.check_original(o.sha256, o.size)
    if check.status != OK:
        raise Failed(f"read back from the target: {check.status}: {check.detail}")


def _derived(source: LocalBackend, o: Original) -> Iterator[tuple[str, Path]]:
    """(key, local file) of the current generation's derivatives and the public copies."""
    if o.generation is not None:
        gen = source.store.generation_dir(o.sha256, o.generation)
        for p in _files(gen):
            yield derivative_key(o.sha256, o.generation, *p.relative_to(gen).parts), p
    public = source.store.root / PLAYBACK_DIR / o.sha256[:2] / o.sha256[2:4] / o.sha256
    for p in _files(public):
        parts = p.relative_to(public).parts
        if parts[0] == BLURRED_DIR and (len(parts) < 3 or parts[1] != o.generation):
            continue  # the blurred images of an older generation: not served any more
        yield public_key(o.sha256, *parts), p
    preview = preview_dir(source.store.root, o.sha256)  # the team's blurred preview
    for p in _files(preview):
        yield preview_key(o.sha256, *p.relative_to(preview).parts), p


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _digest(chunks: Iterable[bytes]) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    for c in chunks:
        h.update(c)
        n += len(c)
    return h.hexdigest(), n


def _derivative(target: Backend, key: str, path: Path, *, dry_run: bool) -> bool:
    """Put one derivative unless the target has the same bytes; True when it was (or, dry,
    would be) copied."""
    check_derived_key(key)
    want = _digest(_file_chunks(path))
    there = target.stat(key)
    if there is not None and there.size == want[1] and _read_back(target, key) == want:
        return False
    if dry_run:
        return True
    target.put_derivative_file(key, path)  # streamed (in parts on S3)
    if _read_back(target, key) != want:
        raise Failed("read back from the target, its SHA-256 differs from the local file")
    return True


def _read_back(target: Backend, key: str) -> tuple[str, int] | None:
    try:
        return _digest(target.read(key))
    except FileNotFoundError:
        return None


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            yield block
