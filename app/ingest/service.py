"""Ingest use cases: validate a streamed temp file, promote it, record it, queue processing.

Every path (raw body, multipart form, tus) ends in :func:`ingest`, so the same checks and
the same promote step apply. The temp file is gone when ``ingest`` returns or raises (a
resumable upload keeps its bytes when they were not promoted).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clips import service as clips
from app.clips.models import Clip
from app.config import get_settings
from app.custody import service as custody
from app.db import on_transaction_end
from app.errors import Conflict
from app.ingest import space
from app.ingest.exceptions import (
    ClipHasMedia,
    DuplicateMedia,
    InvalidVideo,
    MediaNotFound,
    UnsupportedVideoFile,
    UploadCorrupt,
)
from app.ingest.models import INGEST_STEPS, Keyframe, Media
from app.jobs import service as jobs
from app.jobs.models import ProcessingJob
from app.kit import faults
from app.kit.clock import utcnow
from app.public import changes as public_changes
from app.public.jobs import queue_playback
from app.storage import Busy, MediaStore, Promotion, Written, get_store, out_of_space
from app.storage.backend import Stored
from app.storage.configured import get_backend
from app.video import SENSITIVE_FIELDS, UnsupportedVideo, VideoError, probe

ACCEPTED_TYPES = ("application/octet-stream", "video/")


def clip_for_upload(session: Session, code: str) -> Clip:
    """The clip an upload goes to: it must exist, have no original yet, and not be frozen
    (footage for a verified or published clip comes with a correction)."""
    clip = clips.live_clip(session, code)
    clips.check_not_frozen(clip, "its media")
    existing = session.scalar(select(Media.sha256).where(Media.clip_id == clip.id))
    if existing is not None:
        raise ClipHasMedia(
            f"clip {code} already has its original (SHA-256:{existing}); an original is never "
            "replaced. Create a new clip for other footage.",
            field="code",
            extra={"sha256": existing},
        )
    return clip


def _duplicate(session: Session, sha256: str) -> DuplicateMedia | None:
    row = session.execute(
        select(Clip.code, Clip.deleted_at)
        .join(Media, Media.clip_id == Clip.id)
        .where(Media.sha256 == sha256)
    ).first()
    if row is None:
        return None
    note = " (a deleted clip)" if row.deleted_at is not None else ""
    return DuplicateMedia(
        f"these exact bytes (SHA-256:{sha256}) are already archived as clip {row.code}{note}",
        extra={"clip": row.code, "sha256": sha256},
    )


def validate(path: Path) -> dict[str, Any]:
    """Sniff and probe locked down; map failures to 415 (not a video) or 422 (unusable)."""
    try:
        return probe(path, timeout=get_settings().ffprobe_timeout_seconds)
    except UnsupportedVideo as exc:
        raise UnsupportedVideoFile(f"not accepted: {exc.message}", field="file") from None
    except VideoError as exc:
        raise InvalidVideo(f"the video cannot be used: {exc.message}", field="file") from None


def ingest(
    session: Session,
    *,
    clip: Clip,
    written: Written,
    filename: str | None,
    content_type: str | None,
    via: str,
    actor: str,
    user_id: int | None,
    store: MediaStore | None = None,
    keep_source: bool = False,
    correction_id: int | None = None,
) -> Media:
    """Validate, promote and record ``written`` (an fsynced temp file) as ``clip``'s original.
    The validation may already have run while the file was fsynced (``written.checked``).

    Order: duplicate check, validation, atomic promote + directory fsync, row flush, custody
    event, job queued. On the object store (ARCHIVE_STORAGE=s3) the promote is the
    create-only copy of what streamed to the bucket (``written.staged``; a tus upload's
    file is sent now) into ``originals/<sha256>``, and the local file then goes; any
    failure before it aborts the staged upload.
    The caller's transaction boundary commits (and then the job is sent).
    Until that transaction ends the promotion keeps its intent in tmp/ and its lock: if the
    commit fails, or the process dies first, the sweep finds the intent and moves the
    unreferenced original to quarantine/ (app/storage/tempfiles.py). ``keep_source``: a
    resumable upload's bytes stay where they are when they were not promoted.
    ``correction_id``: footage for a frozen clip, held by that correction (the caller,
    app/review/footage.py, has checked the clip): processed as usual, never public until
    the correction is applied.
    """
    store = store or get_store()
    sha = written.sha256
    remote = written.staged is not None or get_settings().storage != "local"
    promotion: Promotion | None = None
    stored: Stored | None = None
    try:
        # locked: the clip cannot be verified while its footage lands (and is checked again,
        # as the upload may have taken a while)
        locked = clips.live_clip(session, clip.code, lock=True)
        if correction_id is None:
            clips.check_not_frozen(locked, "its media")
        if (dup := _duplicate(session, sha)) is not None:
            raise dup
        info = written.checked() if written.checked else validate(written.path)
        if remote:
            stored = _store_remote(written)
        else:
            try:
                promotion = store.promote(written)
            except Busy:
                raise DuplicateMedia(
                    f"these exact bytes (SHA-256:{sha}) are being archived by another upload "
                    "right now",
                    extra={"sha256": sha},
                ) from None
            except OSError as exc:
                if out_of_space(exc):
                    raise space.disk_full() from exc
                raise
            on_transaction_end(session, promotion.end)
    finally:
        if remote:
            if stored is None and written.staged is not None:
                written.staged.abort()
            if not keep_source:
                written.path.unlink(missing_ok=True)  # the original is in the bucket
            elif stored is not None:
                _remove_after_commit(session, written.path)
        elif promotion is None and not keep_source:
            written.path.unlink(missing_ok=True)
        if written.release is not None:
            written.release()
    faults.point("after_rename")
    media = Media(
        clip_id=clip.id,
        sha256=sha,
        size=written.size,
        filename=_clean_name(filename),
        content_type=(content_type or "")[:200] or None,
        container=info["container"][:40],
        probe=info,
        via=via,
        uploaded_by_id=user_id,
        correction_id=correction_id,
    )
    try:
        with session.begin_nested():
            session.add(media)
    except IntegrityError:
        if (dup := _duplicate(session, sha)) is not None:
            raise dup from None
        raise ClipHasMedia(
            f"clip {clip.code} received its original from another upload just now", field="code"
        ) from None
    custody.record(
        session,
        actor=actor,
        action="media.ingested",
        clip_code=clip.code,
        payload={
            "sha256": sha,
            "hash": f"SHA-256:{sha}",
            "size": written.size,
            "filename": media.filename,
            "via": via,
            "container": media.container,
            **({"held_by_correction": correction_id} if correction_id is not None else {}),
        },
    )
    jobs.enqueue(session, clip_id=clip.id, media_id=media.id, sha256=sha, step=INGEST_STEPS[0])
    if correction_id is None and public_changes.clip_changed(session, clip.id):
        # an original for a clip that is already public (a demo clip): partners see its
        # hash now, and its playback copy once the job has made it
        queue_playback(session, clip.id)
    session.flush()
    faults.point("before_commit")
    return media


def _store_remote(written: Written) -> Stored:
    """Put the original in the object store: from what streamed there while it arrived
    (``written.staged``), or from the complete local file (a finished tus upload), its
    SHA-256 re-checked on the way. Create-only; the same bytes already there are reused."""
    try:
        if written.staged is not None:
            return written.staged.finish(written.sha256, written.size)
        return get_backend().put_original_file(written.path, written.sha256, written.size)
    except ValueError as exc:  # the bytes changed between receiving and storing
        raise UploadCorrupt(f"the upload was not stored: {exc}") from None


def _remove_after_commit(session: Session, path: Path) -> None:
    """A resumable upload's local bytes go once its row is committed (until then a failed
    commit leaves them for the client to finish again)."""

    def end(committed: bool) -> None:
        if committed:
            path.unlink(missing_ok=True)

    on_transaction_end(session, end)


def _clean_name(name: str | None) -> str | None:
    """Keep the client's filename as metadata: printable, at most 500 characters."""
    if not name:
        return None
    cleaned = "".join(ch for ch in name if ch.isprintable()).strip()
    return cleaned[:500] or None


