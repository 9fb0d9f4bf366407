"""The web side of the unit of work: the request's session as a FastAPI dependency
(``SessionDep``) and the route class that commits it before the response leaves.

Kept out of app/db.py so that services, jobs and the CLI never load the web framework.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import new_session


def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: the request's session.

    ``UnitOfWorkRoute`` commits it after the endpoint returns and *before* the response is
    sent, so a failed commit becomes an error response instead of a false 2xx. Any
    exception rolls it back.
    """
    session = new_session()
    request.state.db_session = session
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class UnitOfWorkRoute(APIRoute):
    """One transaction per request: commit at the boundary, before the response leaves."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_commit(request: Request) -> Response:
            response = await handler(request)
            session: Session | None = getattr(request.state, "db_session", None)
            if session is not None and response.status_code < 400:
                await run_in_threadpool(session.commit)
            return response

        return with_commit


SessionDep = Annotated[Session, Depends(get_session)]
