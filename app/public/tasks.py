"""The ``playback`` job step: keeps a clip's public playback copy in line with its visibility.

``app.public.jobs.queue_playback`` queues it when a clip with an original is published or
retracted, and when an original arrives for a clip that is already published (a demo
clip). The job then does one of two things, outside any transaction:

- the clip is public: make the copy (app/public/playback.py: H.264/AAC, faststart, no
  metadata), face-blurred with its keyframes and poster when the clip is blurred for the
  public (app/public/faceblur.py; the plain copy is then deleted), and, in the finishing
  transaction, add an ``updated`` event to the public change log so partners re-fetch
  the clip and see its ``playback_url``;
- the clip is not public (retracted, deleted): delete the copy; a clip not deleted whose
  public copy would be face-blurred gets a team-only preview of it instead (the reviewers
  look at it before publishing: app/review/blur_router.py).

The finishing transaction locks the clip row, so a retraction that commits while the copy
is being made is seen there and the fresh copy is deleted after the commit; a retraction
that commits later re-queues the (then finished) job. Public media is served only while
the clip is published in any case (app/public/media.py).

On either backend: the original is read from a working copy and every copy made goes to
its storage key (``public/<sha256>/...``, the preview under ``derivatives/<sha256>/preview/``)
through app/storage/working.py, so any node can make it and any node serve it.

:func:`register` declares the step to the job kernel; the composition root (app/tasks.py)
calls it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clips.models import Clip
from app.config import get_settings
from app.db import session_scope
from app.ingest.models import Keyframe, Media
from app.jobs import registry
from app.jobs.registry import Outcome, StepFailed
from app.public import faceblur, sources
from app.public.changes import clip_changed, is_visible
from app.public.jobs import PLAYBACK
from app.public.playback import make_playback_copy
from app.storage import derivatives, working
from app.storage.backend import playback_key, public_key
from app.storage.configured import get_backend
from app.video import VideoError


def run_playback(media_id: int, sha256: str, progress: Callable[[float], None]) -> Outcome:
    with session_scope() as session:
        media = session.get(Media, media_id)
        if media is None:
            raise StepFailed("the media row is gone")
        clip = session.get(Clip, media.clip_id)
        public = is_visible(clip)
        flagged = clip is not None and faceblur.applies(clip.identifiable_people)
        blurred = public and flagged
        # a clip not public yet, not deleted: its blurred preview for the reviewers
        preview = not public and flagged and clip is not None and clip.deleted_at is None
        generation, size = media.derivative_generation, media.size
        regions = sources.blur_regions(session, media.clip_id) if flagged else []
        times = dict(
            session.execute(
                select(Keyframe.position, Keyframe.timestamp).where(
                    Keyframe.media_id == media_id, Keyframe.generation == generation
                )
            ).all()
        )
    timeout = get_settings().ffmpeg_timeout_seconds
    if not public:
        remove_playback(sha256)
        if preview:  # what the public would see, for the reviewers (app/review/blur_router.py)
            with working.original(sha256, size) as original:
                faceblur.make_preview(original, sha256, generation, times, regions, timeout=timeout)
        else:
            faceblur.remove_preview(sha256)
        progress(1.0)
        return Outcome(lambda session: None)

    faceblur.remove_preview(sha256)  # the public copy is the preview now
    with working.original(sha256, size) as original:
        if blurred:
            with working.output(public_key(sha256, derivatives.BLURRED_PLAYBACK)) as dest:
                faceblur.make_blurred_video(original, dest, regions, timeout=timeout)
            if generation is not None:
                faceblur.make_blurred_set(
                    sha256,
                    generation,
                    faceblur.blurred_images_prefix(sha256, generation),
                    times,
                    regions,
                )
            get_backend().delete_derivative(playback_key(sha256))  # no plain public copy
        else:
            with working.output(playback_key(sha256)) as dest:
                make_playback_copy(original, dest, timeout=timeout)
            faceblur.remove_blurred(sha256)
    progress(1.0)
    withdrawn: list[bool] = []

    def apply(session: Session) -> None:
        media = session.get(Media, media_id)
        if media is None:
            raise StepFailed("the media row is gone")
        clip = session.scalar(
            select(Clip)
            .where(Clip.id == media.clip_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if is_visible(clip):
            clip_changed(session, media.clip_id)
        else:
            withdrawn.append(True)

    def after_commit() -> None:
        if withdrawn:
            remove_playback(sha256)

    return Outcome(apply, after_commit=after_commit)


def remove_playback(sha256: str) -> bool:
    """Delete the public playback copies of an original, plain and face-blurred, and the
    blurred images (e.g. after a retraction)."""
    backend = get_backend()
    plain = playback_key(sha256)
    blurred = public_key(sha256, derivatives.BLURRED_PLAYBACK)
    found = backend.stat(plain) is not None or backend.stat(blurred) is not None
    backend.delete_derivative(plain)
    faceblur.remove_blurred(sha256)
    return found


def register() -> None:
    registry.add_step(
        registry.Step(
            PLAYBACK,
            run_playback,
            "make (or, for a clip no longer public, delete) the public playback copy",
            permanent=(VideoError, working.CopyMismatch),
        )
    )
