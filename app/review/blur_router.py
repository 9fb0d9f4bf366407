"""Team JSON API for face blurring: manual blur regions (reviewers) and the face-blurred
public derivatives of a clip, viewable by the team before publishing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse

from app.accounts.deps import Reviewer, TeamMember
from app.review import blur_regions
from app.review.blur_regions import RegionCreate, RegionRead
from app.web.session import SessionDep, UnitOfWorkRoute
from app.web.stored import stored_response

RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
router = APIRouter(prefix="/api/v1", tags=["review (team)"], route_class=UnitOfWorkRoute)
PRIVATE = {"Cache-Control": "private, no-store"}


@router.get(
    "/clips/{code}/blur-regions",
    response_model=list[RegionRead],
    summary="The regions marked to blur by hand in the public derivatives",
)
def get_regions(code: str, session: SessionDep, _: TeamMember) -> list[RegionRead]:
    return blur_regions.list_regions(session, code)


@router.post(
    "/clips/{code}/blur-regions",
    response_model=RegionRead,
    status_code=201,
    summary="Mark a region to blur (a relative box over start..end seconds)",
)
def post_region(code: str, data: RegionCreate, session: SessionDep, who: Reviewer) -> RegionRead:
    user = getattr(who, "user", None)
    return blur_regions.add_region(
        session,
        code,
        data,
        user_id=user.id if user else None,
        role=user.role if user else None,
        actor=who.actor,
    )


@router.delete(
    "/clips/{code}/blur-regions/{region_id}",
    status_code=204,
    summary="Remove a manual blur region",
)
def delete_region(code: str, region_id: RowId, session: SessionDep, who: Reviewer) -> Response:
    user = getattr(who, "user", None)
    role = user.role if user else None
    blur_regions.remove_region(session, code, region_id, role=role, actor=who.actor)
    return Response(status_code=204)


@router.post(
    "/clips/{code}/public-preview",
    status_code=202,
    summary="Make (again) the face-blurred public derivatives, as a preview before publishing",
)
def post_preview(code: str, session: SessionDep, _: TeamMember) -> dict[str, int | None]:
    return {"job_id": blur_regions.request_preview(session, code)}


def _preview(key: str, media_type: str, request: Request) -> Response:
    return stored_response(
        key, media_type, range_header=request.headers.get("range"), headers=PRIVATE
    )


@router.get("/clips/{code}/public-preview/playback.mp4", response_class=FileResponse)
def preview_playback(code: str, session: SessionDep, _: TeamMember, request: Request) -> Response:
    key = blur_regions.preview_file(session, code, "playback")
    return _preview(key, "video/mp4", request)


@router.get("/clips/{code}/public-preview/poster.jpg", response_class=FileResponse)
def preview_poster(code: str, session: SessionDep, _: TeamMember, request: Request) -> Response:
    return _preview(blur_regions.preview_file(session, code, "poster"), "image/jpeg", request)


@router.get("/clips/{code}/public-preview/keyframes/{position}.jpg", response_class=FileResponse)
def preview_keyframe(
    code: str,
    position: Annotated[int, Path(ge=0, lt=10_000)],
    session: SessionDep,
    _: TeamMember,
    request: Request,
) -> Response:
    return _preview(blur_regions.preview_file(session, code, position), "image/jpeg", request)
