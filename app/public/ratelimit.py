"""Rate limits for the partner API: per key (ApiKey.rate_per_minute) and per anonymous IP.

A sliding one-minute window (``app.kit.ratelimit``), counted in this process, or in Redis
across every process that shares ``ARCHIVE_RATE_LIMIT_REDIS_URL`` when that is set. Nothing
is written to the database per request.
"""

from __future__ import annotations

import math

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import PrincipalDep
from app.config import get_settings
from app.errors import RateLimited
from app.kit.ratelimit import Limiter, make_limiter


def limiter_for(request: Request) -> Limiter:
    state = request.app.state
    if getattr(state, "partner_limiter", None) is None:
        state.partner_limiter = make_limiter(get_settings().rate_limit_redis_url)
    limiter: Limiter = state.partner_limiter
    return limiter


async def rate_limit(request: Request, principal: PrincipalDep) -> None:
    """Router dependency of the partner API (not an access rule)."""
    if principal.key is not None:
        bucket, limit = f"key:{principal.key.id}", principal.key.rate_per_minute
    else:
        host = request.client.host if request.client else "unknown"
        bucket, limit = f"ip:{host}", get_settings().partner_anonymous_rate_per_minute
    limiter = limiter_for(request)
    limit = max(limit, 1)
    if limiter.blocking:
        wait = await run_in_threadpool(limiter.hit, bucket, limit)
    else:
        wait = limiter.hit(bucket, limit)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many requests: {limit} per minute; try again in {seconds} s"
            + ("" if principal.key else " (an API key raises the limit)"),
            headers={"Retry-After": str(seconds)},
        )
