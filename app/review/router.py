"""Team JSON API for the review workflow (transitions, approvals, checklist, comments,
assignment, the queue and per-clip custody export)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.accounts import service as accounts
from app.accounts.deps import Admin, Reviewer, TeamMember
from app.accounts.models import User
from app.clips import service as clips
from app.errors import InvalidInput
from app.kit.date_input import query_day
from app.review import checklist, comments, custody_export, queue, service
from app.review.schemas import (
    ApprovalRequest,
    AssignmentRead,
    AssignmentRequest,
    ChecklistEntryRead,
    ChecklistEntryUpdate,
    ChecklistItemCreate,
    ChecklistItemRead,
    ChecklistRead,
    ClipStateRead,
    CommentCreate,
    CommentRead,
    CommentUpdate,
    CustodyExport,
    QueueRead,
    TransitionRequest,
    TransitionsRead,
)
from app.web.session import SessionDep, UnitOfWorkRoute, writes

RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # (PostgreSQL integer ids)
router = APIRouter(prefix="/api/v1", tags=["review (team)"], route_class=UnitOfWorkRoute)


def _user(who: object) -> User:
    user = getattr(who, "user", None)
    assert user is not None
    return user


@router.get(
    "/clips/{code}/transitions",
    response_model=TransitionsRead,
    summary="The moves out of the clip's state, and which ones you may make",
)
def get_transitions(code: str, session: SessionDep, who: TeamMember) -> TransitionsRead:
    clip = clips.live_clip(session, code)
    ready = service.readiness(session, clip)
    moves = service.allowed_moves(session, clip, _user(who))
    return TransitionsRead(
        code=clip.code,
        current=clip.status,
        version=clip.version,
        moves=moves,
        approvals=ready.approvals,
        required_approvals=ready.required,
        missing_items=ready.missing_items,
    )


@router.post(
    "/clips/{code}/transitions",
    response_model=ClipStateRead,
    summary="Move the clip to another state (409 lists the allowed ones)",
)
def post_transition(
    code: str, data: TransitionRequest, session: SessionDep, who: TeamMember
) -> ClipStateRead:
    clip = service.transition(
        session,
        code,
        to=data.to,
        note=data.note,
        version=data.version,
        user=_user(who),
        actor=who.actor,
    )
    return ClipStateRead(code=clip.code, status=clip.status, version=clip.version)


@router.post(
    "/clips/{code}/approvals",
    response_model=ClipStateRead,
    status_code=201,
    summary="Approve the clip (verifies it when the last approval needed arrives)",
)
def post_approval(
    code: str, data: ApprovalRequest, session: SessionDep, who: Reviewer
) -> ClipStateRead:
    clip, verified = service.approve(
        session, code, note=data.note, version=data.version, user=_user(who), actor=who.actor
    )
    return ClipStateRead(
        code=clip.code, status=clip.status, version=clip.version, verified_now=verified
    )


def _checklist_read(session: SessionDep, code: str) -> ChecklistRead:
    clip = clips.live_clip(session, code)
    items = checklist.entries(session, clip.id)
    missing = [i.key for i in items if not i.done]
    return ChecklistRead(
        code=code,
        complete=not missing,
        missing=missing,
        items=items,
    )


@router.get("/clips/{code}/checklist", response_model=ChecklistRead, summary="The checklist")
def get_checklist(code: str, session: SessionDep, _: TeamMember) -> ChecklistRead:
    return _checklist_read(session, code)


@router.put(
    "/clips/{code}/checklist/{key}",
    response_model=ChecklistEntryRead,
    summary="Answer one checklist item (version: the one you read; 0 if unanswered)",
)
def put_checklist_item(
    code: str, key: str, data: ChecklistEntryUpdate, session: SessionDep, who: Reviewer
) -> ChecklistEntryRead:
    extra = {"lat": data.lat, "lon": data.lon, "precision": data.precision, "date": data.date}
    entry = checklist.update_entry(
        session,
        code,
        key,
        done=data.done,
        note=data.note,
        evidence=data.evidence,
        data={k: v for k, v in extra.items() if v is not None},
        version=data.version,
        user=_user(who),
        actor=who.actor,
    )
    return entry


@router.get(
    "/review/checklist-items",
    response_model=list[ChecklistItemRead],
    summary="The checklist template",
)
def list_template(session: SessionDep, _: TeamMember) -> list[ChecklistItemRead]:
    return [_item_read(i) for i in checklist.template(session, include_retired=True)]


@router.post(
    "/review/checklist-items",
    response_model=ChecklistItemRead,
    status_code=201,
    summary="Add an item to the checklist template (admins)",
)
def add_template_item(
    data: ChecklistItemCreate, session: SessionDep, who: Admin
) -> ChecklistItemRead:
    return _item_read(checklist.add_item(session, actor=who.actor, **data.model_dump()))


@router.delete(
    "/review/checklist-items/{key}",
    status_code=204,
    summary="Retire a checklist item (admins)",
    responses={409: {"description": "the item changed since you read it (send its version)"}},
)
def retire_template_item(
    key: str,
    session: SessionDep,
    who: Admin,
    version: Annotated[int, Query(ge=1, description="the item's version as you last read it")],
) -> Response:
    """The item stops being required (and offered) for clips; entries already made stay in
    their clips' checklists and in the custody log."""
    checklist.retire_item(session, key, version=version, actor=who.actor)
    return Response(status_code=204)


