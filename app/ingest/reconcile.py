"""``archive reconcile`` (and its schedule): where the database and the media store disagree.

Built on the read-only check in app/ingest/consistency.py (the same findings the fault
tests use), without its deep re-hash (that is the fixity cycle's job), plus what only a
reconciliation looks for:

- ``upload_without_row``: bytes in ``uploads/`` that no resumable upload row refers to;
- ``stale_upload``: a resumable upload still open long after its last progress
  (``ARCHIVE_UPLOAD_EXPIRE_SECONDS``: the expired-uploads sweeper deletes it).

Files younger than the upload timeout (``ARCHIVE_UPLOAD_TMP_STALE_SECONDS``) are skipped:
an upload or promotion may still be writing them. The run is dry by default; with
``quarantine`` the untracked files (``original_without_row``, ``upload_without_row``) are
moved to ``MEDIA_ROOT/quarantine/``, each move written to the custody log. Nothing is ever
deleted here, except with ``remove_derivatives``; every other finding is for a person to
look at.

On S3 the originals are the bucket's objects (app/ingest/consistency.py). An object no
row refers to is reported and stays where it is, even with ``quarantine``: a WORM bucket
(Object Lock) cannot move or delete it, and the archive never deletes an original.
``remove_derivatives`` deletes the derivative generations and public copies no row points
at (``derivatives_unreferenced``: rebuildable by re-processing), in one custody event.
The age rule uses the objects' own times there.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.custody import service as custody
from app.ingest.consistency import Finding, check
from app.ingest.models import Upload
from app.kit.clock import utcnow
from app.storage import MediaStore
from app.storage.backend import Backend
from app.storage.configured import get_backend
from app.storage.local import LocalBackend

log = logging.getLogger("archive.reconcile")
UNTRACKED = ("original_without_row", "upload_without_row")
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    young: list[str] = field(default_factory=list)  # untracked, but too new to judge
    quarantined: dict[str, str] = field(default_factory=dict)  # subject -> where it went
    removed: dict[str, int] = field(default_factory=dict)  # key prefix -> objects deleted
    kept: list[str] = field(default_factory=list)  # untracked originals left in the bucket
    backend: str = "local"

    @property
    def unresolved(self) -> list[Finding]:
        return [
            f
            for f in self.findings
            if f.subject not in self.quarantined and f.subject not in self.removed
        ]


def _age(path: Path) -> float:
    """Seconds since the file got here (a rename or a link updates ctime, not mtime)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return 0.0
    return time.time() - max(st.st_mtime, st.st_ctime)


def _finding_age(store: MediaStore, f: Finding) -> float | None:
    """Seconds since an untracked thing got there; None: not judged by age."""
    if f.modified is not None:
        return time.time() - f.modified
    path = _path(store, f)
    return None if path is None else _age(path)


def _path(store: MediaStore, f: Finding) -> Path | None:
    if f.kind == "original_without_row":
        return store.original_path(f.subject)
    if f.kind == "upload_without_row":
        return store.upload_path(f.subject)
    return None


def reconcile(
    session: Session,
    store: MediaStore,
    *,
    quarantine: bool = False,
    actor: str = "system:reconcile",
    min_age: float | None = None,
    remove_derivatives: bool = False,
    backend: Backend | None = None,
) -> Report:
    settings = get_settings()
    backend = backend or get_backend()
    young = settings.upload_tmp_stale_seconds if min_age is None else min_age
    report = Report(backend=backend.name)
    found = check(session, store, deep=False, backend=backend)
    found += _uploads_without_row(session, store)
    found += _stale_uploads(session, settings.upload_expire_seconds)
    for f in found:
        age = _finding_age(store, f)
        if age is not None and age < young:
            report.young.append(f.subject)
        else:
            report.findings.append(f)
    local = isinstance(backend, LocalBackend)
    if quarantine:
        for f in report.findings:
            if f.kind == "original_without_row" and not local:
                report.kept.append(f.subject)  # an object store's original is never moved
            elif f.kind in UNTRACKED:
                _quarantine(session, store, f, actor, report)
    if remove_derivatives:
        _remove_derivatives(session, backend, report, actor)
    return report


def _remove_derivatives(session: Session, backend: Backend, report: Report, actor: str) -> None:
    for f in report.findings:
        if f.kind != "derivatives_unreferenced":
            continue
        report.removed[f.subject] = backend.delete_prefix(f.subject)
    if report.removed:
        custody.record(
            session,
            actor=actor,
            action="reconcile.derivatives_removed",
            payload={"removed": report.removed, "backend": backend.name},
        )


def _uploads_without_row(session: Session, store: MediaStore) -> list[Finding]:
    if not store.uploads.is_dir():
        return []
    known = set(session.scalars(select(Upload.id)))
    return [
        Finding("upload_without_row", p.name, "no resumable upload refers to these bytes")
        for p in sorted(store.uploads.iterdir())
        if UPLOAD_ID.match(p.name) and p.name not in known
    ]


def _stale_uploads(session: Session, expire_seconds: int) -> list[Finding]:
    before = utcnow() - timedelta(seconds=expire_seconds)
    rows = session.execute(
        select(Upload.id, Upload.updated_at).where(
            Upload.state == "uploading", Upload.updated_at < before
        )
    ).all()
    return [
        Finding("stale_upload", r.id, f"open, no progress since {r.updated_at:%Y-%m-%d %H:%M}Z")
        for r in rows
    ]


def _quarantine(
    session: Session, store: MediaStore, f: Finding, actor: str, report: Report
) -> None:
    try:
        if f.kind == "original_without_row":
            dst = store.quarantine_original(f.subject)
        else:
            dst = store.quarantine_upload(f.subject)
    except FileNotFoundError:
        return  # gone meanwhile (a sweep settled it)
    where = os.path.relpath(dst, store.root)
    report.quarantined[f.subject] = where
    custody.record(
        session,
        actor=actor,
        action="reconcile.quarantined",
        payload={"kind": f.kind, "subject": f.subject, "moved_to": where},
    )


def scheduled() -> int:
    """The reconcile sweeper: dry, logged; a run that finds something is in custody."""
    from app.db import session_scope
    from app.storage import get_store

    with session_scope() as session:
        report = reconcile(session, get_store(), backend=get_backend())
        if report.findings:
            kinds: dict[str, int] = {}
            for f in report.findings:
                kinds[f.kind] = kinds.get(f.kind, 0) + 1
            log.warning("reconcile found %s (run `archive reconcile` for the list)", kinds)
            custody.record(
                session,
                actor="system:reconcile",
                action="reconcile.run",
                payload={"findings": kinds, "dry_run": True},
            )
    return len(report.findings)
