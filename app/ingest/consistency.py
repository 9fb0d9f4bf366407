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

Used after every fault in tests/faults/; ``archive reconcile`` (issue 14) can report and
act on the same findings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.ingest.models import Media, Upload
from app.jobs.models import ProcessingJob
from app.storage import MediaStore, hash_file
from app.storage.owned import try_lock


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str  # a SHA-256, a path under the store, a job or upload id
    detail: str


def check(
    session: Session,
    store: MediaStore,
    *,
    deep: bool = True,
    stale_after: float | None = None,
) -> list[Finding]:
    """Every inconsistency between the rows and the store (empty: all is well). ``deep``
    re-hashes each original; ``stale_after`` is the age rule for other hosts' temp files
    (default ``ARCHIVE_UPLOAD_TMP_STALE_SECONDS``)."""
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
    older = get_settings().upload_tmp_stale_seconds if stale_after is None else stale_after
    for p in store.dead_temp(older):
        findings.append(Finding("stale_temp", f"tmp/{p.name}", "no live process owns it"))
    jobs = session.execute(
        select(ProcessingJob.id, ProcessingJob.media_id, ProcessingJob.original_sha256)
    ).all()
    for j in jobs:
        row = by_id.get(j.media_id)
        if row is None or row.sha256 != j.original_sha256:
            findings.append(
                Finding("job_without_original", f"job {j.id}", "its media row is gone or differs")
            )
        elif not store.has_original(j.original_sha256):
            findings.append(
                Finding("job_without_original", f"job {j.id}", "its original file is missing")
            )
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