def media_for(session: Session, code: str) -> tuple[Clip, Media]:
    clip = clips.live_clip(session, code)
    media = session.scalar(select(Media).where(Media.clip_id == clip.id))
    if media is None:
        raise MediaNotFound(f"clip {code} has no original yet; upload one first")
    return clip, media


def media_read(session: Session, code: str) -> dict[str, Any]:
    clip, media = media_for(session, code)
    return {
        "clip": clip.code,
        "sha256": media.sha256,
        "hash": f"SHA-256:{media.sha256}",
        "size": media.size,
        "filename": media.filename,
        "content_type": media.content_type,
        "container": media.container,
        "via": media.via,
        "created_at": media.created_at,
        "fixity_checked_at": media.fixity_checked_at,
        "sha512": media.sha512,
        "metadata": media.probe,
        "sensitive_fields": list(media.probe.get("sensitive_fields") or SENSITIVE_FIELDS),
        "processing": processing(session, clip.id),
    }


def processing(session: Session, clip_id: int) -> dict[str, Any]:
    """How far the clip's original is through probe -> keyframes -> hashes."""
    return jobs.summary(jobs.jobs_for_clip(session, clip_id), INGEST_STEPS)


def open_original(session: Session, code: str, *, actor: str, action: str) -> tuple[str, Media]:
    """The original's storage key (served by app/web/stored.py on either backend), with the
    access written to the custody log. A missing object: MediaNotFound, nothing logged."""
    clip, media = media_for(session, code)
    key = _original_object(code, media)
    custody.record(
        session, actor=actor, action=action, clip_code=clip.code, payload={"sha256": media.sha256}
    )
    return key, media


