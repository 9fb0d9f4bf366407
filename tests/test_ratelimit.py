"""Rate limits without the database: in memory per process, or shared through Redis."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import pytest

from app.config import get_settings
from app.kit.ratelimit import MemoryLimiter, RedisLimiter, make_limiter
from tests.conftest import service_missing


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        service_missing("Redis", "TEST_REDIS_URL")
    assert url is not None
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {url} ({type(exc).__name__})", "TEST_REDIS_URL")
    return url


def test_memory_limiter_slides_its_window() -> None:
    now = [1000.0]
    limiter = MemoryLimiter(window=60, clock=lambda: now[0])
    assert [limiter.hit("a", 2) for _ in range(2)] == [None, None]
    assert limiter.hit("a", 2) == pytest.approx(60)
    assert limiter.hit("b", 2) is None  # buckets are separate
    now[0] += 61
    assert limiter.hit("a", 2) is None


@pytest.mark.redis
def test_two_limiters_sharing_redis_count_together(redis_url: str) -> None:
    bucket = f"test-{uuid.uuid4().hex}"
    a, b = RedisLimiter(redis_url), RedisLimiter(redis_url)
    try:
        answers = [(a if i % 2 else b).hit(bucket, 5) for i in range(5)]
        assert answers == [None] * 5
        wait_a, wait_b = a.hit(bucket, 5), b.hit(bucket, 5)
        assert wait_a is not None and 0 < wait_a <= 60
        assert wait_b is not None and 0 < wait_b <= 60
        assert a.hit(f"{bucket}-other", 5) is None
    finally:
        a.close()
        b.close()


def test_an_unreachable_redis_lets_requests_through() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limiter = make_limiter(f"redis://127.0.0.1:{port}/0")
    assert isinstance(limiter, RedisLimiter)
    assert [limiter.hit("x", 1) for _ in range(3)] == [None, None, None]


@pytest.mark.redis
def test_anonymous_limit_counts_across_two_server_processes(
    db_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two app instances (two processes' worth of limiters) share one Redis: the limit is
    the limit, not twice it."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    monkeypatch.setenv("ARCHIVE_RATE_LIMIT_REDIS_URL", redis_url)
    monkeypatch.setenv("ARCHIVE_PARTNER_ANONYMOUS_RATE_PER_MINUTE", "3")
    get_settings.cache_clear()
    # a client address of its own, so earlier runs against the same Redis do not count
    client_host = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    first, second = create_app(), create_app()
    codes: list[int] = []
    retry: list[Any] = []
    with (
        TestClient(first, client=(client_host, 1)) as one,
        TestClient(second, client=(client_host, 1)) as two,
    ):
        for i in range(4):
            r = (one if i % 2 else two).get("/api/v1/published")
            codes.append(r.status_code)
            retry.append(r.headers.get("Retry-After"))
    assert codes == [200, 200, 200, 429]
    assert retry[-1] is not None and 1 <= int(retry[-1]) <= 60
