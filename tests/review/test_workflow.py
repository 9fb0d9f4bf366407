"""The state machine and its rules, through the JSON API. Each rule has a test that fails
without it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.clips.models import STATUSES
from app.config import get_settings
from app.db import session_scope
from app.review import transitions
from app.review.models import Retraction
from tests.review.conftest import Api, Team


def test_the_transition_table_covers_every_state_and_retraction_is_final() -> None:
    sources = {m.source for m in transitions.MOVES}
    targets = {m.target for m in transitions.MOVES}
    assert sources | targets == set(STATUSES)
    assert transitions.moves_from("retracted") == []
    assert [m.target for m in transitions.moves_from("published")] == ["retracted"]
    assert not transitions.find("in_review", "verified").uploader_may  # type: ignore[union-attr]


def test_the_whole_path_to_published(api: Api, team: Team) -> None:
    code = api.verified(team)
    clip = api.clip(code, team.admin)
    assert clip["status"] == "verified" and clip["published_at"] is None
    r = api.move(code, team.admin, "published", "ready", version=clip["version"])
    assert r.status_code == 200, r.text
    clip = api.clip(code, team.admin)
    assert clip["status"] == "published" and clip["published_at"] is not None
    moves = [
        e["payload"]["to"]
        for e in api.events(code, team.admin)
        if e["action"] == "review.transition"
    ]
    assert moves == ["submitted", "in_review", "verified", "published"]


def test_an_illegal_move_is_a_409_listing_the_allowed_ones(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    r = api.move(code, team.r1, "published", "skip ahead")
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "illegal_transition"
    assert body["current"] == "draft" and body["allowed"] == ["submitted"]
    assert "draft" in body["detail"] and "submitted" in body["detail"]
    r = api.move(code, team.r1, "nonsense")
    assert r.status_code == 409


def test_contributors_cannot_review_verify_or_publish(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    for to in ("verified", "rejected", "needs_info"):
        r = api.move(code, team.other_contributor, to, "x")
        assert r.status_code == 403, (to, r.text)
    assert api.approve(code, team.other_contributor).status_code == 403
    code2 = api.verified(team)
    r = api.move(code2, team.uploader, "published", "x")
    assert r.status_code == 403


def test_nobody_verifies_a_clip_they_uploaded(api: Api, team: Team) -> None:
    # r3 is a reviewer who uploads a clip: they cannot approve it or verify it.
    code = api.in_review(team.r3, team.r1)
    api.complete_checklist(code, team.r1)
    r = api.approve(code, team.r3)
    assert r.status_code == 403 and "uploaded" in r.json()["detail"]
    assert api.approve(code, team.r1).status_code == 201
    assert api.approve(code, team.r2).json()["status"] == "verified"

    code = api.in_review(team.r3, team.r1)
    api.complete_checklist(code, team.r1)
    api.approve(code, team.r1)
    api.approve(code, team.admin)  # an admin's approval counts too
    assert api.clip(code, team.r3)["status"] == "verified"


def test_explicit_verify_by_the_uploader_is_refused(
    api: Api, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = api.in_review(team.r3, team.r1)
    api.complete_checklist(code, team.r1)
    # two approvals without the automatic verification: raise the bar while approving
    monkeypatch.setenv("ARCHIVE_REQUIRED_APPROVALS", "3")
    get_settings.cache_clear()
    api.approve(code, team.r1)
    api.approve(code, team.r2)
    monkeypatch.setenv("ARCHIVE_REQUIRED_APPROVALS", "2")
    get_settings.cache_clear()
    r = api.move(code, team.r3, "verified", "mine")
    assert r.status_code == 403 and "uploaded" in r.json()["detail"]
    assert api.move(code, team.r1, "verified", "two approvals").status_code == 200


def test_verification_needs_a_complete_checklist(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    api.approve(code, team.r1)
    r = api.approve(code, team.r2)
    assert r.status_code == 201 and r.json()["status"] == "in_review"
    r = api.move(code, team.r1, "verified", "try")
    assert r.status_code == 409
    assert r.json()["error"] == "verification_incomplete"
    assert "location_confirmed" in r.json()["missing_items"]
    api.complete_checklist(code, team.r1)
    assert api.move(code, team.r1, "verified", "all done").status_code == 200


def test_verification_needs_distinct_approvals(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    api.complete_checklist(code, team.r1)
    assert api.approve(code, team.r1).status_code == 201
    r = api.approve(code, team.r1)
    assert r.status_code == 409 and r.json()["error"] == "already_approved"
    r = api.move(code, team.r1, "verified", "one is enough?")
    assert r.status_code == 409 and r.json()["approvals"] == [team.r1.email]
    assert api.clip(code, team.r1)["status"] == "in_review"


def test_required_approvals_comes_from_settings(
    api: Api, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_REQUIRED_APPROVALS", "1")
    get_settings.cache_clear()
    code = api.in_review(team.uploader, team.r1)
    api.complete_checklist(code, team.r1)
    r = api.approve(code, team.r1)
    assert r.json() == {
        "code": code,
        "status": "verified",
        "version": r.json()["version"],
        "verified_now": True,
    }


def test_publishing_needs_an_admin_or_a_reviewer_with_publishing_rights(
    api: Api, team: Team
) -> None:
    code = api.verified(team)
    r = api.move(code, team.r1, "published", "go")
    assert r.status_code == 403 and "publishing rights" in r.json()["detail"]
    assert api.move(code, team.publisher, "published", "go").status_code == 200


def test_rejection_and_retraction_need_reasons(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    r = api.move(code, team.r1, "rejected", "   ")
    assert r.status_code == 422 and r.json()["error"] == "note_required"
    assert api.move(code, team.r1, "rejected", "staged footage").status_code == 200

    code = api.verified(team)
    api.ok_move(code, team.admin, "published")
    r = api.move(code, team.admin, "retracted", "")
    assert r.status_code == 422 and "public reason" in r.json()["detail"]
    api.ok_move(code, team.admin, "retracted", "The footage was shown to predate the event.")
    with session_scope() as s:
        reason = s.scalar(select(Retraction.public_reason))
    assert reason == "The footage was shown to predate the event."
    r = api.move(code, team.admin, "published", "again")
    assert r.status_code == 409 and r.json()["allowed"] == []


def test_needs_info_returns_to_submitted_when_the_uploader_answers(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    api.complete_checklist(code, team.r1)
    api.approve(code, team.r1)
    api.ok_move(code, team.r1, "needs_info", "Who filmed this?")
    assert api.move(code, team.other_contributor, "submitted", "me").status_code == 403
    assert api.move(code, team.uploader, "submitted", "").status_code == 422
    api.ok_move(code, team.uploader, "submitted", "My neighbour filmed it from the roof")
    # the earlier approval was withdrawn: a new review round needs fresh approvals
    api.ok_move(code, team.r1, "in_review", "again")
    r = api.c.get(f"/api/v1/clips/{code}/transitions", headers=team.r1.headers).json()
    assert r["approvals"] == []


def test_only_an_admin_reopens_a_rejected_clip(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    api.ok_move(code, team.r1, "rejected", "duplicate of another clip")
    assert api.move(code, team.r1, "submitted", "reopen").status_code == 403
    assert api.move(code, team.uploader, "submitted", "reopen").status_code == 403
    assert api.move(code, team.admin, "submitted", "not a duplicate").status_code == 200


def test_a_stale_version_is_a_409(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    version = api.clip(code, team.uploader)["version"]
    api.ok_move(code, team.uploader, "submitted")
    r = api.move(code, team.r1, "in_review", "x", version=version)
    assert r.status_code == 409 and r.json()["error"] == "stale_version"


def test_allowed_moves_are_listed_for_the_caller(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    as_r1 = api.c.get(f"/api/v1/clips/{code}/transitions", headers=team.r1.headers).json()
    moves = {m["to"]: m for m in as_r1["moves"]}
    assert set(moves) == {"needs_info", "verified", "rejected"}
    assert moves["needs_info"]["allowed"] and moves["rejected"]["note_required"]
    assert not moves["verified"]["allowed"] and "0 of the 2" in moves["verified"]["reason"]
    as_c = api.c.get(f"/api/v1/clips/{code}/transitions", headers=team.uploader.headers).json()
    assert not any(m["allowed"] for m in as_c["moves"])
