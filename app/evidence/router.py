"""``GET /api/v1/clips/{code}/evidence.tar``: a clip's evidence bag, streamed (team only)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.accounts.deps import TeamMember
from app.evidence import service
from app.evidence.package import tar_stream
from app.web.session import SessionDep, UnitOfWorkRoute, writes

router = APIRouter(prefix="/api/v1/clips", tags=["evidence (team)"], route_class=UnitOfWorkRoute)


@router.get(
    "/{code}/evidence.tar",
    summary="The clip's evidence package: a BagIt bag in a tar (custody-logged)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-tar": {}}}},
)
@writes  # the export is a custody event, committed before the first byte
def evidence_tar(code: str, session: SessionDep, who: TeamMember) -> StreamingResponse:
    plan = service.plan_bag(session, code, actor=who.actor)
    return StreamingResponse(
        tar_stream([plan]),
        media_type="application/x-tar",
        headers={
            "Content-Disposition": f'attachment; filename="{plan.root}-evidence.tar"',
            "Cache-Control": "private, no-store",
        },
    )
