"""Team JSON API for corrections: /api/v1/clips/{code}/corrections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import Reviewer, TeamMember
from app.accounts.models import User
from app.ingest.router import receive
from app.review import corrections, footage
from app.review.schemas import (
    CorrectionCreate,
    CorrectionDecision,
    CorrectionList,
    CorrectionRead,
)
from app.web.session import SessionDep, UnitOfWorkRoute

RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
router = APIRouter(
    prefix="/api/v1/clips/{code}/corrections",
    tags=["corrections (team)"],
    route_class=UnitOfWorkRoute,
)


def _user(who: object) -> User:
    user = getattr(who, "user", None)
    assert user is not None
    return user


@router.post(
    "",
    response_model=CorrectionRead,
    status_code=201,
    summary="Propose a correction to a verified or published clip (any team member)",
)
def propose(
    code: str, data: CorrectionCreate, session: SessionDep, who: TeamMember, response: Response
) -> CorrectionRead:
    correction = corrections.propose(
        session,
        code,
        changes=data.changes.model_dump(exclude_unset=True),
        reason=data.reason,
        public_reason=data.public_reason,
        user=_user(who),
        actor=who.actor,
    )
    response.headers["Location"] = f"/api/v1/clips/{code}/corrections/{correction.id}"
    return corrections.read(session, code, correction)


@router.post(
    "/footage",
    response_model=CorrectionRead,
    status_code=201,
    summary="Propose footage for a verified or published clip that has none (any team member)",
    responses={
        409: {"description": "the clip has an original, an open correction, or is not frozen"},
        413: {"description": "over ARCHIVE_MAX_UPLOAD_BYTES"},
        415: {"description": "not a video container we accept"},
    },
)
async def propose_footage(
    code: str,
    request: Request,
    response: Response,
    session: SessionDep,
    who: TeamMember,
    reason: Annotated[str | None, Query(max_length=5000)] = None,
    public_reason: Annotated[str | None, Query(max_length=1000)] = None,
    filename: Annotated[str | None, Query(max_length=500)] = None,
) -> CorrectionRead:
    """The video as the body (or the `file` field of a multipart form, with `reason` and
    `public_reason` fields; for a raw body they are query parameters). The original is
    stored and processed, but held back from the public until the correction is applied."""
    user = _user(who)
    _clip, got = await receive(
        request, session, lambda: footage.check_can_propose(session, code), filename
    )

    def propose() -> CorrectionRead:
        correction = footage.propose_footage(
            session,
            code,
            written=got.written,
            filename=got.filename,
            content_type=got.content_type,
            via=got.via,
            reason=got.fields.get("reason", reason or ""),
            public_reason=got.fields.get("public_reason", public_reason or ""),
            user=user,
            actor=who.actor,
            store=got.store,
        )
        return corrections.read(session, code, correction)

    out = await run_in_threadpool(propose)
    response.headers["Location"] = f"/api/v1/clips/{code}/corrections/{out.id}"
    return out


@router.get("", response_model=CorrectionList, summary="The clip's corrections, oldest first")
def list_corrections(code: str, session: SessionDep, _: TeamMember) -> CorrectionList:
    return CorrectionList(
        items=[corrections.read(session, code, c) for c in corrections.list_for(session, code)]
    )


@router.get("/{correction_id:int}", response_model=CorrectionRead, summary="One correction")
def get_correction(
    code: str, correction_id: RowId, session: SessionDep, _: TeamMember
) -> CorrectionRead:
    return corrections.read(session, code, corrections.get(session, code, correction_id))


@router.post(
    "/{correction_id:int}/checklist/{key}",
    response_model=CorrectionRead,
    summary="Confirm a checklist item again for the correction's new values (reviewers)",
)
def confirm_item(
    code: str,
    correction_id: RowId,
    key: str,
    data: CorrectionDecision,
    session: SessionDep,
    who: Reviewer,
) -> CorrectionRead:
    correction = corrections.confirm(
        session,
        code,
        correction_id,
        key,
        note=data.note,
        version=data.version,
        user=_user(who),
        actor=who.actor,
    )
    return corrections.read(session, code, correction)


@router.post(
    "/{correction_id:int}/approvals",
    response_model=CorrectionRead,
    status_code=201,
    summary="Approve a correction (the last approval needed applies it)",
)
def approve(
    code: str, correction_id: RowId, data: CorrectionDecision, session: SessionDep, who: Reviewer
) -> CorrectionRead:
    correction, applied = corrections.approve(
        session,
        code,
        correction_id,
        note=data.note,
        version=data.version,
        user=_user(who),
        actor=who.actor,
    )
    out = corrections.read(session, code, correction)
    out.applied_now = applied
    return out


@router.post(
    "/{correction_id:int}/rejection",
    response_model=CorrectionRead,
    summary="Reject a correction (the clip stays as it is; a note is required)",
)
def reject(
    code: str, correction_id: RowId, data: CorrectionDecision, session: SessionDep, who: Reviewer
) -> CorrectionRead:
    correction = corrections.reject(
        session,
        code,
        correction_id,
        note=data.note,
        version=data.version,
        user=_user(who),
        actor=who.actor,
    )
    return corrections.read(session, code, correction)
