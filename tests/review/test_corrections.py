"""Issue 13 §1: corrections, the only way a verified or published record changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.clips.models import Clip
from app.custody import audit
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.review import corrections
from app.review.models import Correction
from tests.review.conftest import Api, Team
from tests.review.test_concurrency import _as, _race
from tests.review.test_publishing import cursor, full_key  # noqa: F401

__all__ = ["full_key"]

MOVE = {"city": "Shiraz", "province": "Fars", "title_en": "Protest, Shiraz"}
INTERNAL = "Geolocated by r1 from the minaret; the uploader mislabelled it"
PUBLIC = "The footage was filmed in Shiraz, not Abadan."


def url(code: str, cid: int | None = None, tail: str = "") -> str:
    base = f"/api/v1/clips/{code}/corrections"
    return base + (f"/{cid}" if cid else "") + tail


def propose(api: Api, code: str, who: Any, changes: dict[str, Any] = MOVE) -> Any:
    body = {"changes": changes, "reason": INTERNAL, "public_reason": PUBLIC}
    return api.c.post(url(code), json=body, headers=who.headers)


def decide(api: Api, code: str, cid: int, who: Any, tail: str, **body: Any) -> Any:
    return api.c.post(url(code, cid, tail), json=body, headers=who.headers)


def published(api: Api, team: Team) -> str:
    code = api.verified(team)
    api.ok_move(code, team.publisher, "published", "public now")
    return code


def test_a_correction_approved_by_two_reviewers_shows_on_the_public_page_and_in_the_feed(
    client: TestClient,
    api: Api,
    team: Team,
    full_key: Any,  # noqa: F811
) -> None:
    code = published(api, team)
    since = cursor(client, full_key)
    r = propose(api, code, team.other_contributor)  # any team member may propose
    assert r.status_code == 201, r.text
    fix = r.json()
    assert fix["state"] == "open" and fix["must_confirm"] == ["location_confirmed"]
    changed = {c["field"]: (c["before"], c["after"]) for c in fix["changes"]}
    assert changed["city"] == ("Abadan", "Shiraz") and changed["province"] == ("Khuzestan", "Fars")
    cid = fix["id"]
    # the touched checklist item must be confirmed again before anyone approves
    r = decide(api, code, cid, team.r1, "/approvals")
    assert r.status_code == 409 and r.json()["error"] == "correction_incomplete"
    r = decide(api, code, cid, team.r1, "/checklist/location_confirmed", note="minaret matches")
    assert r.status_code == 200 and r.json()["missing_items"] == []
    r = decide(api, code, cid, team.r1, "/approvals", version=r.json()["version"])
    assert r.status_code == 201 and r.json()["applied_now"] is False
    assert client.get(f"/api/v1/published/{code}").json()["place"]["city"] == "Abadan"
    assert decide(api, code, cid, team.r1, "/approvals").json()["error"] == "already_approved"
    r = decide(api, code, cid, team.r2, "/approvals")
    assert r.status_code == 201 and r.json()["applied_now"] is True
    assert r.json()["state"] == "applied"

    clip = api.clip(code, team.r1)
    assert (clip["city"], clip["title_en"], clip["status"]) == (
        "Shiraz",
        MOVE["title_en"],
        "published",
    )
    public = client.get(f"/api/v1/published/{code}").json()
    assert public["place"]["city"] == "Shiraz"
    assert [(c["fields"], c["reason"]) for c in public["corrections"]] == [
        (["place", "title_en"], PUBLIC)
    ]
    text = json.dumps(public)
    for secret in (INTERNAL, team.other_contributor.email, team.r1.email, team.r2.email):
        assert secret not in text
    page = client.get(f"/clips/{code}").text
    assert 'data-testid="corrections"' in page and "Shiraz, not Abadan" in page
    assert "Corrected on" in page and "place, English title" in page
    for secret in (INTERNAL, team.other_contributor.email, team.r1.email):
        assert secret not in page
    feed = client.get(f"/api/v1/changes?since={since}", headers=full_key.headers).json()
    assert [(e["kind"], e["code"]) for e in feed["events"]] == [("updated", code)]
    assert feed["events"][0]["clip"]["corrections"][0]["reason"] == PUBLIC
    actions = [
        (e["action"], e["payload"].get("changes"))
        for e in api.events(code, team.admin)
        if e["action"].startswith("review.correction_")
    ]
    assert [a for a, _ in actions] == [
        "review.correction_proposed",
        "review.correction_confirmed",
        "review.correction_approved",
        "review.correction_approved",
        "review.correction_applied",
    ]
    assert actions[-1][1]["city"] == {"before": "Abadan", "after": "Shiraz"}


def test_the_author_cannot_approve_their_own_correction(api: Api, team: Team) -> None:
    code = api.verified(team)
    cid = propose(api, code, team.r1, {"title_en": "Better title"}).json()["id"]
    r = decide(api, code, cid, team.r1, "/approvals")
    assert r.status_code == 403 and "own correction" in r.json()["detail"]
    r = decide(api, code, cid, team.other_contributor, "/approvals")
    assert r.status_code == 403
    assert decide(api, code, cid, team.r2, "/approvals").json()["applied_now"] is False
    assert decide(api, code, cid, team.r3, "/approvals").json()["applied_now"] is True
    assert api.clip(code, team.r1)["title_en"] == "Better title"


def test_a_correction_to_a_retracted_clip_is_refused(api: Api, team: Team) -> None:
    code = published(api, team)
    api.ok_move(code, team.publisher, "retracted", "Staged footage")
    r = propose(api, code, team.r1)
    assert r.status_code == 409 and r.json()["error"] == "clip_retracted"
    draft = api.new_clip(team.uploader)
    r = propose(api, draft, team.r1)
    assert r.status_code == 409 and r.json()["error"] == "not_frozen"


def test_one_open_correction_rejection_leaves_the_clip_and_versions_are_checked(
    api: Api, team: Team
) -> None:
    code = api.verified(team)
    before = api.clip(code, team.r1)
    first = propose(api, code, team.uploader, {"date": "17 Nov 2019"}).json()
    assert first["must_confirm"] == ["date_confirmed"]
    r = propose(api, code, team.r2, {"title_en": "other"})
    assert r.status_code == 409 and r.json()["error"] == "correction_open"
    r = decide(api, code, first["id"], team.r1, "/rejection", note="no", version=99)
    assert r.status_code == 409 and r.json()["error"] == "stale_version"
    r = decide(api, code, first["id"], team.r1, "/rejection", note="")
    assert r.status_code == 422
    r = decide(api, code, first["id"], team.r1, "/rejection", note="the date was right")
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert api.clip(code, team.r1) == before
    assert decide(api, code, first["id"], team.r2, "/approvals").json()["error"] == (
        "correction_closed"
    )
    r = propose(api, code, team.r2, {"title_en": "other"})
    assert r.status_code == 201
    listed = api.c.get(url(code), headers=team.other_contributor.headers).json()["items"]
    assert [c["state"] for c in listed] == ["rejected", "open"]
    r = propose(api, code, team.r3, {"title_en": before["title_en"]})
    assert r.status_code == 409  # (still one open)


def _races(client: TestClient, team: Team) -> None:
    api = Api(client)
    for _ in range(3):
        code = api.verified(team)
        calls = [
            _as(
                who.id,
                corrections.propose,
                code,
                changes={"title_en": f"by {who.email}", "tags": ["x"]},
                reason="r",
                public_reason="p",
            )
            for who in (team.r1, team.r2, team.uploader)
        ]
        results = _race(calls)
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 2 and {e.code for e in errors} == {"correction_open"}, results
        with session_scope() as s:
            fix = s.scalars(select(Correction).join(Clip).where(Clip.code == code)).one()
            cid, author = fix.id, fix.author_id
        approvers = [m for m in (team.r1, team.r2, team.r3) if m.id != author][:2]
        assert decide(api, code, cid, approvers[0], "/approvals").status_code == 201
        # the last approval and a rejection at once: one wins, the other gets 409
        results = _race(
            [
                _as(approvers[1].id, corrections.approve, code, cid, note="", version=None),
                _as(approvers[0].id, corrections.reject, code, cid, note="no", version=None),
            ]
        )
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 1 and errors[0].status == 409, results
        with session_scope() as s:
            fix = s.get(Correction, cid)
            clip = s.scalars(select(Clip).where(Clip.code == code)).one()
            applied = s.scalar(
                select(func.count())
                .select_from(CustodyEvent)
                .where(
                    CustodyEvent.clip_code == code,
                    CustodyEvent.action == "review.correction_applied",
                )
            )
            assert fix is not None and audit.verify(s).ok
            new = (clip.title_en or "").startswith("by ") and clip.tags == ["x"]
            old = not (clip.title_en or "").startswith("by ") and clip.tags == []
            if fix.state == "applied":
                assert new and applied == 1  # all of it
            else:
                assert fix.state == "rejected" and old and applied == 0  # none of it


@pytest.mark.postgres
def test_two_corrections_racing_on_postgres_one_wins_never_half_applied(
    pg_app_url: str,
    make_pg_team,  # type: ignore[no-untyped-def]
) -> None:
    from app.main import create_app
    from tests.review.conftest import restore_default_checklist

    restore_default_checklist()
    with TestClient(create_app()) as client:
        _races(client, make_pg_team())


def test_corrections_racing_on_the_configured_database(client: TestClient, team: Team) -> None:
    _races(client, team)


def test_the_team_clip_page_proposes_confirms_and_approves_a_correction(
    client: TestClient, api: Api, team: Team
) -> None:
    from tests.review.test_team_web import HTML, login

    code = published(api, team)
    token = login(client, team.other_contributor)
    page = client.get(f"/team/clips/{code}", headers=HTML).text
    assert 'data-testid="frozen"' in page and 'data-testid="propose-correction"' in page
    form = {
        "csrf_token": token,
        "city": "Shiraz",
        "province": "Fars",
        "date": api.clip(code, team.r1)["date"]["edtf"],
        "reason": INTERNAL,
        "public_reason": PUBLIC,
    }
    r = client.post(f"/team/clips/{code}/corrections", headers=HTML, data=form)
    assert r.status_code == 200 and "?done=proposed" in str(r.url), r.text
    cid = api.c.get(url(code), headers=team.r1.headers).json()["items"][0]["id"]
    r = client.post(f"/team/clips/{code}/corrections", headers=HTML, data=form)
    assert r.status_code == 409 and "already has an open correction" in r.text

    def act(who: Any, **data: str) -> Any:
        tok = login(client, who)
        version = api.c.get(url(code, cid), headers=who.headers).json()["version"]
        data = {"csrf_token": tok, "version": str(version), **data}
        return client.post(f"/team/clips/{code}/corrections/{cid}", headers=HTML, data=data)

    assert act(team.r1, op="approve").status_code == 409  # location not confirmed again
    assert "?done=confirmed" in str(act(team.r1, op="confirm", key="location_confirmed").url)
    assert "?done=approved" in str(act(team.r1, op="approve").url)
    r = act(team.r2, op="approve")
    assert "?done=corrected" in str(r.url) and 'data-testid="team-corrections"' in r.text
    assert api.clip(code, team.r1)["city"] == "Shiraz"


def test_a_date_correction_updates_the_locked_checklist_date(api: Api, team: Team) -> None:
    code = api.verified(team)
    cid = propose(api, code, team.uploader, {"date": "17 Nov 2019"}).json()["id"]
    decide(api, code, cid, team.r1, "/checklist/date_confirmed", note="sunset on the 17th")
    decide(api, code, cid, team.r1, "/approvals")
    assert decide(api, code, cid, team.r2, "/approvals").json()["applied_now"] is True
    assert api.clip(code, team.r1)["date"]["edtf"] == "2019-11-17"
    items = api.c.get(f"/api/v1/clips/{code}/checklist", headers=team.r1.headers).json()
    entry = next(i for i in items["items"] if i["key"] == "date_confirmed")
    assert entry["data"] == {"date": "2019-11-17"} and entry["note"] == "sunset on the 17th"
