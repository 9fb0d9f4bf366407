"""Dashboard, review queue and "my work"."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import service as accounts
from app.clips import atlas
from app.clips.models import STATUSES
from app.custody import stamping
from app.errors import InvalidInput
from app.kit.date_input import query_day
from app.review import queue
from app.web.session import SessionDep
from app.web.team.common import TeamPage, make_router, page, prefix_of
from app.web.team.media import fixity_summary, stuck_processing
from app.web.templating import lang_of, render

router = make_router()
OPEN_STATES = ["submitted", "in_review", "needs_info", "verified"]


@page(router, "/team")
def team_root(request: Request, _: TeamPage) -> Response:
    return RedirectResponse(prefix_of(request) + "/team/", status_code=308)


@page(router, "/team/")
def dashboard(
    request: Request,
    session: SessionDep,
    who: TeamPage,
    state: Annotated[str | None, Query(max_length=20, description="the map's state")] = None,
) -> Response:
    assert who.user is not None
    if state and state not in STATUSES:
        raise InvalidInput(f"state {state!r} is not one of {', '.join(STATUSES)}", field="state")
    everything = queue.review_queue(session, queue.build_filter(session), limit=10)
    mine = queue.review_queue(
        session,
        queue.build_filter(session, statuses=OPEN_STATES, assignee_id=who.user.id),
        limit=20,
    )
    return render(
        request,
        "team/dashboard.html",
        {
            "counts": everything.counts,
            "recent": everything.items,
            "mine": mine.items,
            "stuck": stuck_processing(session),
            "fixity": fixity_summary(session),
            "checkpoint": stamping.status(session),
            "statuses": STATUSES,
            "geo": atlas.team_map(session, lang_of(request), prefix_of(request), state or None),
            "map_state": state or None,
        },
    )


@page(router, "/team/queue")
def review_queue(
    request: Request,
    session: SessionDep,
    who: TeamPage,
    state: Annotated[str | None, Query(max_length=20)] = None,
    assignee: Annotated[str | None, Query(max_length=254)] = None,
    city: Annotated[str | None, Query(max_length=200)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    assert who.user is not None
    assignee_id: int | None = None
    if assignee == "me":
        assignee_id = who.user.id
    elif assignee and assignee != "none":
        user = accounts.find_user_by_email(session, assignee)
        assignee_id = user.id if user else -1  # an unknown email: an empty queue
    f = queue.build_filter(
        session,
        statuses=[state] if state else None,
        city=city or None,
        date_from=query_day(from_, "from"),
        date_to=query_day(to, "to"),
        assignee_id=assignee_id,
        unassigned=assignee == "none",
        q=q,
    )
    page = queue.review_queue(session, f, limit=50, offset=offset)
    reviewers = accounts.reviewer_emails(session)
    return render(
        request,
        "team/queue.html",
        {
            "q": page,
            "statuses": STATUSES,
            "reviewers": reviewers,
            "filters": {
                "state": state or "",
                "assignee": assignee or "",
                "city": city or "",
                "from": from_ or "",
                "to": to or "",
                "q": q or "",
            },
        },
    )


@page(router, "/team/mine")
def my_work(request: Request, _: TeamPage) -> Response:
    return RedirectResponse(prefix_of(request) + "/team/queue?assignee=me", status_code=303)
