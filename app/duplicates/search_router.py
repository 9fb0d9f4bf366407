"""Team API: search the archive by image (``POST /api/v1/search/image``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from app.accounts.deps import TeamMember
from app.config import get_settings
from app.duplicates import image_search
from app.duplicates.search_schemas import ClipHitRead, FrameHitRead, ImageSearchRead
from app.errors import PayloadTooLarge
from app.kit.digits import parse_int
from app.video.pdq import MATCH_DISTANCE
from app.web.session import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/search", tags=["search (team)"], route_class=UnitOfWorkRoute)
FORM_SLACK = 64 * 1024


def refuse_large_body(request: Request) -> None:
    """A declared body over the limit is refused before it is read."""
    value = request.headers.get("content-length")
    length = parse_int(value, ascii_only=True) if value else None
    limit = get_settings().image_search_max_bytes
    if length is not None and length > limit + FORM_SLACK:
        raise PayloadTooLarge(
            f"the request is {length} bytes; an image may have at most {limit} "
            "(ARCHIVE_IMAGE_SEARCH_MAX_BYTES)",
            field="image",
        )


def to_read(found: image_search.ImageSearch) -> ImageSearchRead:
    return ImageSearchRead(
        quality=found.quality,
        hash=found.hash,
        radius=MATCH_DISTANCE,
        results=[
            ClipHitRead(
                code=c.code,
                status=c.status,
                distance=c.distance,
                matched_frames=c.matched_frames,
                frames=[
                    FrameHitRead(
                        timestamp=f.timestamp,
                        distance=f.distance,
                        orientation=f.orientation,
                        keyframe_position=f.keyframe_position,
                    )
                    for f in c.frames
                ],
                url=f"/api/v1/clips/{c.code}",
                thumbnail_url=(
                    None
                    if c.thumbnail_position is None
                    else f"/api/v1/clips/{c.code}/keyframes/{c.thumbnail_position}/thumbnail"
                ),
            )
            for c in found.results
        ],
    )


@router.post(
    "/image",
    response_model=ImageSearchRead,
    summary="Clips and timestamps that show an image (a still, or one of our keyframes)",
    dependencies=[Depends(refuse_large_body)],
    responses={
        413: {"description": "over ARCHIVE_IMAGE_SEARCH_MAX_BYTES, or too many pixels"},
        415: {"description": "not an image"},
        422: {"description": "neither an image nor a clip code and keyframe"},
        503: {"description": "index_warming: the index is still being built"},
    },
)
def search_image(
    session: SessionDep,
    _: TeamMember,
    image: Annotated[UploadFile | None, File(description="a still (JPEG, PNG, ...)")] = None,
    code: Annotated[str | None, Form(max_length=40)] = None,
    keyframe: Annotated[int | None, Form(ge=0, le=100_000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ImageSearchRead:
    """Multipart form: an ``image`` file, or ``code`` and ``keyframe`` (a keyframe
    position of that clip). Each result is a clip with its matching frames (distance <= 31
    to the still or a mirrored/rotated variant of it), nearest first."""
    data = None
    if image is not None:
        limit_bytes = get_settings().image_search_max_bytes
        data = image.file.read(limit_bytes + 1)
    found = image_search.search_image(
        session, data=data, code=code or None, keyframe=keyframe, limit=limit
    )
    return to_read(found)
