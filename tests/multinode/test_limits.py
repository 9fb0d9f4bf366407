"""Rate limits and log-in throttling hold across nodes: with Redis configured, two API
server processes count together (per process, each node would let N through: 2N)."""

from __future__ import annotations

import uuid

import pytest

from tests.multinode.conftest import ANONYMOUS_RATE, KEY_RATE, LOGIN_FREE_FAILURES, Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_a_keys_limit_is_shared_by_both_nodes(cluster: Cluster) -> None:
    headers = {"Authorization": f"Bearer {cluster.partner_key}"}
    with cluster.a.client(headers=headers) as a, cluster.b.client(headers=headers) as b:
        statuses = [
            (a if i % 2 == 0 else b).get("/api/v1/published").status_code for i in range(KEY_RATE)
        ]
        assert statuses == [200] * KEY_RATE
        over_a, over_b = a.get("/api/v1/published"), b.get("/api/v1/published")
    for r in (over_a, over_b):
        assert r.status_code == 429, r.text
        assert r.json()["error"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert f"{KEY_RATE} per minute" in r.json()["detail"]


def test_the_anonymous_limit_per_address_is_shared_by_both_nodes(cluster: Cluster) -> None:
    with cluster.a.client() as a, cluster.b.client() as b:
        statuses = [
            (b if i % 2 == 0 else a).get("/api/v1/published").status_code
            for i in range(ANONYMOUS_RATE)
        ]
        assert statuses == [200] * ANONYMOUS_RATE
        over = [a.get("/api/v1/published"), b.get("/api/v1/published")]
    assert [r.status_code for r in over] == [429, 429]
    assert "an API key raises the limit" in over[0].json()["detail"]


def test_failed_log_ins_on_either_node_lock_the_account_on_both(cluster: Cluster) -> None:
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.org"  # the throttle does not care
    body = {"email": email, "password": "not the password at all"}
    with cluster.a.client() as a, cluster.b.client() as b:
        tries = [
            (a if i % 2 == 0 else b).post("/api/v1/auth/login", json=body)
            for i in range(LOGIN_FREE_FAILURES + 1)
        ]
        assert [r.status_code for r in tries] == [401] * (LOGIN_FREE_FAILURES + 1)
        locked = [a.post("/api/v1/auth/login", json=body), b.post("/api/v1/auth/login", json=body)]
    for r in locked:
        assert r.status_code == 429, r.text
        assert int(r.headers["Retry-After"]) >= 1


def test_behind_a_proxy_each_visitors_address_has_its_own_shared_limit(cluster: Cluster) -> None:
    """The proxy (here 127.0.0.1, trusted by default: FORWARDED_ALLOW_IPS) passes the
    visitor's address on; both nodes count per visitor, together."""
    first, second = ({"X-Forwarded-For": ip} for ip in ("203.0.113.7", "198.51.100.23"))
    with cluster.a.client() as a, cluster.b.client() as b:
        statuses = [
            (a if i % 2 == 0 else b).get("/api/v1/published", headers=first).status_code
            for i in range(ANONYMOUS_RATE + 1)
        ]
        assert statuses == [200] * ANONYMOUS_RATE + [429]
        assert b.get("/api/v1/published", headers=first).status_code == 429
        assert a.get("/api/v1/published", headers=second).status_code == 200  # its own count
