"""The "Possible duplicates" panel of the team clip page: a reviewer marks a candidate
pair `same footage`, `same event, different footage` or `not related`. A thin caller of
app/duplicates/review.py (which checks the role and logs the decision)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.duplicates import review
from app.web.session import SessionDep
from app.web.team.clip import _act, _s
from app.web.team.common import TeamPage, make_router, page

router = make_router()


@page(router, "/team/clips/{code}/duplicates/{other}/decision", methods=("POST",))
async def post_decision(
    code: str, other: str, request: Request, session: SessionDep, who: TeamPage
) -> Response:
    assert who.user is not None
    user = who.user

    def act(d: dict[str, Any]) -> str:
        review.decide(
            session,
            code,
            other,
            _s(d, "decision"),
            user=user,
            actor=who.actor,
            seen=_s(d, "seen") or None,
        )
        return "decided"

    return await _act(request, session, code, who, act, "duplicates")
