"""Sliding-window rate limits: at most ``limit`` hits per ``window`` seconds per bucket.

Two interchangeable limiters, neither of which touches the database:

- :class:`MemoryLimiter` counts in this process (a lock and a deque per bucket). With
  several server processes each counts on its own: the effective limit is processes x limit.
- :class:`RedisLimiter` counts in Redis (one sorted set per bucket, updated by one Lua
  script, timed by the Redis server's clock), so every process sharing that Redis agrees.
  If Redis cannot be reached it lets the request through and logs it (at most once a
  minute): a limiter outage must not take the archive down with it.

``hit(bucket, limit)`` returns None when the hit is allowed, else the seconds until one
would be. ``blocking`` says whether a call does network I/O (call it off the event loop).
Domain-free.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("archive.ratelimit")
WINDOW = 60.0


class Limiter(Protocol):
    blocking: bool

    def hit(self, bucket: str, limit: int) -> float | None: ...


class MemoryLimiter:
    blocking = False

    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def hit(self, bucket: str, limit: int) -> float | None:
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(bucket, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return max(hits[0] + self.window - now, 0.0)
            hits.append(now)
            if len(self._hits) > 50_000:  # forget idle clients
                for k in [k for k, v in self._hits.items() if not v][:10_000]:
                    del self._hits[k]
            return None


# KEYS[1] bucket; ARGV: window (ms), limit, a unique member. Returns -1 or the wait in ms.
_SCRIPT = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) + window - now, 0)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return -1
"""


class RedisLimiter:
    blocking = True

    def __init__(
        self, url: str, *, prefix: str = "archive:ratelimit:", window: float = WINDOW
    ) -> None:
        import redis

        self.window = window
        self.prefix = prefix
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=30
        )
        self._script: Any = self._client.register_script(_SCRIPT)
        self._last_warning = 0.0

    def hit(self, bucket: str, limit: int) -> float | None:
        import redis

        member = f"{time.time_ns()}-{secrets.token_hex(4)}"
        try:
            wait_ms = int(
                self._script(
                    keys=[self.prefix + bucket], args=[int(self.window * 1000), limit, member]
                )
            )
        except redis.RedisError as exc:
            now = time.monotonic()
            if now - self._last_warning > 60:
                self._last_warning = now
                log.warning("rate limiter: Redis unavailable, not limiting (%s)", exc)
            return None
        return None if wait_ms < 0 else wait_ms / 1000

    def close(self) -> None:
        self._client.close()


def make_limiter(redis_url: str = "", *, window: float = WINDOW) -> Limiter:
    """Redis when a URL is given, else this process's memory."""
    if redis_url:
        return RedisLimiter(redis_url, window=window)
    return MemoryLimiter(window=window)
