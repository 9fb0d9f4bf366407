"""The clip page and its forms: catalogue edits, checklist, transitions, approvals,
claiming, comments and retrying failed jobs. Every form posts, then redirects back
(post/redirect/get); a refused action re-renders the page with the reason and the error's
status (403, 409, 422)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import Principal
from app.clips import service as clips
from app.clips.schemas import ClipUpdate
from app.custody import service as custody
from app.duplicates import review as duplicates
from app.errors import AppError, InvalidInput
from app.public import faceblur
from app.review import blur_regions, checklist, comments, corrections, editing, service
from app.web.session import SessionDep
from app.web.team.common import (
    TeamPage,
    form_float,
    form_int,
    make_router,
    page,
    parse_timecode,
    see_other,
    timecode,
)
from app.web.team.media import media_view, retry_jobs
from app.web.team.metadata import file_facts
from app.web.templating import render

router = make_router()


def clip_context(session: SessionDep, code: str, who: Principal) -> dict[str, Any]:
    user = who.user
    assert user is not None
    clip = clips.live_clip(session, code)
    read = clips.get(session, code)
    ready = service.readiness(session, clip)
    moves = service.allowed_moves(session, clip, user)
    assignment = service.assignment_read(session, code)
    items = checklist.entries(session, clip.id)
    location = next(
        (i.data for i in items if i.kind == "location" and i.data.get("lat") is not None), None
    )
    media = media_view(session, code)
    is_reviewer = user.role in ("reviewer", "admin")
    fixes = [corrections.read(session, code, c) for c in corrections.list_for(session, code)]
    return {
        "frozen": clip.status in clips.FROZEN,
        "corrections": fixes,
        "duplicates": duplicates.candidates(session, code),
        "links": duplicates.links(session, code),
        "open_correction": next((c for c in fixes if c.state == "open"), None),
        "clip": read,
        "code": code,
        "moves": moves,
        "ready": ready,
        "assignee": assignment.assignee,
        "assignment_version": assignment.version,
        "items": items,
        "location": location,
        "media": media,
        "gps": media.gps if media else None,
        "comments": comments.thread(session, clip.id),
        "events": custody.events_for_clip(session, code),
        "is_uploader": clip.created_by_id == user.id,
        "is_reviewer": is_reviewer,
        "already_approved": user.email in ready.approvals,
        "checklist_editable": is_reviewer and clip.status in checklist.EDITABLE_STATES,
        "me": user.email,
        "timecode": timecode,
        "file_facts": file_facts,
        "blur_regions": blur_regions.list_regions(session, code),
        "blur_applies": faceblur.applies(clip.identifiable_people),
    }


def _render_clip(
    request: Request, session: SessionDep, code: str, who: Principal, error: AppError | None = None
) -> Response:
    ctx = clip_context(session, code, who)
    ctx["error"] = error
    ctx["flash"] = request.query_params.get("done")
    return render(request, "team/clip.html", ctx, status_code=error.status if error else 200)


@page(router, "/team/clips/{code}")
def clip_page(code: str, request: Request, session: SessionDep, who: TeamPage) -> Response:
    return _render_clip(request, session, code, who)


async def _act(
    request: Request,
    session: SessionDep,
    code: str,
    who: Principal,
    action: Callable[[dict[str, Any]], str],
    anchor: str,
) -> Response:
    """Run a form action; on an expected refusal, show the page with the reason."""
    form = await request.form()
    data: dict[str, Any] = {k: form.getlist(k) if k == "evidence" else form.get(k) for k in form}

    def run() -> Response:
        try:
            flash = action(data)
        except (AppError, ValidationError) as exc:
            session.rollback()
            error = (
                exc
                if isinstance(exc, AppError)
                else InvalidInput(
                    "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                )
            )
            return _render_clip(request, session, code, who, error=error)
        return see_other(request, f"/team/clips/{code}", done=flash)

    response = await run_in_threadpool(run)
    if response.status_code == 303:
        response.headers["location"] += f"#{anchor}"
    return response


def _s(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


@page(router, "/team/clips/{code}/transition", methods=("POST",))
async def post_transition(
    code: str, request: Request, session: SessionDep, who: TeamPage
) -> Response:
    assert who.user is not None
    user = who.user

    def act(d: dict[str, Any]) -> str:
        service.transition(
            session,
            code,
            to=_s(d, "to"),
            note=_s(d, "note"),
            version=form_int(_s(d, "version"), "version", required=False),
            user=user,
            actor=who.actor,
        )
        return "moved"

    return await _act(request, session, code, who, act, "workflow")


@page(router, "/team/clips/{code}/approve", methods=("POST",))
async def post_approve(code: str, request: Request, session: SessionDep, who: TeamPage) -> Response:
    assert who.user is not None
    user = who.user

    def act(d: dict[str, Any]) -> str:
        _, verified = service.approve(
            session,
            code,
            note=_s(d, "note"),
            version=form_int(_s(d, "version"), "version", required=False),
            user=user,
            actor=who.actor,
        )
        return "verified" if verified else "approved"

    return await _act(request, session, code, who, act, "workflow")


@page(router, "/team/clips/{code}/assign", methods=("POST",))
async def post_assign(code: str, request: Request, session: SessionDep, who: TeamPage) -> Response:
    assert who.user is not None
    user = who.user

    def act(d: dict[str, Any]) -> str:
        version = form_int(_s(d, "version"), "version", required=False)
        if _s(d, "op") == "unassign":
            service.unassign(session, code, user=user, actor=who.actor, version=version)
            return "unassigned"
        service.claim(session, code, user=user, actor=who.actor, version=version)
        return "claimed"

    return await _act(request, session, code, who, act, "assignment")


@page(router, "/team/clips/{code}/checklist/{key}", methods=("POST",))
async def post_checklist(
    code: str, key: str, request: Request, session: SessionDep, who: TeamPage
) -> Response:
    assert who.user is not None
    user = who.user

    def act(d: dict[str, Any]) -> str:
        evidence = [line for value in d.get("evidence") or [] for line in str(value).splitlines()]
        extra = {
            "lat": form_float(_s(d, "lat"), "lat"),
            "lon": form_float(_s(d, "lon"), "lon"),
            "precision": _s(d, "precision") or None,
            "date": _s(d, "date") or None,
        }
        checklist.update_entry(
            session,
            code,
            key,
            done=_s(d, "done") == "on",
            note=_s(d, "note"),
            evidence=evidence,
            data={k: v for k, v in extra.items() if v is not None},
            version=form_int(_s(d, "version"), "version") or 0,
            user=user,
            actor=who.actor,
        )
        return "checked"

    return await _act(request, session, code, who, act, f"item-{key}")


@page(router, "/team/clips/{code}/comments", methods=("POST",))
async def post_comment(code: str, request: Request, session: SessionDep, who: TeamPage) -> Response:
    assert who.user is not None
    user = who.user

    def act(d: dict[str, Any]) -> str:
        comments.add(
            session,
            code,
            body=_s(d, "body"),
            at_seconds=parse_timecode(_s(d, "at")),
            parent_id=form_int(_s(d, "parent_id"), "parent_id", required=False),
            user=user,
            actor=who.actor,
        )
        return "commented"

    return await _act(request, session, code, who, act, "comments")


@page(router, "/team/clips/{code}/edit", methods=("POST",))
async def post_edit(code: str, request: Request, session: SessionDep, who: TeamPage) -> Response:
    assert who.user is not None
    user = who.user

    def act(d: dict[str, Any]) -> str:
        tags = [t.strip() for t in _s(d, "tags").split(",") if t.strip()]
        update = ClipUpdate(
            version=form_int(_s(d, "version"), "version") or 0,
            city=_s(d, "city") or None,
            province=_s(d, "province") or None,
            date=_s(d, "date") or None,
            title_en=_s(d, "title_en") or None,
            title_fa=_s(d, "title_fa") or None,
            description_en=_s(d, "description_en") or None,
            description_fa=_s(d, "description_fa") or None,
            graphic_violence=_s(d, "graphic_violence") == "on",
            identifiable_people=_s(d, "identifiable_people") == "on",
            tags=tags,
        )
        editing.edit(session, code, update, user=user, actor=who.actor)
        return "saved"

    return await _act(request, session, code, who, act, "catalogue")


@page(router, "/team/clips/{code}/retry", methods=("POST",))
async def post_retry(code: str, request: Request, session: SessionDep, who: TeamPage) -> Response:
    def act(d: dict[str, Any]) -> str:
        retry_jobs(session, code, actor=who.actor)
        return "retried"

    return await _act(request, session, code, who, act, "jobs")
