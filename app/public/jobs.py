"""Queueing the public domain's job step (``playback``), for any domain that changes what
the public sees of a clip: publishing or retracting it (review), deleting it (clips), an
original arriving for a clip that is already published (ingest).

Light on purpose: the job kernel and the media row only. The step itself (ffmpeg) is in
app/public/tasks.py, which a process loads only through the composition root.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingest.models import Media
from app.jobs import service as jobs

PLAYBACK = "playback"


def queue_playback(session: Session, clip_id: int) -> int | None:
    """Queue the playback job for the clip's original (sent after the commit). None when
    the clip has no original (demo clips): there is nothing to play."""
    media = session.scalar(
        select(Media).where(Media.clip_id == clip_id, Media.correction_id.is_(None))
    )
    if media is None:  # no original, or one held by a correction (app/review/footage.py)
        return None
    return jobs.enqueue(
        session, clip_id=clip_id, media_id=media.id, sha256=media.sha256, step=PLAYBACK
    )
