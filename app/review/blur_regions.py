"""Manual blur regions: boxes a reviewer marks in a clip, blurred in every public derivative
on top of the face detector (app/public/faceblur.py). Each add and remove is a custody
event, and re-makes the public copy of a published clip (the playback job)."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clips import service as clips
from app.custody import service as custody
from app.errors import InvalidInput, NotFound
from app.ingest.models import Media
from app.public.jobs import queue_playback
from app.review.exceptions import NotAllowed
from app.review.models import BlurRegion

MAX_REGIONS = 200
MAX_SECONDS = 7 * 24 * 3600


class RegionCreate(BaseModel):
    """A box in relative units (0-1 of the frame: left, top, width, height) over a time
    range in seconds."""

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)
    start_seconds: float = Field(ge=0, le=MAX_SECONDS)
    end_seconds: float = Field(ge=0, le=MAX_SECONDS)


class RegionRead(RegionCreate):
    id: int


def _read(r: BlurRegion) -> RegionRead:
    return RegionRead(
        id=r.id,
        x=r.x,
        y=r.y,
        w=r.w,
        h=r.h,
        start_seconds=r.start_seconds,
        end_seconds=r.end_seconds,
    )


def regions_of(session: Session, clip_id: int) -> list[BlurRegion]:
    return list(
        session.scalars(
            select(BlurRegion).where(BlurRegion.clip_id == clip_id).order_by(BlurRegion.id)
        )
    )


def list_regions(session: Session, code: str) -> list[RegionRead]:
    clip = clips.live_clip(session, code)
    return [_read(r) for r in regions_of(session, clip.id)]


def _check(data: RegionCreate) -> None:
    values = (data.x, data.y, data.w, data.h, data.start_seconds, data.end_seconds)
    if not all(math.isfinite(v) for v in values):
        raise InvalidInput("a region needs finite numbers", field="x")
    if data.x + data.w > 1 + 1e-9 or data.y + data.h > 1 + 1e-9:
        raise InvalidInput("the box must stay inside the frame (x + w <= 1, y + h <= 1)", field="w")
    if data.end_seconds < data.start_seconds:
        raise InvalidInput("the range must end at or after its start", field="end_seconds")


REVIEWERS = ("reviewer", "admin")


def require_reviewer(role: str | None) -> None:
    if role not in REVIEWERS:
        raise NotAllowed("only reviewers and admins mark regions to blur")


def add_region(
    session: Session,
    code: str,
    data: RegionCreate,
    *,
    user_id: int | None,
    role: str | None,
    actor: str,
) -> RegionRead:
    require_reviewer(role)
    clip = clips.live_clip(session, code, lock=True)
    _check(data)
    if len(regions_of(session, clip.id)) >= MAX_REGIONS:
        raise InvalidInput(f"a clip has at most {MAX_REGIONS} blur regions", field="x")
    region = BlurRegion(
        clip_id=clip.id,
        x=data.x,
        y=data.y,
        w=min(data.w, 1 - data.x),
        h=min(data.h, 1 - data.y),
        start_seconds=data.start_seconds,
        end_seconds=data.end_seconds,
        created_by=user_id,
    )
    session.add(region)
    session.flush()
    view = _read(region)
    custody.record(
        session,
        actor=actor,
        action="review.blur_region_added",
        clip_code=clip.code,
        payload=view.model_dump(),
    )
    queue_playback(session, clip.id)  # re-makes the public copy, or the team's preview
    return view


def remove_region(
    session: Session, code: str, region_id: int, *, role: str | None, actor: str
) -> None:
    require_reviewer(role)
    clip = clips.live_clip(session, code, lock=True)
    region = session.get(BlurRegion, region_id)
    if region is None or region.clip_id != clip.id:
        raise NotFound(f"no blur region {region_id} on clip {code}", field="region_id")
    view = _read(region)
    session.delete(region)
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="review.blur_region_removed",
        clip_code=clip.code,
        payload=view.model_dump(),
    )
    queue_playback(session, clip.id)  # re-makes the public copy, or the team's preview


def preview_file(session: Session, code: str, name: str | int) -> str:
    """The storage key of the face-blurred public derivative ("playback", "poster" or a
    keyframe position) of a clip, as the public sees or will see it, for the team (on
    either backend: app/web/stored.py serves it); 404 until the playback job has made it
    (:func:`request_preview`)."""
    from app.public.faceblur import preview_file as find

    clip = clips.live_clip(session, code)
    media = session.scalar(
        select(Media).where(Media.clip_id == clip.id, Media.correction_id.is_(None))
    )
    key = None
    if media is not None:
        key = find(media.sha256, media.derivative_generation, name)
    if key is None:
        raise NotFound(f"clip {code} has no blurred public preview of {name} (yet)", field="code")
    return key


def request_preview(session: Session, code: str) -> int | None:
    """Queue the playback job, which makes the blurred preview of a clip not public yet
    (and re-makes the public copy of a published one). None without an original."""
    clip = clips.live_clip(session, code)
    return queue_playback(session, clip.id)
