"""Admission control: at most ``slots`` requests inside the app at once; the others wait
their turn (first come, first served) for at most ``wait`` seconds, then get the response
``reject`` makes (the archive's: 503 with ``Retry-After``). Never a hang.

Why: each admitted request may hold one database connection and one worker thread at a
time, so with ``slots`` no larger than the thread pool and the connection pool, an admitted
request never waits for either (a request that holds a connection while it waits for a
thread, or the reverse, is how a busy server used to stall for minutes). Requests that
``exempt`` names skip the queue (static files; upload bodies, which hold no connection
while they stream and must never be cut off).

The worker-thread pool (anyio's default limiter, 40 tokens unless told) is set to
``threads`` in every event loop this serves. Domain-free; ASGI only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import anyio.to_thread
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


class Admission:
    def __init__(
        self,
        app: ASGIApp,
        *,
        slots: int,
        wait: float,
        reject: Callable[[Scope, float], Response],
        threads: int | None = None,
        exempt: Callable[[Scope], bool] = lambda scope: False,
    ) -> None:
        self.app = app
        self.slots = max(1, slots)
        self.wait = wait
        self.reject = reject
        self.threads = threads
        self.exempt = exempt
        self.inside = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.threads is not None:
            limiter = anyio.to_thread.current_default_thread_limiter()
            if limiter.total_tokens != self.threads:
                limiter.total_tokens = self.threads
        if self.exempt(scope):
            await self.app(scope, receive, send)
            return
        if not await self._enter():
            await self.reject(scope, self.wait)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._leave()

    async def _enter(self) -> bool:
        while self._waiting and self._waiting[0].done():
            self._waiting.popleft()  # gave up waiting
        if self.inside < self.slots and not self._waiting:
            self.inside += 1
            return True
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.wait)
        except TimeoutError:
            if turn.done() and not turn.cancelled():
                return True  # the slot was handed over just as the wait ran out
            turn.cancel()
            return False
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._leave()  # handed a slot, but this request is gone: pass it on
            else:
                turn.cancel()
            raise
        return True

    def _leave(self) -> None:
        """Hand the slot to the longest waiter still waiting, or free it."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes over; ``inside`` is unchanged
                return
        self.inside -= 1
