"""The web side of the unit of work: the request's session as a FastAPI dependency
(``SessionDep``), read-only transactions for safe requests (``writes`` marks the GET
endpoints that write), and the route class that commits before the response leaves.

Kept out of app/db.py so that services, jobs and the CLI never load the web framework.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import new_session

_F = TypeVar("_F", bound=Callable[..., Any])


WRITES = "archive_writes"


def writes(endpoint: _F) -> _F:
    """Mark a GET/HEAD endpoint that writes (a custody event, say): its request gets a
    writing transaction. Every other GET, HEAD and OPTIONS request reads only."""
    setattr(endpoint, WRITES, True)
    return endpoint


def reads_only(request: Request) -> bool:
    """Whether this request's transaction only reads: safe methods, unless the endpoint is
    marked with :func:`writes`."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return False
    return not getattr(request.scope.get("endpoint"), WRITES, False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: the request's session.

    ``UnitOfWorkRoute`` commits it after the endpoint returns and *before* the response is
    sent, so a failed commit becomes an error response instead of a false 2xx. Any
    exception rolls it back.

    Async, because opening and closing a session that has no transaction open does no I/O:
    as a sync generator it cost two more worker-thread hops per request (the thread
    hand-offs were the largest cost of a cached public page under load; bench/README.md,
    "Under load"). Whatever does talk to the database runs in the thread pool, shielded
    from cancellation so a disconnecting client cannot leave a transaction open.
    """
    session = new_session(read_only=reads_only(request))
    request.state.db_session = session
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(session.rollback)
        raise
    finally:
        if session.in_transaction():
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.close)
        else:
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
