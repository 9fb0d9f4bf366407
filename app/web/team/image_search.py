"""Search by image: upload a still, or start from one of a clip's keyframes
(``?code=IRN012&keyframe=3``), and see the clips and timestamps that show it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Query, Request, UploadFile
from fastapi.responses import Response

from app.config import get_settings
from app.duplicates import image_search
from app.errors import AppError
from app.video.pdq import MATCH_DISTANCE
from app.web.session import SessionDep
from app.web.team.common import TeamPage, make_router, page, timecode
from app.web.templating import render

router = make_router()
TEMPLATE = "team/image_search.html"


def _show(request: Request, run: Any, source: dict[str, Any]) -> Response:
    try:
        found = run()
    except AppError as exc:
        ctx = {
            "found": None,
            "error": exc,
            "source": source,
            "radius": MATCH_DISTANCE,
            "timecode": timecode,
        }
        return render(request, TEMPLATE, ctx, status_code=exc.status)
    ctx = {
        "found": found,
        "error": None,
        "source": source,
        "radius": MATCH_DISTANCE,
        "timecode": timecode,
    }
    return render(request, TEMPLATE, ctx)


@page(router, "/team/search/image")
def search_form(
    request: Request,
    session: SessionDep,
    _: TeamPage,
    code: Annotated[str | None, Query(max_length=40)] = None,
    keyframe: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> Response:
    if not code or keyframe is None:
        ctx = {
            "found": None,
            "error": None,
            "source": None,
            "radius": MATCH_DISTANCE,
            "timecode": timecode,
        }
        return render(request, TEMPLATE, ctx)
    return _show(
        request,
        lambda: image_search.search_image(session, code=code, keyframe=keyframe),
        {"code": code, "keyframe": keyframe},
    )


@page(router, "/team/search/image", methods=("POST",))
def search_upload(
    request: Request,
    session: SessionDep,
    _: TeamPage,
    image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    limit = get_settings().image_search_max_bytes
    data = image.file.read(limit + 1) if image is not None else None
    name = image.filename if image is not None else None
    return _show(request, lambda: image_search.search_image(session, data=data), {"filename": name})
