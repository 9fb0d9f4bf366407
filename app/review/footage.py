"""Footage for a verified or published clip that has none: it comes with a correction.

The original is stored write-once and processed by the normal jobs like any other (the
reviewers see it, its keyframes and hashes on the team page), but its row is held by the
correction (``Media.correction_id``): the public site and the partner API do not see it,
and no playback copy is made. The correction is reviewed like any other (distinct
reviewers, not its author, not the footage's uploader; content and sensitive-content
checklist items confirmed again for it); when it is applied the footage becomes the clip's
and, if the clip is published, its playback copy is made. A rejection leaves the clip
without footage; the original stays in the store, held back, and the custody log says so.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.accounts.models import User
from app.clips import service as clips
from app.clips.models import Clip
from app.ingest import service as ingest
from app.ingest.exceptions import ClipHasMedia
from app.review import corrections, repository
from app.review.models import Correction
from app.storage import MediaStore, Written


def check_can_propose(session: Session, code: str, *, lock: bool = False) -> Clip:
    """The frozen clip footage may be proposed for: verified or published, without an
    original, without an open correction (checked again, locked, after the upload)."""
    clip = corrections.frozen_clip(session, code) if lock else clips.live_clip(session, code)
    if not lock:
        corrections.check_correctable(clip)
    existing = repository.clip_media(session, clip.id)
    if existing is not None:
        held = " (held by a correction)" if existing.correction_id is not None else ""
        raise ClipHasMedia(
            f"clip {code} already has its original{held} (SHA-256:{existing.sha256}); an "
            "original is never replaced",
            field="code",
            extra={"sha256": existing.sha256},
        )
    corrections.check_none_open(session, clip)
    return clip


def propose_footage(
    session: Session,
    code: str,
    *,
    written: Written,
    filename: str | None,
    content_type: str | None,
    via: str,
    reason: str,
    public_reason: str,
    user: User,
    actor: str,
    store: MediaStore | None = None,
) -> Correction:
    """Open a correction that holds ``written`` as the frozen clip's footage, in one
    transaction with the original's row, its custody events and its processing jobs."""
    try:
        clip = check_can_propose(session, code, lock=True)
        reason = corrections.text(reason, "reason", corrections.MAX_REASON, "a reason")
        public_reason = corrections.text(
            public_reason, "public_reason", corrections.MAX_PUBLIC_REASON, "a public reason"
        )
    except BaseException:
        written.discard()
        raise
    change = {"footage": {"before": None, "after": f"SHA-256:{written.sha256}"}}
    correction = Correction(
        clip_id=clip.id,
        author_id=user.id,
        state="open",
        changes=change,
        requested={},
        reason=reason,
        public_reason=public_reason,
        confirmed={},
    )
    try:
        corrections.insert(session, correction, code)
    except corrections.CorrectionOpen:
        written.discard()
        raise
    ingest.ingest(
        session,
        clip=clip,
        written=written,
        filename=filename,
        content_type=content_type,
        via=via,
        actor=actor,
        user_id=user.id,
        store=store,
        correction_id=correction.id,
    )
    corrections.record_proposed(session, correction, code, actor)
    return correction
