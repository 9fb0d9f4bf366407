"""Issue 13 §1: a verified record stays verified.

The four scenarios of the issue, through the API and the team web form: each failed on
the code before the freeze (the edit or upload went through, the approval was accepted).
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.clips import service as clips
from app.clips.schemas import ClipCreate
from app.db import session_scope
from tests.review.conftest import Api, Team
from tests.review.test_publishing import original, run_jobs, upload  # noqa: F401
from tests.review.test_team_web import HTML, login

__all__ = ["original"]


def patch(api: Api, code: str, who: Any, **fields: Any) -> Any:
    version = api.clip(code, who)["version"]
    return api.c.patch(
        f"/api/v1/clips/{code}", json={"version": version, **fields}, headers=who.headers
    )


def published_demo_clip() -> str:
    """A published record without footage and without an uploader (as every demo clip)."""
    with session_scope() as s:
        return clips.create(
            s,
            ClipCreate(city="Shiraz", province="Fars", date="16 Nov 2019", title_en="demo"),  # type: ignore[call-arg]
            actor="test",
            user_id=None,
            status="published",
        ).code


def assert_frozen(r: Any, code: str, state: str) -> None:
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "record_frozen" and body["state"] == state
    assert body["corrections"] == f"/api/v1/clips/{code}/corrections"
    assert state in body["detail"] and f"/api/v1/clips/{code}/corrections" in body["detail"]


def test_a_contributor_cannot_change_the_city_and_date_of_a_verified_clip(
    api: Api, team: Team
) -> None:
    code = api.verified(team)
    before = api.clip(code, team.r1)
    last = max(e["id"] for e in api.events(code, team.admin))
    for who in (team.uploader, team.r1, team.admin):
        r = patch(api, code, who, city="Shiraz", province="Fars", date="2020")
        assert_frozen(r, code, "verified")
    after = api.clip(code, team.r1)
    assert after == before and after["status"] == "verified"
    later = [e["action"] for e in api.events(code, team.admin) if e["id"] > last]
    assert "clip.updated" not in later  # nothing changed, nothing logged as changed


def test_nobody_edits_a_published_clip_in_place_via_api_or_web(
    client: TestClient, api: Api, team: Team
) -> None:
    code = api.verified(team)
    api.ok_move(code, team.publisher, "published", "public now")
    demo = published_demo_clip()
    for c in (code, demo):
        assert_frozen(
            patch(api, c, team.other_contributor, city="Shiraz", province="Fars"), c, "published"
        )
    token = login(client, team.other_contributor)
    page = client.get(f"/clips/{demo}").text
    r = client.post(
        f"/team/clips/{demo}/edit",
        headers=HTML,
        data={"csrf_token": token, "version": "1", "city": "Abadan", "province": "Khuzestan"},
    )
    assert r.status_code == 409 and 'role="alert"' in r.text
    assert "is published" in r.text and f"/api/v1/clips/{demo}/corrections" in r.text
    assert client.get(f"/clips/{demo}").text == page
    assert client.get(f"/api/v1/published/{demo}").json()["place"]["city"] == "Shiraz"


def test_footage_cannot_be_attached_in_place_to_a_verified_clip(
    api: Api,
    team: Team,
    original: bytes,  # noqa: F811
) -> None:
    code = api.verified(team)
    r = api.c.post(
        f"/api/v1/clips/{code}/media",
        content=original,
        headers={**team.uploader.headers, "Content-Type": "video/quicktime"},
    )
    assert_frozen(r, code, "verified")
    assert run_jobs() == []


def test_a_reviewer_who_uploaded_the_footage_cannot_approve_it(
    api: Api,
    team: Team,
    original: bytes,  # noqa: F811
) -> None:
    code = api.new_clip(team.uploader)
    upload(api, team.r3, code, original)  # r3 uploads the footage of the contributor's clip
    api.ok_move(code, team.uploader, "submitted", "please review")
    api.ok_move(code, team.r1, "in_review", "starting")
    api.complete_checklist(code, team.r1)
    assert api.approve(code, team.r1).status_code == 201
    r = api.approve(code, team.r3)
    assert r.status_code == 403 and "uploaded the footage" in r.json()["detail"]
    r = api.move(code, team.r3, "verified", "mine")
    assert r.status_code == 403 and "footage they uploaded" in r.json()["detail"]
    assert api.clip(code, team.r1)["status"] == "in_review"
    moves = api.c.get(f"/api/v1/clips/{code}/transitions", headers=team.r3.headers)
    assert moves.status_code == 200, moves.text
    verify = [m for m in moves.json()["moves"] if m["to"] == "verified"]
    assert verify and not verify[0]["allowed"]
    assert api.approve(code, team.r2).json()["status"] == "verified"


def test_before_verification_only_the_uploader_and_reviewers_edit(
    client: TestClient, api: Api, team: Team
) -> None:
    code = api.new_clip(team.uploader)
    r = patch(api, code, team.other_contributor, title_en="not mine")
    assert r.status_code == 403 and r.json()["error"] == "not_allowed"
    token = login(client, team.other_contributor)
    r = client.post(
        f"/team/clips/{code}/edit",
        headers=HTML,
        data={"csrf_token": token, "version": "1", "title_en": "not mine either"},
    )
    assert r.status_code == 403 and 'role="alert"' in r.text
    assert patch(api, code, team.uploader, title_en="mine").status_code == 200
    assert patch(api, code, team.r1, title_en="reviewed").status_code == 200
    assert api.clip(code, team.r1)["title_en"] == "reviewed"


def test_an_edit_in_review_withdraws_the_approvals(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    api.complete_checklist(code, team.r1)
    assert api.approve(code, team.r1).status_code == 201
    r = patch(api, code, team.uploader, city="Shiraz", province="Fars")
    assert r.status_code == 200, r.text
    events = api.events(code, team.admin)
    withdrawn = [e for e in events if e["action"] == "review.approvals_withdrawn"]
    assert withdrawn and withdrawn[-1]["payload"]["approvals_withdrawn"] == [team.r1.email]
    # the earlier approval no longer counts: r2's is the first of two again
    r = api.approve(code, team.r2)
    assert r.status_code == 201 and r.json()["status"] == "in_review"
    assert api.approve(code, team.r1).json()["status"] == "verified"
