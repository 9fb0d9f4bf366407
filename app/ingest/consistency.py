"""Does the database agree with the media store? A read-only check that returns findings.

:func:`check` changes nothing; it lists what is wrong, one :class:`Finding` each:

- ``original_missing`` / ``original_size`` / ``original_sha256``: a media row whose
  original is absent, of another size, or (``deep``) whose bytes no longer hash to it;
- ``original_without_row``: a file in originals/ that no media row references (an
  original being promoted right now, still locked by its live process, is not one;
  quarantine/ is where such files belong);
- ``stale_temp``: an entry of tmp/ that no live process owns (the start-up sweep removes
  those: after it, there should be none);
- ``job_without_original``: a processing job whose media row is gone or records another
  SHA-256, or whose original is missing;
- ``derivatives_missing``: a media row whose current derivative generation directory is
  gone (keyframe rows pointing at nothing);
- ``upload_bytes_missing``: an open resumable upload whose file is gone or shorter than
  its committed offset.

On S3 (``ARCHIVE_STORAGE=s3``) the rows are compared with the bucket's listing
(``originals/``, ``derivatives/``, ``public/``) instead of the local tree, with the same
kinds, plus one only an object store has:

- ``derivatives_unreferenced``: a derivative generation (``derivatives/<sha>/<gen>/``) no
  media row points at, or public copies (``public/<sha>/``) of an original no row has:
  left by a worker that died between its upload and its commit; removable
  (``archive reconcile --remove-derivatives``).

``tmp/`` and ``uploads/`` are the node's own local directories on both backends.

Used after every fault in tests/faults/; ``archive reconcile`` (issue 14) can report and
act on the same findings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.ingest.models import Media, Upload
from app.jobs.models import ProcessingJob
from app.storage import MediaStore, hash_file
from app.storage.backend import DERIVATIVES, ORIGINALS, PUBLIC, SHA_RE, Backend, ObjectStat
from app.storage.configured import get_backend
from app.storage.fixity import OK
from app.storage.local import LocalBackend
from app.storage.owned import try_lock

GENERATION = re.compile(r"^[0-9a-f]{32}$")  # other names under derivatives/<sha>/ are not


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str  # a SHA-256, a path under the store, a key prefix, a job or upload id
    detail: str
    modified: float | None = None  # an object's (newest object's) time, on an object store


def check(
    session: Session,
    store: MediaStore,
    *,
    deep: bool = True,
    stale_after: float | None = None,
    backend: Backend | None = None,
) -> list[Finding]:
    """Every inconsistency between the rows and the store (empty: all is well). ``deep``
    re-hashes each original; ``stale_after`` is the age rule for other hosts' temp files
    (default ``ARCHIVE_UPLOAD_TMP_STALE_SECONDS``). ``backend``: the configured one by
    default; on an object store the originals and derivatives are its objects."""
    backend = backend or get_backend()
    if not isinstance(backend, LocalBackend):
        return _check_objects(session, store, backend, deep=deep, stale_after=stale_after)
    findings: list[Finding] = []
    media = session.execute(
        select(Media.id, Media.sha256, Media.size, Media.derivative_generation)
    ).all()
    by_id = {m.id: m for m in media}
    for m in media:
        findings += _original(store, m.sha256, m.size, deep=deep)
        if m.derivative_generation is not None:
            gen = store.generation_dir(m.sha256, m.derivative_generation)
            if not gen.is_dir():
                findings.append(
                    Finding("derivatives_missing", m.sha256, f"generation {gen.name} is gone")
                )
    rows = {m.sha256 for m in media}
    for sha in store.iter_originals():
        if sha not in rows and not _in_flight(store, sha):
            findings.append(Finding("original_without_row", sha, "no media row references it"))
    findings += _stale_temp(store, stale_after)
    findings += _jobs(session, by_id, store.has_original)
    findings += _uploads(session, store)
    return findings


def _stale_temp(store: MediaStore, stale_after: float | None) -> list[Finding]:
    older = get_settings().upload_tmp_stale_seconds if stale_after is None else stale_after
    return [
        Finding("stale_temp", f"tmp/{p.name}", "no live process owns it")
        for p in store.dead_temp(older)
    ]


def _jobs(session: Session, by_id: dict[int, Any], has_original: Any) -> list[Finding]:
    findings = []
    jobs = session.execute(
        select(ProcessingJob.id, ProcessingJob.media_id, ProcessingJob.original_sha256)
    ).all()
    for j in jobs:
        row = by_id.get(j.media_id)
        if row is None or row.sha256 != j.original_sha256:
            findings.append(
                Finding("job_without_original", f"job {j.id}", "its media row is gone or differs")
            )
        elif not has_original(j.original_sha256):
            findings.append(
                Finding("job_without_original", f"job {j.id}", "its original file is missing")
            )
    return findings


def _uploads(session: Session, store: MediaStore) -> list[Finding]:
    findings = []
    uploads = session.execute(
        select(Upload.id, Upload.received).where(Upload.state == "uploading")
    ).all()
    for u in uploads:
        path = store.upload_path(u.id)
        size = path.stat().st_size if path.exists() else None
        if size is None or size < u.received:
            findings.append(
                Finding(
                    "upload_bytes_missing",
                    f"upload {u.id}",
                    f"committed offset {u.received}, file "
                    + ("missing" if size is None else f"{size} bytes"),
                )
            )
    return findings


def _check_objects(
    session: Session,
    store: MediaStore,
    backend: Backend,
    *,
    deep: bool,
    stale_after: float | None,
) -> list[Finding]:
    """The same check against an object store's listing (one listing per prefix)."""
    findings: list[Finding] = []
    media = session.execute(
        select(Media.id, Media.sha256, Media.size, Media.derivative_generation)
    ).all()
    by_id = {m.id: m for m in media}
    objects = {
        o.key[len(ORIGINALS) :]: o
        for o in backend.list(ORIGINALS)
        if SHA_RE.match(o.key[len(ORIGINALS) :])
    }
    for m in media:
        found = objects.get(m.sha256)
        if found is None:
            findings.append(
                Finding("original_missing", m.sha256, "the media row's original object is missing")
            )
        elif found.size != m.size:
            findings.append(
                Finding(
                    "original_size",
                    m.sha256,
                    f"{found.size} bytes in the store, {m.size} in the row",
                )
            )
        elif deep and (c := backend.check_original(m.sha256, m.size)).status != OK:
            findings.append(Finding("original_sha256", m.sha256, f"{c.status}: {c.detail}"))
    rows = {m.sha256 for m in media}
    for sha, o in sorted(objects.items()):
        if sha not in rows:
            findings.append(
                Finding(
                    "original_without_row",
                    sha,
                    "no media row references it (an object store's originals are never "
                    "moved or deleted by the archive)",
                    o.modified,
                )
            )
    generations = _group(backend.list(DERIVATIVES), 2)
    current = {(m.sha256, m.derivative_generation) for m in media if m.derivative_generation}
    for sha, gen in sorted(current):
        if (sha, gen) not in generations:
            findings.append(Finding("derivatives_missing", sha, f"generation {gen} is gone"))
    for (sha, gen), objs in sorted(generations.items()):
        if GENERATION.match(gen) and (sha, gen) not in current:
            findings.append(_unreferenced(f"{DERIVATIVES}{sha}/{gen}/", objs, "generation"))
    for (sha,), objs in sorted(_group(backend.list(PUBLIC), 1).items()):
        if sha not in rows:
            findings.append(_unreferenced(f"{PUBLIC}{sha}/", objs, "original"))
    findings += _stale_temp(store, stale_after)
    findings += _jobs(session, by_id, lambda sha: sha in objects)
    findings += _uploads(session, store)
    return findings


