"""The verification checklist: item data, who/when, locking, the template."""

from __future__ import annotations

from tests.review.conftest import Api, Team


def _item(api: Api, code: str, who, key: str) -> dict:  # type: ignore[no-untyped-def]
    items = api.c.get(f"/api/v1/clips/{code}/checklist", headers=who.headers).json()["items"]
    return next(i for i in items if i["key"] == key)


def test_the_default_checklist_has_the_six_items(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    body = api.c.get(f"/api/v1/clips/{code}/checklist", headers=team.r1.headers).json()
    assert [i["key"] for i in body["items"]] == [
        "source_identified",
        "earliest_copy",
        "location_confirmed",
        "date_confirmed",
        "content_described",
        "sensitive_flagged",
    ]
    assert not body["complete"] and all(i["version"] == 0 for i in body["items"])


def test_an_item_records_who_when_note_and_evidence(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    r = api.check(
        code,
        team.r1,
        "earliest_copy",
        note="found on Telegram",
        evidence=["https://t.me/c/1", "https://t.me/c/1", " "],
    )
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["done"] and item["updated_by"] == team.r1.email and item["updated_at"]
    assert item["evidence"] == ["https://t.me/c/1"] and item["version"] == 1
    r = api.check(code, team.r1, "earliest_copy", evidence=["javascript:alert(1)"])
    assert r.status_code == 422 and r.json()["field"] == "evidence"


def test_location_needs_coordinates_and_a_precision(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    r = api.check(code, team.r1, "location_confirmed")
    assert r.status_code == 422 and r.json()["field"] == "lat"
    r = api.check(code, team.r1, "location_confirmed", lat=91, lon=10, precision="exact")
    assert r.status_code == 422
    r = api.check(code, team.r1, "location_confirmed", lat=30.1, lon=48.2, precision="near")
    assert r.status_code == 422 and r.json()["field"] == "precision"
    r = api.check(code, team.r1, "location_confirmed", lat=30.1, lon=48.2, precision="exact")
    assert r.status_code == 200
    assert r.json()["data"] == {"lat": 30.1, "lon": 48.2, "precision": "exact"}


def test_confirming_the_date_sets_the_clips_edtf_date(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    assert api.clip(code, team.r1)["date"]["edtf"] == "2019-11"
    r = api.check(code, team.r1, "date_confirmed", date="15 or 16 Nov 2019")
    assert r.status_code == 200, r.text
    clip = api.clip(code, team.r1)
    assert clip["date"]["edtf"] == "[2019-11-15,2019-11-16]"
    assert r.json()["data"] == {"date": "[2019-11-15,2019-11-16]"}
    actions = [e["action"] for e in api.events(code, team.r1)]
    assert "clip.updated" in actions  # the date change is in the log with before/after
    r = api.check(code, team.r1, "date_confirmed", date="31 Feb 2019")
    assert r.status_code == 422


def test_a_stale_item_version_is_a_409(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    assert api.check(code, team.r1, "source_identified", version=0).status_code == 200
    r = api.check(code, team.r2, "source_identified", version=0, note="me too")
    assert r.status_code == 409 and r.json()["current_version"] == 1
    assert _item(api, code, team.r1, "source_identified")["updated_by"] == team.r1.email


def test_contributors_cannot_fill_the_checklist(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    assert api.check(code, team.uploader, "source_identified").status_code == 403


def test_the_checklist_is_locked_once_verified(api: Api, team: Team) -> None:
    code = api.verified(team)
    r = api.check(code, team.r1, "source_identified", done=False)
    assert r.status_code == 409 and r.json()["error"] == "checklist_locked"


def test_admins_add_items_and_new_items_are_required(api: Api, team: Team) -> None:
    body = {
        "key": "weather_matches",
        "label_en": "Weather matches records",
        "label_fa": "آب‌وهوا با سوابق می‌خواند",
    }
    assert (
        api.c.post("/api/v1/review/checklist-items", json=body, headers=team.r1.headers).status_code
        == 403
    )
    r = api.c.post("/api/v1/review/checklist-items", json=body, headers=team.admin.headers)
    assert r.status_code == 201 and r.json()["kind"] == "plain"
    assert (
        api.c.post(
            "/api/v1/review/checklist-items", json=body, headers=team.admin.headers
        ).status_code
        == 409
    )
    bad = {**body, "key": "Bad Key"}
    assert (
        api.c.post(
            "/api/v1/review/checklist-items", json=bad, headers=team.admin.headers
        ).status_code
        == 422
    )
    code = api.in_review(team.uploader, team.r1)
    api.complete_checklist(code, team.r1)
    api.approve(code, team.r1)
    r = api.approve(code, team.r2)
    assert r.json()["status"] == "in_review"
    assert api.check(code, team.r1, "weather_matches").status_code == 200
    assert api.move(code, team.r1, "verified", "now complete").status_code == 200


def test_checklist_changes_are_logged_with_before_and_after(api: Api, team: Team) -> None:
    code = api.in_review(team.uploader, team.r1)
    api.check(code, team.r1, "content_described", note="crowd")
    api.check(code, team.r1, "content_described", note="crowd, shots", done=False)
    logged = [e["payload"] for e in api.events(code, team.r1) if e["action"] == "review.checklist"]
    assert logged[0]["before"] is None and logged[0]["after"]["note"] == "crowd"
    assert logged[1]["before"]["done"] is True and logged[1]["after"]["done"] is False


def test_admins_retire_an_item_and_it_stops_being_required(api: Api, team: Team) -> None:
    body = {"key": "weather_matches", "label_en": "Weather matches", "label_fa": "آب‌وهوا"}
    item = api.c.post("/api/v1/review/checklist-items", json=body, headers=team.admin.headers)
    assert item.status_code == 201
    version = item.json()["version"]
    url = "/api/v1/review/checklist-items/weather_matches"

    assert (
        api.c.delete(url, params={"version": version}, headers=team.r1.headers).status_code == 403
    )
    stale = api.c.delete(url, params={"version": version + 1}, headers=team.admin.headers)
    assert stale.status_code == 409 and stale.json()["current_version"] == version
    missing = api.c.delete(
        "/api/v1/review/checklist-items/no_such_item",
        params={"version": 1},
        headers=team.admin.headers,
    )
    assert missing.status_code == 404
    assert (
        api.c.delete(url, params={"version": version}, headers=team.admin.headers).status_code
        == 204
    )

    items = api.c.get("/api/v1/review/checklist-items", headers=team.r1.headers).json()
    retired = next(i for i in items if i["key"] == "weather_matches")
    assert retired["active"] is False and retired["version"] > version
    # the six standard items are enough again
    code = api.in_review(team.uploader, team.r1)
    api.complete_checklist(code, team.r1)
    api.approve(code, team.r1)
    assert api.approve(code, team.r2).json()["status"] == "verified"
    actions = [e["action"] for e in api.events(code, team.admin)]
    assert "review.transition" in actions
