"""Resumable uploads: the tus 1.0 core protocol with the creation, termination and
expiration extensions.

State lives in the ``upload`` row (length, durable offset) and in MEDIA_ROOT/uploads/<id>,
so an upload resumes after a client or server restart. Bytes are fsynced before the
offset that covers them is committed; on resume the file is cut back to the committed
offset (bytes past it were never acknowledged). The SHA-256 is carried in memory between
PATCH requests of one process; after a restart (or on another node) the prefix is hashed
again once. The last PATCH runs the same validation and promote step as every upload.

An unfinished upload expires ``ARCHIVE_UPLOAD_EXPIRE_SECONDS`` after its last progress
(creation or a PATCH that added bytes): from then on it answers 410, and the sweep
(:func:`sweep_expired`, run at start-up and by the job sweepers) deletes its file and row,
after which it answers 404. Its owner (or an admin) can end it sooner with DELETE.

A full disk is a 507 that loses nothing acknowledged: the upload is refused at creation
when ``Upload-Length`` (plus ``ARCHIVE_MIN_FREE_BYTES``) does not fit, a PATCH before its
body is read when the rest does not fit, and a PATCH that fills the disk mid-body keeps
(fsyncs and commits as its offset) every byte that reached the file, so ``HEAD`` reports
it and the client resumes from there once there is space (:func:`keep_written`).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import logging
import os
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import session_scope
from app.errors import AppError
from app.ingest import housekeeping, service, space
from app.ingest.exceptions import (
    BadUploadRequest,
    UploadGone,
    UploadLocked,
    UploadNotFound,
    UploadTooLarge,
)
from app.ingest.models import Media, Upload
from app.kit.clock import utcnow
from app.storage import HashingFile, MediaStore, Written, fsync_dir, get_store, out_of_space
from app.storage.store import HASH_BLOCK
from app.storage.tempfiles import settle_upload

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,expiration"
log = logging.getLogger("archive.ingest")
_hashers: dict[str, tuple[int, Any]] = {}
_hashers_lock = threading.Lock()


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs."""
    out: dict[str, str] = {}
    if not header:
        return out
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadUploadRequest(
                f"Upload-Metadata value for {key!r} is not base64 UTF-8", field="Upload-Metadata"
            ) from None
    return out


def create(
    session: Session, *, length: int, metadata: dict[str, str], user_id: int | None
) -> Upload:
    limit = get_settings().max_upload_bytes
    if length > limit:
        raise UploadTooLarge(
            f"the upload ({length} bytes) is larger than the limit of {limit} bytes",
            field="Upload-Length",
            extra={"limit": limit},
        )
    code = metadata.get("clip") or metadata.get("code")
    if not code:
        raise BadUploadRequest(
            "Upload-Metadata must name the clip: 'clip <base64 code>'", field="Upload-Metadata"
        )
    clip = service.clip_for_upload(session, code.strip())
    store = get_store()
    store.ensure()
    space.require_free(store, length, field="Upload-Length")
    upload = Upload(
        id=uuid.uuid4().hex,
        clip_id=clip.id,
        created_by_id=user_id,
        length=length,
        received=0,
        filename=metadata.get("filename") or metadata.get("name"),
        content_type=metadata.get("filetype") or metadata.get("type"),
        state="uploading",
    )
    path = store.upload_path(upload.id)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fsync(fd)
        os.close(fd)
        fsync_dir(path.parent)
    except OSError as exc:
        path.unlink(missing_ok=True)
        if out_of_space(exc):
            raise space.disk_full(field="Upload-Length") from exc
        raise
    session.add(upload)
    session.flush()
    return upload


def lifetime() -> timedelta:
    return timedelta(seconds=get_settings().upload_expire_seconds)


def expires_at(upload: Upload) -> datetime:
    """When an unfinished upload expires: its last progress plus the lifetime."""
    return upload.updated_at + lifetime()


def find(session: Session, upload_id: str) -> Upload:
    """The upload in whatever state (failed and expired ones too), or 404."""
    upload = session.get(Upload, upload_id) if len(upload_id) == 32 else None
    if upload is None:
        raise UploadNotFound("no such upload (it may have expired); start a new one")
    return upload


def get(session: Session, upload_id: str) -> Upload:
    upload = find(session, upload_id)
    if upload.state == "failed":
        raise UploadGone(f"this upload failed and was removed: {upload.error}")
    if upload.state == "uploading" and expires_at(upload) <= utcnow():
        raise UploadGone(
            f"this upload expired on {expires_at(upload).isoformat(timespec='seconds')} "
            "(no bytes arrived for too long); start a new upload"
        )
    return upload


def _lock(path: Path) -> BinaryIO | None:
    """The upload file opened and exclusively locked, or None when it is gone.

    Raises UploadLocked while a PATCH is writing to it.
    """
    try:
        fh = open(path, "r+b", buffering=0)  # noqa: SIM115 - returned to the caller
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise UploadLocked(
            "another request is writing to this upload; wait for it to end "
            "or check the offset with HEAD"
        ) from None
    return fh


def _remove(session: Session, store: MediaStore, upload: Upload) -> None:
    """Delete an upload's bytes (under its lock) and its row. A finished upload has no
    bytes left here: its original is in the store and is never touched."""
    path = store.upload_path(upload.id)
    fh = _lock(path)
    try:
        path.unlink(missing_ok=True)
    finally:
        if fh is not None:
            fh.close()
    with _hashers_lock:
        _hashers.pop(upload.id, None)
    session.delete(upload)
    session.flush()


def terminate(session: Session, upload: Upload) -> None:
    """tus termination: the upload's partial bytes and its row are deleted (423 while a
    PATCH is writing to it). The caller has checked that the user may."""
    _remove(session, get_store(), upload)