def _group(objects: Iterable[ObjectStat], depth: int) -> dict[tuple[str, ...], list[ObjectStat]]:
    """Objects under ``<top>/<sha>[/<gen>]/...`` by (sha[, gen])."""
    out: dict[tuple[str, ...], list[ObjectStat]] = {}
    for o in objects:
        parts = o.key.split("/")
        if len(parts) > depth + 1:
            out.setdefault(tuple(parts[1 : depth + 1]), []).append(o)
    return out


def _unreferenced(prefix: str, objs: list[ObjectStat], what: str) -> Finding:
    size = sum(o.size for o in objs)
    return Finding(
        "derivatives_unreferenced",
        prefix,
        f"{len(objs)} object(s), {size} bytes: no media row points at this {what} "
        "(removable: --remove-derivatives)",
        max(o.modified for o in objs),
    )


def _original(store: MediaStore, sha: str, size: int, *, deep: bool) -> list[Finding]:
    path = store.original_path(sha)
    if not path.is_file():
        return [Finding("original_missing", sha, "the media row's original file is missing")]
    actual = path.stat().st_size
    if actual != size:
        return [Finding("original_size", sha, f"{actual} bytes on disk, {size} in the row")]
    if deep and hash_file(path)[0] != sha:
        return [Finding("original_sha256", sha, "the bytes no longer match their SHA-256")]
    return []


def _in_flight(store: MediaStore, sha: str) -> bool:
    """A live process holds the original (promoted, its row not committed yet)."""
    fd = try_lock(store.original_path(sha))
    if fd is None:
        return store.has_original(sha)
    os.close(fd)
    return False
