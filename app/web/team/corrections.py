"""The corrections panel of the team clip page: propose a correction to a frozen clip, and
confirm, approve or reject the open one; propose footage for a frozen clip without any.
Thin callers of app/review/corrections.py and app/review/footage.py."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.errors import AppError
from app.ingest.router import receive
from app.review import corrections, footage
from app.web.session import SessionDep
from app.web.team.clip import _act, _render_clip, _s
from app.web.team.common import TeamPage, form_int, make_router, page, see_other

router = make_router()


def form_changes(d: dict[str, Any]) -> dict[str, Any]:
    """The catalogue fields of the form (the service keeps only those that differ)."""
    out: dict[str, Any] = {
        name: _s(d, name) or None
        for name in ("city", "province", "date", "title_en", "title_fa")
        + ("description_en", "description_fa")
        if name in d
    }
    out = {k: v for k, v in out.items() if v is not None}
    out["graphic_violence"] = _s(d, "graphic_violence") == "on"
    out["identifiable_people"] = _s(d, "identifiable_people") == "on"
    if "tags" in d:
        out["tags"] = [t.strip() for t in _s(d, "tags").split(",") if t.strip()]
    return out


@page(router, "/team/clips/{code}/corrections", methods=("POST",))
async def post_correction(
    code: str, request: Request, session: SessionDep, who: TeamPage
) -> Response:
    assert who.user is not None
    user = who.user

    def act(d: dict[str, Any]) -> str:
        corrections.propose(
            session,
            code,
            changes=form_changes(d),
            reason=_s(d, "reason"),
            public_reason=_s(d, "public_reason"),
            user=user,
            actor=who.actor,
        )
        return "proposed"

    return await _act(request, session, code, who, act, "corrections")


@page(router, "/team/clips/{code}/corrections/footage", methods=("POST",))
async def post_footage(code: str, request: Request, session: SessionDep, who: TeamPage) -> Response:
    """Footage for a frozen clip without any: a multipart form (file, reason, public
    reason; the CSRF token in the query string, as the body is streamed)."""
    assert who.user is not None
    user = who.user
    try:
        _clip, got = await receive(
            request, session, lambda: footage.check_can_propose(session, code), None
        )
    except AppError as exc:
        session.rollback()
        return await run_in_threadpool(_render_clip, request, session, code, who, error=exc)

    def run() -> Response:
        try:
            footage.propose_footage(
                session,
                code,
                written=got.written,
                filename=got.filename,
                content_type=got.content_type,
                via=got.via,
                reason=got.fields.get("reason", ""),
                public_reason=got.fields.get("public_reason", ""),
                user=user,
                actor=who.actor,
                store=got.store,
            )
        except AppError as exc:
            session.rollback()
            return _render_clip(request, session, code, who, error=exc)
        response = see_other(request, f"/team/clips/{code}", done="footage_proposed")
        response.headers["location"] += "#corrections"
        return response

    return await run_in_threadpool(run)


@page(router, "/team/clips/{code}/corrections/{correction_id}", methods=("POST",))
async def post_correction_decision(
    code: str, correction_id: int, request: Request, session: SessionDep, who: TeamPage
) -> Response:
    assert who.user is not None
    user = who.user

    def act(d: dict[str, Any]) -> str:
        version = form_int(_s(d, "version"), "version", required=False)
        note = _s(d, "note")
        op = _s(d, "op")
        if op == "confirm":
            corrections.confirm(
                session,
                code,
                correction_id,
                _s(d, "key"),
                note=note,
                version=version,
                user=user,
                actor=who.actor,
            )
            return "confirmed"
        if op == "reject":
            corrections.reject(
                session,
                code,
                correction_id,
                note=note,
                version=version,
                user=user,
                actor=who.actor,
            )
            return "rejected"
        _, applied = corrections.approve(
            session, code, correction_id, note=note, version=version, user=user, actor=who.actor
        )
        return "corrected" if applied else "approved"

    return await _act(request, session, code, who, act, "corrections")