def sweep_expired(session: Session, store: MediaStore | None = None) -> int:
    """Delete unfinished uploads (and failed ones' rows) whose lifetime has run out, and
    files in uploads/ without a row that are older than the lifetime (a crash between
    creating the file and committing its row). Uploads being written are skipped."""
    store = store or get_store()
    cutoff = utcnow() - lifetime()
    stale = session.scalars(
        select(Upload).where(Upload.state != "done", Upload.updated_at < cutoff)
    ).all()
    removed = 0
    for upload in stale:
        try:
            with session.begin_nested():
                _remove(session, store, upload)
            removed += 1
        except UploadLocked:
            continue
    if store.uploads.exists():
        known = set(session.scalars(select(Upload.id)))
        oldest = time.time() - lifetime().total_seconds()
        for path in store.uploads.iterdir():
            try:
                if path.name not in known and path.stat().st_mtime < oldest:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
    if removed:
        log.info("removed %d expired resumable upload(s)", removed)
    return removed


class Writer(HashingFile):
    """An open, locked upload file positioned at the committed offset."""

    def __init__(
        self, upload_id: str, path: Path, fh: BinaryIO, offset: int, length: int, hasher: Any
    ) -> None:
        super().__init__(fh.fileno(), hasher, offset)
        self.upload_id = upload_id
        self.path = path
        self.fh = fh
        self.length = length

    @property
    def offset(self) -> int:
        return self.size

    def too_long(self) -> UploadTooLarge:
        return UploadTooLarge(
            f"more bytes than the declared Upload-Length ({self.length})", field="Upload-Length"
        )

    def write(self, data: bytes) -> None:
        if self.size + len(data) > self.length:
            raise self.too_long()
        super().write(data)

    def close(self, *, keep_hash: bool) -> None:
        with _hashers_lock:
            if keep_hash:
                _hashers[self.upload_id] = (self.offset, self.hasher.copy())
            else:
                _hashers.pop(self.upload_id, None)
        self.close_stage()
        self.fh.close()  # releases the flock


def open_writer(store: MediaStore, upload: Upload) -> Writer:
    path = store.upload_path(upload.id)
    fh = _lock(path)
    if fh is None and settle_upload(store, upload.id, housekeeping.references()):
        fh = _lock(path)  # a promotion that never committed gave its bytes back
    if fh is None:
        raise UploadGone(
            "the bytes of this upload are not on this server: a resumable upload continues "
            "on the node that received its first bytes (route by the upload URL), or they "
            "are gone; start a new upload"
        )
    try:
        if os.fstat(fh.fileno()).st_size < upload.received:
            raise AppError(
                "the upload file is shorter than its committed offset",
                status=500,
                code="upload_corrupt",
            )
        fh.truncate(upload.received)  # drop bytes never acknowledged
        fh.seek(upload.received)
        hasher = _cached_hasher(upload.id, upload.received) or _rehash(path, upload.received)
    except BaseException:
        fh.close()
        raise
    return Writer(upload.id, path, fh, upload.received, upload.length, hasher)


def _cached_hasher(upload_id: str, offset: int) -> Any | None:
    with _hashers_lock:
        cached = _hashers.get(upload_id)
    if cached is not None and cached[0] == offset:
        return cached[1].copy()
    return None


def _rehash(path: Path, offset: int) -> Any:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        left = offset
        while left > 0:
            block = fh.read(min(HASH_BLOCK, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h


def forget_hashes() -> None:
    """Drop the in-memory hash states (what a server restart does; used by tests)."""
    with _hashers_lock:
        _hashers.clear()


def record_offset(session: Session, upload_id: str, offset: int) -> None:
    upload = session.get(Upload, upload_id)
    if upload is not None and offset > upload.received:
        upload.received = offset
        session.flush()


def keep_written(upload_id: str, writer: Writer, committed: int) -> int:
    """The disk filled up during a PATCH: make the bytes that reached the file durable and
    commit them as the upload's offset, so the client resumes from there. Returns the
    offset now committed (``committed`` when nothing more can be kept)."""
    try:
        size = os.fstat(writer.fd).st_size
        if not committed < size < writer.length:
            return committed
        os.fsync(writer.fd)  # an fsync error: what is in the file is not known to be on disk
        with session_scope() as session:
            record_offset(session, upload_id, size)
    except (OSError, SQLAlchemyError):
        log.warning("upload %s: the bytes after offset %d are dropped", upload_id, committed)
        return committed
    return size


def finish(session: Session, upload: Upload, writer: Writer, *, actor: str) -> Media:
    """All bytes are in: validate, promote and record, exactly as a direct upload."""
    digest = writer.hasher.hexdigest()
    written = Written(writer.path, digest, writer.offset, lock_fd=writer.fd)
    clip = service.clip_for_upload(session, clip_code(session, upload))
    media = service.ingest(
        session,
        clip=clip,
        written=written,
        filename=upload.filename,
        content_type=upload.content_type,
        via="tus",
        actor=actor,
        user_id=upload.created_by_id,
        keep_source=True,
    )
    upload.received, upload.state, upload.media_id = writer.offset, "done", media.id
    session.flush()
    return media


def clip_code(session: Session, upload: Upload) -> str:
    from app.clips.models import Clip

    clip = session.get(Clip, upload.clip_id)
    assert clip is not None
    return clip.code


def mark_failed(upload_id: str, error: str) -> None:
    """Record a refused upload in its own transaction (the request's is rolled back)."""
    with session_scope() as session:
        upload = session.get(Upload, upload_id)
        if upload is not None:
            upload.state, upload.error = "failed", error[:2000]
    get_store().upload_path(upload_id).unlink(missing_ok=True)
    with _hashers_lock:
        _hashers.pop(upload_id, None)
