"""Upload: describe the clip (creates a draft record), then send the file with the resumable
(tus) protocol, watching the bytes and then the processing progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from app.clips import service as clips
from app.clips.schemas import ClipCreate
from app.errors import AppError
from app.web.session import SessionDep
from app.web.team.common import TeamPage, make_router, page, see_other
from app.web.team.media import media_view
from app.web.templating import render

router = make_router()


@page(router, "/team/upload")
def upload_form(request: Request, _: TeamPage) -> Response:
    return render(request, "team/upload.html", {"values": {}, "error": None})


@page(router, "/team/upload", methods=("POST",))
def create_record(
    request: Request,
    session: SessionDep,
    who: TeamPage,
    city: Annotated[str, Form(max_length=200)],
    province: Annotated[str, Form(max_length=200)],
    date: Annotated[str, Form(max_length=120)],
    title_en: Annotated[str, Form(max_length=300)] = "",
    title_fa: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    assert who.user is not None
    values = {
        "city": city,
        "province": province,
        "date": date,
        "title_en": title_en,
        "title_fa": title_fa,
    }
    try:
        clip = clips.create(
            session,
            ClipCreate(
                city=city,
                province=province,
                date=date,
                title_en=title_en or None,
                title_fa=title_fa or None,
            ),
            actor=who.actor,
            user_id=who.user.id,
        )
    except AppError as exc:
        session.rollback()
        return render(
            request, "team/upload.html", {"values": values, "error": exc}, status_code=exc.status
        )
    return see_other(request, f"/team/upload/{clip.code}")


@page(router, "/team/upload/{code}")
def upload_file(code: str, request: Request, session: SessionDep, _: TeamPage) -> Response:
    clip = clips.live_clip(session, code)
    return render(
        request, "team/upload_file.html", {"code": clip.code, "media": media_view(session, code)}
    )
