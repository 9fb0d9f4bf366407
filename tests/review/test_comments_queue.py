"""Comments (threaded, time-coded, team only), claiming, and the review queue."""

from __future__ import annotations

from app.main import create_app
from tests.review.conftest import Api, Team


def test_comments_are_threaded_and_time_coded(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    url = f"/api/v1/clips/{code}/comments"
    first = api.c.post(
        url, json={"body": "Shots at 1:05?", "at_seconds": 65}, headers=team.r1.headers
    ).json()
    api.c.post(url, json={"body": "A second topic"}, headers=team.r2.headers)
    reply = api.c.post(
        url, json={"body": "Yes, two", "parent_id": first["id"]}, headers=team.uploader.headers
    )
    assert reply.status_code == 201
    got = api.c.get(url, headers=team.r2.headers).json()
    assert [(c["body"], c["depth"]) for c in got] == [
        ("Shots at 1:05?", 0),
        ("Yes, two", 1),
        ("A second topic", 0),
    ]
    assert got[0]["at_seconds"] == 65 and got[0]["author"] == team.r1.email
    assert api.c.post(url, json={"body": "  "}, headers=team.r1.headers).status_code == 422
    assert (
        api.c.post(url, json={"body": "x", "at_seconds": -1}, headers=team.r1.headers).status_code
        == 422
    )
    other = api.new_clip(team.uploader)
    r = api.c.post(
        f"/api/v1/clips/{other}/comments",
        json={"body": "x", "parent_id": first["id"]},
        headers=team.r1.headers,
    )
    assert r.status_code == 404
    assert [e["action"] for e in api.events(code, team.r1)].count("review.comment") == 3


def test_only_the_author_edits_a_comment_and_stale_edits_are_refused(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    c = api.c.post(
        f"/api/v1/clips/{code}/comments", json={"body": "draft"}, headers=team.r1.headers
    ).json()
    url = f"/api/v1/clips/{code}/comments/{c['id']}"
    assert (
        api.c.patch(url, json={"body": "mine", "version": 1}, headers=team.r2.headers).status_code
        == 403
    )
    r = api.c.patch(url, json={"body": "final", "version": 1}, headers=team.r1.headers)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["edited_at"]
    r = api.c.patch(url, json={"body": "older", "version": 1}, headers=team.r1.headers)
    assert r.status_code == 409


def test_team_only_schemas_are_not_used_by_public_or_partner_routes(db_url: str) -> None:
    schema = create_app().openapi()
    for path, ops in schema["paths"].items():
        if path.startswith("/api/v1/clips") or path.startswith("/api/v1/review"):
            continue
        text = str(ops)
        for name in (
            "CommentRead",
            "ChecklistEntryRead",
            "AssignmentRead",
            "QueueRead",
            "CustodyExport",
        ):
            assert name not in text, (path, name)


def test_claim_and_unassign(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    url = f"/api/v1/clips/{code}/assignment"
    r = api.c.post(url, json={}, headers=team.r1.headers)
    assert r.status_code == 200 and r.json()["assignee"] == team.r1.email
    r = api.c.post(url, json={}, headers=team.r2.headers)
    assert r.status_code == 409 and r.json()["error"] == "already_assigned"
    assert api.c.delete(url, headers=team.r2.headers).status_code == 403
    assert api.c.post(url, json={}, headers=team.uploader.headers).status_code == 403
    r = api.c.post(url, json={"assignee": team.uploader.email}, headers=team.admin.headers)
    assert r.status_code == 403  # contributors are not assigned reviews
    r = api.c.post(url, json={"assignee": team.r2.email}, headers=team.admin.headers)
    assert r.json()["assignee"] == team.r2.email
    r = api.c.delete(url, headers=team.r2.headers)
    assert r.status_code == 200 and r.json()["assignee"] is None
    actions = [e["action"] for e in api.events(code, team.r1)]
    assert actions.count("review.assigned") == 2 and "review.unassigned" in actions


def test_the_queue_filters_and_counts(api: Api, team: Team) -> None:
    a = api.in_review(team.uploader, team.r1)
    b = api.new_clip(team.uploader, city="Tehran", province="Tehran", date="16 Nov 2019")
    api.ok_move(b, team.uploader, "submitted")
    c = api.new_clip(team.uploader, date="Mar 2020")
    api.c.post(f"/api/v1/clips/{a}/assignment", json={}, headers=team.r1.headers)

    def q(**params: object) -> dict:  # type: ignore[type-arg]
        r = api.c.get("/api/v1/review/queue", params=params, headers=team.r1.headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    everything = q()
    assert {i["code"] for i in everything["items"]} == {a, b, c}
    assert everything["counts"]["in_review"] == 1 and everything["counts"]["draft"] == 1
    assert [i["code"] for i in q(state="submitted")["items"]] == [b]
    mine = q(assignee="me")
    assert [i["code"] for i in mine["items"]] == [a] and mine["items"][0]["assignee"]
    assert {i["code"] for i in q(assignee="none")["items"]} == {b, c}
    assert [i["code"] for i in q(city="Tehran")["items"]] == [b]
    assert {i["code"] for i in q(**{"from": "2019-11-01", "to": "2019-11-30"})["items"]} == {a, b}
    assert q(city="Tehran")["counts"]["in_review"] == 0
    r = api.c.get("/api/v1/review/queue", params={"state": "lost"}, headers=team.r1.headers)
    assert r.status_code == 422


def test_ids_beyond_the_database_integer_range_are_a_422(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    r = api.c.patch(
        f"/api/v1/clips/{code}/comments/{2**31}",
        json={"body": "x", "version": 1},
        headers=team.r1.headers,
    )
    assert r.status_code == 422
    r = api.c.post(
        f"/api/v1/clips/{code}/comments",
        json={"body": "x", "parent_id": 2**31},
        headers=team.r1.headers,
    )
    assert r.status_code == 422
