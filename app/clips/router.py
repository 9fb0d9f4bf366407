"""Team JSON API for the catalogue: /api/v1/clips."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.accounts.deps import Admin, TeamMember
from app.clips import service
from app.clips.schemas import ClipCreate, ClipPage, ClipRead, ClipUpdate
from app.duplicates import review as duplicates
from app.kit.date_input import query_day
from app.review import editing
from app.web.session import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/clips", tags=["clips (team)"], route_class=UnitOfWorkRoute)


@router.get("", response_model=ClipPage, summary="List clips (team)")
def list_clips(
    session: SessionDep,
    _: TeamMember,
    city: str | None = None,
    province: str | None = None,
    country: str | None = None,
    on: Annotated[
        str | None,
        Query(description="a day; matches every clip that may fall on it", examples=["2019-11-16"]),
    ] = None,
    from_: Annotated[str | None, Query(alias="from", examples=["2019-11-15"])] = None,
    to: Annotated[str | None, Query(examples=["2019-11-23"])] = None,
    status: Annotated[list[str] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page (at most 500 characters)")
    ] = None,
) -> Response:
    page = service.list_clips(
        session,
        city=city,
        province=province,
        country=country,
        on=query_day(on, "on"),
        date_from=query_day(from_, "from"),
        date_to=query_day(to, "to"),
        status=status,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    # Serialised here, in the worker thread: returning a Response skips FastAPI's second
    # validation pass over the page (ClipPage above still documents the body).
    return Response(page.model_dump_json(), media_type="application/json")


@router.post("", response_model=ClipRead, status_code=201, summary="Create a clip record")
def create_clip(
    data: ClipCreate, session: SessionDep, who: TeamMember, response: Response
) -> ClipRead:
    assert who.user is not None
    clip = service.create(session, data, actor=who.actor, user_id=who.user.id)
    response.headers["Location"] = f"/api/v1/clips/{clip.code}"
    return service.get(session, clip.code)


@router.get("/{code}", response_model=ClipRead, summary="One clip (team view)")
def get_clip(code: str, session: SessionDep, _: TeamMember) -> ClipRead:
    """With `possible_duplicates` once the match step has run (a warning only)."""
    read = service.get(session, code)
    found = duplicates.possible_duplicates(session, code)
    return read.model_copy(update={"possible_duplicates": found})


@router.patch("/{code}", response_model=ClipRead, summary="Edit catalogue fields")
def update_clip(code: str, data: ClipUpdate, session: SessionDep, who: TeamMember) -> ClipRead:
    """Before verification only, by the clip's uploader or a reviewer (editing a clip in
    review withdraws its approvals). A verified, published or retracted clip answers 409
    ``record_frozen``: propose a correction (``POST /api/v1/clips/{code}/corrections``)."""
    assert who.user is not None
    editing.edit(session, code, data, user=who.user, actor=who.actor)
    return service.get(session, code)


@router.delete("/{code}", status_code=204, summary="Delete (admins; leaves a tombstone)")
def delete_clip(
    code: str, session: SessionDep, who: Admin, reason: Annotated[str, Query(max_length=500)] = ""
) -> Response:
    service.delete(session, code, actor=who.actor, reason=reason)
    return Response(status_code=204)
