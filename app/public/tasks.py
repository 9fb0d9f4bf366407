"""The playback-copy job step, in the shape of the ingest pipeline's steps.

``run_playback(media_id, sha256, progress)`` does the slow part (ffmpeg) outside any
transaction and returns an ``Outcome`` whose ``apply`` adds an ``updated`` event to the
public change log, so partners re-fetch the clip and see its ``playback_url``.

Wiring (owned by app/jobs and app/review, not done here): add ``"playback"`` to
``app.jobs.models.STEPS`` and its CHECK constraint (a migration), register
``app.ingest.pipeline.STEPS["playback"] = run_playback``, and enqueue it from the review
service when a clip is published (``jobs.enqueue(..., step="playback")``).
Retraction needs nothing: public media is served only while the clip is published; call
``remove_playback`` to delete the file as well.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from app.clips.models import Clip
from app.config import get_settings
from app.ingest.models import Media
from app.ingest.pipeline import Outcome
from app.public import sources
from app.public.changes import record_change
from app.public.playback import make_playback_copy
from app.storage.store import get_store


def _info(sha256: str) -> sources.MediaInfo:
    return sources.MediaInfo(sha256, None, None, None, None)


def run_playback(media_id: int, sha256: str, progress: Callable[[float], None]) -> Outcome:
    src = get_store().original_path(sha256)
    dest = sources.playback_path(_info(sha256))
    make_playback_copy(src, dest, timeout=get_settings().ffmpeg_timeout_seconds)
    progress(1.0)

    def apply(session: Session, media: Media) -> None:
        clip = session.get(Clip, media.clip_id)
        if clip is not None and clip.status == "published" and clip.deleted_at is None:
            record_change(session, clip.code, "updated")

    return Outcome(apply)


def remove_playback(sha256: str) -> bool:
    """Delete the playback copy of an original (e.g. after a retraction)."""
    path = sources.playback_path(_info(sha256))
    if path.exists():
        path.unlink()
        return True
    return False
