"""Rate limits for the partner API: per key (ApiKey.rate_per_minute) and per anonymous IP.

A sliding one-minute window counted in this process. With several server processes each
counts on its own, so the effective limit is (processes x limit); put a shared limiter
(Redis) in front before relying on it for abuse control across a fleet.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from fastapi import Request

from app.accounts.deps import PrincipalDep
from app.config import get_settings
from app.errors import RateLimited

WINDOW = 60.0


class Limiter:
    def __init__(self, clock: object = time.monotonic) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def hit(self, key: str, limit: int) -> float | None:
        """Count one request; return None if allowed, else seconds until one is."""
        now: float = self._clock()  # type: ignore[operator]
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - WINDOW:
                hits.popleft()
            if len(hits) >= limit:
                return max(hits[0] + WINDOW - now, 0.0)
            hits.append(now)
            if len(self._hits) > 50_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v][:10_000]:
                    del self._hits[k]
            return None


def limiter_for(request: Request) -> Limiter:
    state = request.app.state
    if getattr(state, "partner_limiter", None) is None:
        state.partner_limiter = Limiter()
    limiter: Limiter = state.partner_limiter
    return limiter


async def rate_limit(request: Request, principal: PrincipalDep) -> None:
    """Router dependency of the partner API (not an access rule)."""
    if principal.key is not None:
        bucket, limit = f"key:{principal.key.id}", principal.key.rate_per_minute
    else:
        host = request.client.host if request.client else "unknown"
        bucket, limit = f"ip:{host}", get_settings().partner_anonymous_rate_per_minute
    wait = limiter_for(request).hit(bucket, max(limit, 1))
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many requests: {limit} per minute; try again in {seconds} s"
            + ("" if principal.key else " (an API key raises the limit)"),
            headers={"Retry-After": str(seconds)},
        )
