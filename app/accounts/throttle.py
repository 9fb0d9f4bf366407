"""Log-in throttling per account and per client address, with exponential back-off.

Each key (``account:EMAIL``, ``address:IP``) counts failed log-ins in a row. The first
``login_max_failures`` (per address: ``login_max_failures_per_address``) are free; each
further failure locks the key for ``login_lockout_seconds`` x 2^(failures over the limit),
at most ``login_lockout_max_seconds``. While a key is locked every attempt is refused with
429 and Retry-After before the password is even looked at, whether or not the account
exists. A success clears the account's key (not the address's: one good account must not
buy an address more guesses). A key idle for longer than the longest lock-out starts again.

The state lives in the ``login_throttle`` table, or in Redis when
ARCHIVE_RATE_LIMIT_REDIS_URL is set, so it holds across workers and restarts. Failures are
written in a transaction of their own (the request's is rolled back when it answers 401),
and so is the ``login.locked`` custody event of each lock-out.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.accounts.exceptions import LoginThrottled
from app.accounts.models import LoginThrottle
from app.config import Settings, get_settings
from app.custody import service as custody
from app.db import session_scope
from app.kit.clock import utcnow

log = logging.getLogger("archive.accounts")
THROTTLED_MESSAGE = "too many failed log-ins; wait and try again"


@dataclass(frozen=True)
class Keys:
    account: str
    address: str

    @classmethod
    def of(cls, email: str, address: str | None) -> Keys:
        return cls(f"account:{email.strip().lower()[:254]}", f"address:{address or 'unknown'}")

    def limits(self, settings: Settings) -> list[tuple[str, int]]:
        return [
            (self.account, settings.login_max_failures),
            (self.address, settings.login_max_failures_per_address),
        ]


def lock_seconds(failures: int, free: int, settings: Settings) -> int:
    """How long ``failures`` in a row lock a key with ``free`` free failures (0: not)."""
    over = failures - free
    if over <= 0:
        return 0
    return min(
        settings.login_lockout_seconds * 2 ** min(over - 1, 30), settings.login_lockout_max_seconds
    )


# --- the database store ------------------------------------------------------------------


def _db_wait(session: Session, keys: list[str]) -> float:
    now = utcnow()
    until = session.scalars(
        select(LoginThrottle.locked_until).where(
            LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now
        )
    ).all()
    return max(((u - now).total_seconds() for u in until if u is not None), default=0.0)


def _db_fail(session: Session, key: str, free: int, settings: Settings) -> tuple[int, int]:
    """Count one failure for ``key``: (failures in a row, seconds locked, 0: none)."""
    now = utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = session.scalars(
        select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    ).one()
    if now - row.last_failure_at > timedelta(seconds=settings.login_lockout_max_seconds):
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    seconds = lock_seconds(row.failures, free, settings)
    row.locked_until = now + timedelta(seconds=seconds) if seconds else None
    session.flush()
    return row.failures, seconds


def _db_clear(session: Session, key: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


# --- the Redis store ---------------------------------------------------------------------

# KEYS[1] the key; ARGV: free failures, first lock (s), longest lock (s). Counts one failure
# and returns {failures, seconds locked}; the hash expires once idle past the longest lock.
_FAIL_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1])
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local over = failures - tonumber(ARGV[1])
local seconds = 0
if over > 0 then
  seconds = math.min(tonumber(ARGV[2]) * 2 ^ math.min(over - 1, 30), tonumber(ARGV[3]))
  redis.call('HSET', KEYS[1], 'locked_until', now + seconds)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) + math.floor(seconds))
return {failures, math.floor(seconds)}
"""
# KEYS: the keys. Returns the longest wait in seconds (0: none).
_WAIT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
for _, key in ipairs(KEYS) do
  local until_ = tonumber(redis.call('HGET', key, 'locked_until') or '0')
  if until_ - now > wait then wait = until_ - now end
end
return tostring(wait)
"""
REDIS_PREFIX = "archive:login:"


@lru_cache(maxsize=4)
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)


def _redis_wait(url: str, keys: list[str]) -> float:
    client = _redis(url)
    return float(client.eval(_WAIT_SCRIPT, len(keys), *[REDIS_PREFIX + k for k in keys]))


def _redis_fail(url: str, key: str, free: int, settings: Settings) -> tuple[int, int]:
    failures, seconds = _redis(url).eval(
        _FAIL_SCRIPT,
        1,
        REDIS_PREFIX + key,
        free,
        settings.login_lockout_seconds,
        settings.login_lockout_max_seconds,
    )
    return int(failures), int(seconds)


# --- what the log-in uses ----------------------------------------------------------------


def check(session: Session, keys: Keys) -> None:
    """Refuse (429 with Retry-After) while the account or the address is locked."""
    settings = get_settings()
    names = [keys.account, keys.address]
    url = settings.rate_limit_redis_url
    wait = _redis_wait(url, names) if url else _db_wait(session, names)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise LoginThrottled(
            f"{THROTTLED_MESSAGE} (in {seconds} s)",
            headers={"Retry-After": str(seconds)},
            extra={"retry_after": seconds},
        )


def failed(keys: Keys, *, actor: str) -> None:
    """Count a failed log-in for both keys; a key that locks is a ``login.locked`` event.

    Runs in transactions of its own: call it after the request's session has released
    any write lock (rolled back)."""
    settings = get_settings()
    url = settings.rate_limit_redis_url
    with session_scope() as session:
        for key, free in keys.limits(settings):
            if url:
                failures, seconds = _redis_fail(url, key, free, settings)
            else:
                failures, seconds = _db_fail(session, key, free, settings)
            if seconds:
                scope, _, value = key.partition(":")
                log.warning(
                    "log-in locked: %s for %d s after %d failures", scope, seconds, failures
                )
                custody.record(
                    session,
                    actor=actor,
                    action="login.locked",
                    payload={
                        "scope": scope,
                        scope: value,
                        "failures": failures,
                        "locked_seconds": seconds,
                        "until": (utcnow() + timedelta(seconds=seconds)).isoformat(),
                    },
                )


def succeeded(session: Session, keys: Keys) -> None:
    """Clear the account's failures (in the request's transaction)."""
    settings = get_settings()
    if settings.rate_limit_redis_url:
        _redis(settings.rate_limit_redis_url).delete(REDIS_PREFIX + keys.account)
    else:
        _db_clear(session, keys.account)
