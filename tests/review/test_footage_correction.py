"""Issue 13 §1: footage for a published clip without footage goes through a correction.

The original is stored and processed at once (reviewers see it), but the public page, the
partner API and the feed show no footage until two distinct reviewers (neither the
correction's author nor the footage's uploader) approve the correction; a rejection
leaves the clip without footage, the original kept in the store and the custody log."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.storage import get_store
from tests.review.conftest import Api, Team
from tests.review.test_freeze import published_demo_clip
from tests.review.test_publishing import (  # noqa: F401
    cursor,
    events_since,
    full_key,
    original,
    playback_file,
    run_jobs,
)
from tests.review.test_team_web import HTML, login

__all__ = ["full_key", "original"]

WHY = "The source sent us the original file by hand"
PUBLIC = "The archive now holds the footage of this record."


def propose_footage(api: Api, code: str, who: Any, data: bytes, **params: str) -> Any:
    return api.c.post(
        f"/api/v1/clips/{code}/corrections/footage",
        params={"reason": WHY, "public_reason": PUBLIC, "filename": "phone.mov", **params},
        content=data,
        headers={**who.headers, "Content-Type": "video/quicktime"},
    )


def decide(api: Api, code: str, cid: int, who: Any, tail: str, **body: Any) -> Any:
    return api.c.post(
        f"/api/v1/clips/{code}/corrections/{cid}{tail}", json=body, headers=who.headers
    )


def public_media(client: TestClient, key: Any, code: str) -> Any:
    r = client.get(f"/api/v1/published/{code}", headers=key.headers)
    assert r.status_code == 200, r.text
    return r.json()["media"]


def confirm_all(api: Api, code: str, cid: int, who: Any) -> None:
    r = api.c.get(f"/api/v1/clips/{code}/corrections/{cid}", headers=who.headers)
    for key in r.json()["missing_items"]:
        assert decide(api, code, cid, who, f"/checklist/{key}", note="seen").status_code == 200


def test_footage_for_a_published_clip_is_public_only_after_two_approvals(
    client: TestClient,
    api: Api,
    team: Team,
    original: bytes,  # noqa: F811
    full_key: Any,  # noqa: F811
) -> None:
    code = published_demo_clip()
    since = cursor(client, full_key)
    r = propose_footage(api, code, team.other_contributor, original)
    assert r.status_code == 201, r.text
    fix = r.json()
    assert fix["state"] == "open" and fix["changes"][0]["field"] == "footage"
    assert fix["must_confirm"] == ["content_described", "sensitive_flagged"]
    sha = fix["changes"][0]["after"].removeprefix("SHA-256:")
    assert get_store().original_path(sha).is_file()  # stored write-once at once
    steps = run_jobs()
    assert "playback" not in steps and "keyframes" in steps  # processed, no public copy
    # the team sees it, the public does not
    login(client, team.r1)
    team_page = client.get(f"/team/clips/{code}", headers=HTML).text
    assert 'data-testid="footage-held"' in team_page
    assert public_media(client, full_key, code) is None
    page = client.get(f"/clips/{code}", headers=HTML).text
    assert "playback.mp4" not in page and sha not in page
    assert client.get(f"/clips/{code}/poster.jpg").status_code == 404
    assert events_since(client, full_key, since) == []

    cid = fix["id"]
    r = decide(api, code, cid, team.r1, "/approvals")
    assert r.status_code == 409 and r.json()["error"] == "correction_incomplete"
    confirm_all(api, code, cid, team.r1)
    assert decide(api, code, cid, team.r1, "/approvals").json()["applied_now"] is False
    assert public_media(client, full_key, code) is None
    r = decide(api, code, cid, team.r2, "/approvals")
    assert r.status_code == 201 and r.json()["applied_now"] is True, r.text

    media = public_media(client, full_key, code)
    assert media is not None and media["sha256"] == sha
    assert run_jobs() == ["playback"]
    assert playback_file(sha).is_file()
    page = client.get(f"/clips/{code}", headers=HTML).text
    assert f'src="/clips/{code}/playback.mp4"' in page
    assert 'data-testid="corrections"' in page and "footage" in page and PUBLIC in page
    assert WHY not in page and team.other_contributor.email not in page
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 200
    kinds = events_since(client, full_key, since)
    assert kinds and set(kinds) == {("updated", code)}
    actions = [e["action"] for e in api.events(code, team.admin)]
    tail = [a for a in actions if a.startswith(("review.correction_", "media."))]
    assert tail[:2] == ["media.ingested", "review.correction_proposed"]
    assert tail[-2:] == ["review.correction_applied", "media.attached"]


def test_the_uploader_of_the_footage_cannot_approve_it(
    client: TestClient,
    api: Api,
    team: Team,
    original: bytes,  # noqa: F811
    full_key: Any,  # noqa: F811
) -> None:
    code = published_demo_clip()
    fix = propose_footage(api, code, team.r3, original).json()
    cid = fix["id"]
    confirm_all(api, code, cid, team.r1)
    r = decide(api, code, cid, team.r3, "/approvals")
    assert r.status_code == 403, r.text
    assert "own correction" in r.json()["detail"] or "uploaded the footage" in r.json()["detail"]
    assert decide(api, code, cid, team.r1, "/approvals").json()["applied_now"] is False
    assert public_media(client, full_key, code) is None


def test_uploader_who_is_not_the_author_cannot_approve(
    client: TestClient,
    api: Api,
    team: Team,
    original: bytes,  # noqa: F811
    full_key: Any,  # noqa: F811
) -> None:
    """The footage rule on its own: an author/uploader split made in the database."""
    from sqlalchemy import update

    from app.db import session_scope
    from app.ingest.models import Media
    from app.review.models import Correction

    code = published_demo_clip()
    cid = propose_footage(api, code, team.r3, original).json()["id"]
    with session_scope() as s:  # r3 uploaded it; say uploader_contributor proposed it
        s.execute(update(Correction).where(Correction.id == cid).values(author_id=team.uploader.id))
    confirm_all(api, code, cid, team.r1)
    r = decide(api, code, cid, team.r3, "/approvals")
    assert r.status_code == 403 and "uploaded the footage" in r.json()["detail"], r.text
    with session_scope() as s:
        assert s.query(Media).filter(Media.correction_id == cid).count() == 1


def test_a_rejection_keeps_the_clip_without_footage(
    client: TestClient,
    api: Api,
    team: Team,
    original: bytes,  # noqa: F811
    full_key: Any,  # noqa: F811
) -> None:
    code = published_demo_clip()
    before = client.get(f"/clips/{code}", headers=HTML).text
    since = cursor(client, full_key)
    fix = propose_footage(api, code, team.uploader, original).json()
    sha = fix["changes"][0]["after"].removeprefix("SHA-256:")
    run_jobs()
    r = decide(api, code, fix["id"], team.r1, "/rejection", note="Not the same event")
    assert r.status_code == 200 and r.json()["state"] == "rejected", r.text
    assert run_jobs() == []
    assert public_media(client, full_key, code) is None
    assert client.get(f"/clips/{code}", headers=HTML).text == before
    assert events_since(client, full_key, since) == []
    assert get_store().original_path(sha).is_file()  # the original stays in the store
    rejected = [e for e in api.events(code, team.admin) if e["action"].endswith("_rejected")]
    assert rejected[-1]["payload"]["footage_kept_unpublished"] == sha
    # an original is never replaced: the clip cannot take other footage now
    again = propose_footage(api, code, team.uploader, original + b"\0")
    assert again.status_code == 409 and again.json()["error"] == "clip_has_media"


def test_footage_needs_a_frozen_clip_without_footage_and_reasons(
    api: Api,
    team: Team,
    original: bytes,  # noqa: F811
) -> None:
    draft = api.new_clip(team.uploader)
    r = propose_footage(api, draft, team.uploader, original)
    assert r.status_code == 409 and r.json()["error"] == "not_frozen"
    code = published_demo_clip()
    r = propose_footage(api, code, team.uploader, original, public_reason="")
    assert r.status_code == 422, r.text
    assert run_jobs() == []
    r = api.c.post(
        f"/api/v1/clips/{code}/media",
        content=original,
        headers={**team.uploader.headers, "Content-Type": "video/quicktime"},
    )
    assert r.status_code == 409 and r.json()["error"] == "record_frozen"


def test_the_team_clip_page_proposes_footage(
    client: TestClient,
    api: Api,
    team: Team,
    original: bytes,  # noqa: F811
) -> None:
    code = published_demo_clip()
    token = login(client, team.other_contributor)
    page = client.get(f"/team/clips/{code}", headers=HTML).text
    assert 'data-testid="footage-form"' in page
    r = client.post(
        f"/team/clips/{code}/corrections/footage?csrf_token={token}",
        data={"reason": WHY, "public_reason": PUBLIC},
        files={"file": ("phone.mov", original, "video/quicktime")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"], headers=HTML).text
    assert 'data-testid="footage-held"' in page and 'data-testid="footage-form"' not in page
    fixes = api.c.get(f"/api/v1/clips/{code}/corrections", headers=team.r1.headers).json()
    assert [c["changes"][0]["field"] for c in fixes["items"]] == ["footage"]