def media_for_player(session: Session, code: str) -> tuple[str, Media]:
    """The original's storage key for a player's follow-up range request (logged at its
    start)."""
    _clip, media = media_for(session, code)
    return _original_object(code, media), media


def _original_object(code: str, media: Media) -> str:
    from app.storage.backend import original_key
    from app.storage.configured import get_backend

    key = original_key(media.sha256)
    if get_backend().stat(key) is None:
        raise MediaNotFound(
            f"the original of clip {code} is missing from the store (run a fixity check)"
        )
    return key


def retry(session: Session, code: str, *, actor: str) -> list[int]:
    clip = clips.live_clip(session, code)
    ids = jobs.retry_failed(session, clip.id)
    if not ids:
        raise Conflict(
            f"nothing to retry: no step of clip {code} has failed", code="nothing_to_retry"
        )
    custody.record(
        session,
        actor=actor,
        action="processing.retried",
        clip_code=clip.code,
        payload={"jobs": ids},
    )
    return ids


def keyframe_rows(session: Session, media: Media) -> list[Keyframe]:
    return list(
        session.scalars(
            select(Keyframe).where(Keyframe.media_id == media.id).order_by(Keyframe.position)
        )
    )


@contextmanager
def derivative_file(session: Session, code: str, name: str) -> Iterator[Path]:
    """A derivative image of the clip's current generation (keyframe, thumb, poster, sheet)
    as a file, for the length of the ``with`` block: the local backend's own file, or on
    S3 this node's working copy from the bucket (app/storage/working.py). Routes serve
    derivatives by key instead (:func:`derivative_object`)."""
    from app.storage import working

    key = derivative_object(session, code, name)
    with ExitStack() as stack:
        try:
            path = stack.enter_context(working.derivative(key))
        except FileNotFoundError:  # removed between the check and the download
            raise MediaNotFound(f"clip {code} has no image {name!r}") from None
        yield path


def derivative_object(session: Session, code: str, name: str) -> str:
    """The storage key of a derivative image of the clip's current generation, on either
    backend (the team's image routes stream it: app/web/stored.py)."""
    from app.storage.backend import derivative_key
    from app.storage.configured import get_backend

    _clip, media = media_for(session, code)
    if media.derivative_generation is None:
        raise MediaNotFound(f"clip {code} has no keyframes yet (processing is not finished)")
    key = derivative_key(media.sha256, media.derivative_generation, name)
    if get_backend().stat(key) is None:
        raise MediaNotFound(f"clip {code} has no image {name!r}")
    return key


@dataclass
class StuckItem:
    code: str
    step: str
    state: str
    since: Any
    last_error: str | None


def stuck_processing(session: Session, limit: int = 20) -> list[StuckItem]:
    """Clips whose processing failed, or has been queued or running for too long."""
    cutoff = utcnow() - timedelta(seconds=get_settings().job_stuck_after_seconds)
    rows = session.execute(
        select(
            Clip.code,
            ProcessingJob.step,
            ProcessingJob.state,
            ProcessingJob.queued_at,
            ProcessingJob.heartbeat_at,
            ProcessingJob.last_error,
        )
        .join(Clip, Clip.id == ProcessingJob.clip_id)
        .where(Clip.deleted_at.is_(None), ProcessingJob.state != "done")
        .order_by(ProcessingJob.queued_at)
        .limit(limit * 3)
    ).all()
    out = []
    for r in rows:
        last = r.heartbeat_at or r.queued_at
        if r.state == "failed" or last < cutoff:
            out.append(StuckItem(r.code, r.step, r.state, last, r.last_error))
    return out[:limit]
