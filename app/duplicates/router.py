"""Team JSON API for near-duplicates: a clip's candidates and confirmed links, and the
reviewer's decision on a pair (reviewers and admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from app.accounts.deps import Reviewer, TeamMember
from app.duplicates import review
from app.duplicates.schemas import CandidateRead, DecisionRequest, DuplicatesRead
from app.errors import ErrorBody
from app.web.session import SessionDep, UnitOfWorkRoute

router = APIRouter(
    prefix="/api/v1/clips", tags=["near-duplicates (team)"], route_class=UnitOfWorkRoute
)


@router.get(
    "/{code}/duplicates", response_model=DuplicatesRead, summary="Possible duplicates of a clip"
)
def get_duplicates(code: str, session: SessionDep, _: TeamMember) -> DuplicatesRead:
    """Candidates found by the match step (open and decided, best first), with both
    percentages, the matched ranges and a keyframe of each side; and the confirmed links
    with the earliest known copy by upload time and by the files' creation time."""
    return review.duplicates_read(session, code)


@router.post(
    "/{code}/duplicates/{other}/decision",
    response_model=CandidateRead,
    summary="Decide a candidate pair (reviewers)",
    responses={
        403: {"model": ErrorBody, "description": "not a reviewer"},
        404: {"model": ErrorBody, "description": "no such clip or candidate pair"},
        409: {"model": ErrorBody, "description": "another reviewer decided it meanwhile"},
    },
)
def post_decision(
    code: str, other: str, data: DecisionRequest, session: SessionDep, who: Reviewer
) -> CandidateRead:
    """`same_footage`, `same_event` or `not_related`; logged in both clips' custody logs. A
    dismissed pair (`not_related`) stays dismissed when the match step runs again. Deciding
    what the pair already is returns it unchanged."""
    assert who.user is not None
    found = review.decide(
        session, code, other, data.decision, user=who.user, actor=who.actor, seen=data.seen
    )
    return review.candidate_read(code, found)
