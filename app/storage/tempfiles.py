"""The sweep of ``tmp/``: what no live process owns goes, at once (see app/storage/owned.py).

- This host's files whose lock can be taken belong to a dead process, whatever their age:
  an upload's ``.part`` file is removed; a promotion's intent is settled (below).
- Anything else (another host's files, names without an owner) is removed once nothing
  has written to it for ``older_than`` seconds, as before.

A dead promotion (its process died between the rename into place and the end of the row's
transaction) is settled with the database's answers (:class:`References`): the row
committed, so only the intent goes; or it did not, and the original goes to
``quarantine/`` (never deleted), except for a resumable upload that is still open, whose
bytes go back to ``uploads/<id>`` so it resumes from its last committed offset. While the
database cannot answer, the intent waits for the next sweep.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.storage import owned
from app.storage.fs import fsync_dir

if TYPE_CHECKING:
    from app.storage.store import MediaStore

log = logging.getLogger("archive.storage")


@dataclass(frozen=True)
class References:
    """What the database says about a promotion whose process is gone."""

    has_row: Callable[[str], bool]  # a media row references this SHA-256
    upload_open: Callable[[str], bool] = lambda _id: False  # this resumable upload is open


@contextmanager
def _dead_entries(
    store: MediaStore, older_than: float
) -> Iterator[list[tuple[Path, owned.Owner | None, int | None]]]:
    """(path, owner, descriptor holding its lock) for each dead entry; locks are held
    until the block ends, so no entry comes back to life meanwhile."""
    found: list[tuple[Path, owned.Owner | None, int | None]] = []
    try:
        if store.tmp.exists():
            now = time.time()
            for p in store.tmp.iterdir():
                owner = owned.parse(p.name)
                if owner is None or not owner.local:
                    try:
                        if now - p.lstat().st_mtime < older_than:
                            continue
                    except FileNotFoundError:
                        continue
                if p.is_symlink() or p.is_dir():
                    found.append((p, owner, None))
                    continue
                fd = owned.try_lock(p)
                if fd is not None:
                    found.append((p, owner, fd))
        yield found
    finally:
        for _p, _o, fd in found:
            if fd is not None:
                os.close(fd)


def dead(store: MediaStore, older_than: float) -> list[Path]:
    """Entries of tmp/ that no live process owns (what :func:`sweep` would handle)."""
    with _dead_entries(store, older_than) as entries:
        return [p for p, _o, _fd in entries]


def sweep(store: MediaStore, older_than: float, refs: References | None = None) -> int:
    """Remove dead entries of tmp/ and settle dead promotions; returns how many went."""
    removed = 0
    with _dead_entries(store, older_than) as entries:
        for p, owner, fd in entries:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            elif owner is not None and owner.sha256 is not None:
                if refs is None or fd is None:
                    continue
                try:
                    _settle(store, p, fd, owner, refs)
                except Exception:  # noqa: BLE001 - e.g. the database is down: next sweep
                    log.warning("the promotion %s cannot be settled yet", p.name, exc_info=True)
                    continue
            else:
                p.unlink(missing_ok=True)
            removed += 1
    return removed


def settle_upload(store: MediaStore, upload_id: str, refs: References) -> bool:
    """Settle a dead promotion of this resumable upload now (its client is back before
    the next sweep); True when one was found."""
    pattern = f"*-{upload_id}.*.promote-upload"
    found = False
    for p in store.tmp.glob(pattern):
        owner = owned.parse(p.name)
        if owner is None or not owner.local:
            continue
        fd = owned.try_lock(p)
        if fd is None:
            continue
        try:
            _settle(store, p, fd, owner, refs)
            found = True
        finally:
            os.close(fd)
    return found


def _settle(store: MediaStore, intent: Path, fd: int, owner: owned.Owner, refs: References) -> None:
    sha = owner.sha256
    assert sha is not None
    dst = store.original_path(sha)
    linked = owned.same_file(fd, dst)
    if not (linked and refs.has_row(sha)):  # the row never committed
        upload = store.uploads / owner.id
        if owner.from_upload and not upload.exists() and refs.upload_open(owner.id):
            os.chmod(intent, 0o600)
            os.rename(intent, upload)
            fsync_dir(store.uploads)
            if linked:
                os.unlink(dst)  # never an original: no row, no 201
                fsync_dir(dst.parent)
            log.warning("upload %s died before its commit: its bytes are back", owner.id)
        elif linked:
            store.quarantine_original(sha)
            log.warning("original %s has no row (its upload died): quarantined", sha)
    intent.unlink(missing_ok=True)
    fsync_dir(store.tmp)