def _item_read(i: object) -> ChecklistItemRead:
    return ChecklistItemRead(**{k: getattr(i, k) for k in ChecklistItemRead.model_fields})


@router.get(
    "/clips/{code}/comments",
    response_model=list[CommentRead],
    summary="Internal comments, threaded",
)
def get_comments(code: str, session: SessionDep, _: TeamMember) -> list[CommentRead]:
    clip = clips.live_clip(session, code)
    return comments.thread(session, clip.id)


@router.post(
    "/clips/{code}/comments",
    response_model=CommentRead,
    status_code=201,
    summary="Add a comment (optionally at a time in the video, or as a reply)",
)
def post_comment(
    code: str, data: CommentCreate, session: SessionDep, who: TeamMember
) -> CommentRead:
    return comments.add(
        session,
        code,
        body=data.body,
        at_seconds=data.at_seconds,
        parent_id=data.parent_id,
        user=_user(who),
        actor=who.actor,
    )


@router.patch(
    "/clips/{code}/comments/{comment_id}",
    response_model=CommentRead,
    summary="Edit your comment (version: the one you read)",
)
def patch_comment(
    code: str, comment_id: RowId, data: CommentUpdate, session: SessionDep, who: TeamMember
) -> CommentRead:
    return comments.edit(
        session,
        code,
        comment_id,
        body=data.body,
        version=data.version,
        user=_user(who),
        actor=who.actor,
    )


@router.post(
    "/clips/{code}/assignment",
    response_model=AssignmentRead,
    summary="Claim the clip (or, as an admin, assign it to someone)",
)
def post_assignment(
    code: str, data: AssignmentRequest, session: SessionDep, who: Reviewer
) -> AssignmentRead:
    assignee = None
    if data.assignee:
        assignee = accounts.get_user_by_email(session, data.assignee, field="assignee")
    service.claim(
        session, code, user=_user(who), actor=who.actor, assignee=assignee, version=data.version
    )
    return service.assignment_read(session, code)


@router.delete(
    "/clips/{code}/assignment", response_model=AssignmentRead, summary="Unassign the clip"
)
def delete_assignment(
    code: str,
    session: SessionDep,
    who: Reviewer,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> AssignmentRead:
    service.unassign(session, code, user=_user(who), actor=who.actor, version=version)
    return service.assignment_read(session, code)


@router.get(
    "/review/queue", response_model=QueueRead, summary="The review queue, with counts per state"
)
def get_queue(
    session: SessionDep,
    who: TeamMember,
    state: Annotated[list[str] | None, Query()] = None,
    assignee: Annotated[str | None, Query(description="an email, 'me' or 'none'")] = None,
    city: Annotated[str | None, Query(max_length=200)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> QueueRead:
    date_from, date_to = query_day(from_, "from"), query_day(to, "to")  # before any SQL
    assignee_id, unassigned = _assignee_filter(session, who, assignee)
    f = queue.build_filter(
        session,
        statuses=state,
        city=city,
        date_from=date_from,
        date_to=date_to,
        assignee_id=assignee_id,
        unassigned=unassigned,
    )
    return queue.review_queue(session, f, limit=limit, offset=offset)


def _assignee_filter(
    session: SessionDep, who: object, assignee: str | None
) -> tuple[int | None, bool]:
    if not assignee:
        return None, False
    if assignee == "none":
        return None, True
    if assignee == "me":
        return _user(who).id, False
    user = accounts.find_user_by_email(session, assignee)
    if user is None:
        raise InvalidInput(f"no user with the email {assignee}", field="assignee")
    return user.id, False


@router.get(
    "/clips/{code}/custody",
    response_model=CustodyExport,
    summary="Export the clip's custody events with their hashes (itself logged)",
)
@writes  # the export itself is a custody event
def export_custody(code: str, session: SessionDep, who: TeamMember) -> CustodyExport:
    return custody_export.export_clip(session, code, actor=who.actor)
