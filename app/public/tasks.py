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

:func:`register` declares the step to the job kernel; the composition root (app/tasks.py)
calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
from app.storage import derivatives
from app.storage.store import get_store
from app.video import VideoError


def _info(sha256: str, blur: bool = False) -> sources.MediaInfo:
    return sources.MediaInfo(sha256, None, None, None, None, blur)


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
        generation = media.derivative_generation
        regions = sources.blur_regions(session, media.clip_id) if flagged else []
        times = dict(
            session.execute(
                select(Keyframe.position, Keyframe.timestamp).where(
                    Keyframe.media_id == media_id, Keyframe.generation == generation
                )
            ).all()
        )
    store = get_store()
    timeout = get_settings().ffmpeg_timeout_seconds
    if not public:
        remove_playback(sha256)
        if preview:  # what the public would see, for the reviewers (app/review/blur_router.py)
            faceblur.make_preview(
                store.original_path(sha256), Path(store.root), sha256, generation,
                Path(store.generation_dir(sha256, generation)) if generation else None,
                times, regions, timeout=timeout,
            )  # fmt: skip
        else:
            faceblur.remove_preview(Path(store.root), sha256)
        progress(1.0)
        return Outcome(lambda session: None)

    faceblur.remove_preview(Path(store.root), sha256)  # the public copy is the preview now
    if blurred:
        faceblur.make_blurred_video(
            store.original_path(sha256), sources.playback_path(_info(sha256, True)),
            regions, timeout=timeout,
        )  # fmt: skip
        if generation is not None:
            faceblur.make_blurred_images(
                Path(store.generation_dir(sha256, generation)),
                derivatives.blurred_images_dir(Path(store.root), sha256, generation),
                times,
                regions,
            )
        sources.playback_path(_info(sha256)).unlink(missing_ok=True)  # no plain public copy
    else:
        make_playback_copy(
            store.original_path(sha256), sources.playback_path(_info(sha256)), timeout=timeout
        )
        faceblur.remove_blurred(Path(store.root), sha256)
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
    path = sources.playback_path(_info(sha256))
    blurred = sources.playback_path(_info(sha256, True))
    found = path.exists() or blurred.exists()
    path.unlink(missing_ok=True)
    faceblur.remove_blurred(Path(get_store().root), sha256)
    return found


def register() -> None:
    registry.add_step(
        registry.Step(
            PLAYBACK,
            run_playback,
            "make (or, for a clip no longer public, delete) the public playback copy",
            permanent=(VideoError,),
        )
    )
