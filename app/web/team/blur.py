"""The clip page's face-blurring forms: mark a region to blur by hand, remove one, and ask
for the blurred public preview again. Thin callers of app/review/blur_regions.py."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.errors import InvalidInput
from app.review import blur_regions
from app.review.blur_regions import RegionCreate
from app.web.session import SessionDep
from app.web.team.clip import _act, _s
from app.web.team.common import TeamPage, form_float, make_router, page, parse_timecode

router = make_router()


def _number(d: dict[str, Any], key: str) -> float:
    value = form_float(_s(d, key), key)
    if value is None:
        raise InvalidInput(f"{key} is required", field=key)
    return value


@page(router, "/team/clips/{code}/blur-regions", methods=("POST",))
async def post_region(code: str, request: Request, session: SessionDep, who: TeamPage) -> Response:
    user = who.user
    assert user is not None

    def act(d: dict[str, Any]) -> str:
        blur_regions.require_reviewer(user.role)
        start = parse_timecode(_s(d, "start"))
        end = parse_timecode(_s(d, "end"))
        data = RegionCreate(
            x=_number(d, "x") / 100,
            y=_number(d, "y") / 100,
            w=_number(d, "w") / 100,
            h=_number(d, "h") / 100,
            start_seconds=start if start is not None else 0.0,
            end_seconds=end if end is not None else blur_regions.MAX_SECONDS,
        )
        blur_regions.add_region(
            session, code, data, user_id=user.id, role=user.role, actor=who.actor
        )
        return "blur_region_added"

    return await _act(request, session, code, who, act, "blur")


@page(router, "/team/clips/{code}/blur-regions/{region_id}/delete", methods=("POST",))
async def post_remove(
    code: str, region_id: int, request: Request, session: SessionDep, who: TeamPage
) -> Response:
    user = who.user
    assert user is not None

    def act(d: dict[str, Any]) -> str:
        blur_regions.remove_region(session, code, region_id, role=user.role, actor=who.actor)
        return "blur_region_removed"

    return await _act(request, session, code, who, act, "blur")


@page(router, "/team/clips/{code}/public-preview", methods=("POST",))
async def post_preview(code: str, request: Request, session: SessionDep, who: TeamPage) -> Response:
    def act(d: dict[str, Any]) -> str:
        blur_regions.request_preview(session, code)
        return "blur_preview_queued"

    return await _act(request, session, code, who, act, "blur")
