"""The custody log's proofs: public checkpoints and consistency proofs (no content), team-only
inclusion proofs (an event's content is internal), and the public verifier key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from app.accounts.deps import Anyone, TeamMember
from app.custody import checkpoints, keys, proofs
from app.custody.schemas import ConsistencyProof, InclusionProof
from app.web.session import SessionDep, UnitOfWorkRoute

Size = Annotated[int, Query(ge=0, le=2**31 - 1)]
router = APIRouter(tags=["custody log"], route_class=UnitOfWorkRoute)


@router.get(
    "/api/v1/custody/checkpoint",
    response_class=PlainTextResponse,
    summary="The latest signed checkpoint (C2SP signed note: origin, size, root, time)",
)
def get_checkpoint(session: SessionDep, _: Anyone) -> PlainTextResponse:
    cp = checkpoints.require_latest(session)
    return PlainTextResponse(cp.note, headers={"Cache-Control": "no-cache"})


@router.get(
    "/api/v1/custody/consistency",
    summary="Proof that the log of `from` events is a prefix of the log of `to` events",
)
def get_consistency(
    session: SessionDep,
    _: Anyone,
    from_: Annotated[int, Query(alias="from", ge=0, le=2**31 - 1)],
    to: Size | None = None,
) -> ConsistencyProof:
    return proofs.consistency(session, from_, to)


@router.get(
    "/api/v1/custody/inclusion",
    summary="Proof that an event is in the log of `size` events (team only)",
)
def get_inclusion(
    session: SessionDep,
    _: TeamMember,
    event: Annotated[int, Query(ge=1, le=2**31 - 1)],
    size: Size | None = None,
) -> InclusionProof:
    return proofs.inclusion(session, event, size)


@router.get(
    "/.well-known/archive-log-key",
    response_class=PlainTextResponse,
    summary="The verifier key of the custody log's checkpoints (name+keyid+base64 key)",
)
def log_key(_: Anyone) -> PlainTextResponse:
    return PlainTextResponse(keys.verifier_key() + "\n")
