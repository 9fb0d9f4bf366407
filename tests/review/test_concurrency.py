"""Two reviewers acting on the same clip at once cannot produce an illegal state.

Real threads, each with its own database session, on PostgreSQL (row locks: SELECT ... FOR
UPDATE on the clip). The same tests run on SQLite, where BEGIN IMMEDIATE serialises writers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from app.accounts.models import User
from app.clips.models import Clip
from app.custody import audit
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.errors import AppError
from app.review import service
from app.review.models import Approval
from tests.review.conftest import Api, Team

ROUNDS = 4


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released at the same moment; return results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except (AppError, StaleDataError) as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _as(user_id: int, fn: Callable[..., Any], *args: Any, **kw: Any) -> Callable[[], Any]:
    def call() -> Any:
        with session_scope() as s:
            user = s.get(User, user_id)
            assert user is not None
            out = fn(s, *args, user=user, actor=f"user:{user.email}", **kw)
            return out[1] if isinstance(out, tuple) else getattr(out, "status", out)

    return call


def _state(code: str) -> tuple[str, int, int]:
    with session_scope() as s:
        clip = s.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        active = (
            s.scalar(
                select(func.count())
                .select_from(Approval)
                .where(Approval.clip_id == clip.id, Approval.withdrawn_at.is_(None))
            )
            or 0
        )
        to_verified = (
            s.scalar(
                select(func.count())
                .select_from(CustodyEvent)
                .where(CustodyEvent.clip_code == code, CustodyEvent.action == "review.transition")
            )
            or 0
        )
        assert audit.verify(s).ok
        return clip.status, active, to_verified


def _ready_for_last_approvals(client: TestClient, team: Team) -> str:
    api = Api(client)
    code = api.in_review(team.uploader, team.r1)
    api.complete_checklist(code, team.r1)
    return code


def _two_approvals_at_once(client: TestClient, team: Team) -> None:
    for _ in range(ROUNDS):
        code = _ready_for_last_approvals(client, team)
        results = _race(
            [
                _as(team.r1.id, service.approve, code, note="", version=None),
                _as(team.r2.id, service.approve, code, note="", version=None),
            ]
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        status, active, transitions = _state(code)
        # each saw the other's approval: the clip was verified, exactly once
        assert status == "verified" and active == 2
        assert sorted(results) == [False, True]
        assert transitions == 3  # submitted, in_review, verified


def _conflicting_moves(client: TestClient, team: Team) -> None:
    api = Api(client)
    for _ in range(ROUNDS):
        code = _ready_for_last_approvals(client, team)
        api.approve(code, team.r1)
        version = api.clip(code, team.r1)["version"]
        results = _race(
            [
                _as(team.r2.id, service.approve, code, note="", version=None),  # verifies
                _as(
                    team.r3.id,
                    service.transition,
                    code,
                    to="rejected",
                    note="fake",
                    version=version,
                ),
                _as(
                    team.r1.id,
                    service.transition,
                    code,
                    to="needs_info",
                    note="who?",
                    version=version,
                ),
            ]
        )
        wins = [r for r in results if not isinstance(r, Exception)]
        status, active, _ = _state(code)
        if status == "verified":
            assert active == 2
        else:
            assert status in ("rejected", "needs_info") and active == 0
        with session_scope() as s:
            moves = [
                e.payload["to"]
                for e in s.scalars(
                    select(CustodyEvent)
                    .where(
                        CustodyEvent.clip_code == code, CustodyEvent.action == "review.transition"
                    )
                    .order_by(CustodyEvent.id)
                )
            ]
        assert moves[:2] == ["submitted", "in_review"] and moves[2:] == [status]
        assert len(wins) >= 1


@pytest.mark.postgres
def test_two_last_approvals_at_once_verify_exactly_once_on_postgres(
    pg_app_url: str, make_pg_team
) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app

    with TestClient(create_app()) as client:
        _two_approvals_at_once(client, make_pg_team())


@pytest.mark.postgres
def test_conflicting_moves_at_once_leave_one_legal_outcome_on_postgres(
    pg_app_url: str, make_pg_team
) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app

    with TestClient(create_app()) as client:
        _conflicting_moves(client, make_pg_team())


def test_two_last_approvals_at_once_on_the_configured_database(
    client: TestClient, team: Team
) -> None:
    _two_approvals_at_once(client, team)


def test_conflicting_moves_at_once_on_the_configured_database(
    client: TestClient, team: Team
) -> None:
    _conflicting_moves(client, team)
