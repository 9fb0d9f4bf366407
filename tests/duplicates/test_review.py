"""What reviewers see and do with near-duplicates, through the API and the clip page:
decisions (reviewers only, custody-logged, one winner when two decide at once), a
dismissal that survives a new match, the uploader's notice and the confirmed links."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from sqlalchemy import select

from app.clips.models import Clip
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.duplicates import service
from app.duplicates.matching import PairMatch
from app.duplicates.models import DuplicateCandidate
from tests.review.test_team_web import HTML, csrf_of, login
from tests.support import served


def _clip(client: Any, who: Any) -> str:
    body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"}
    r = client.post("/api/v1/clips", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def _pair(x: str, y: str, *, x_pct: float = 98.0, y_pct: float = 96.0) -> None:
    """A candidate pair as the match step records it (x's share found in y, and back)."""
    with session_scope() as s:
        ids = dict(s.execute(select(Clip.code, Clip.id).where(Clip.code.in_([x, y]))).all())
        first = ids[x] < ids[y]
        a, b = sorted((ids[x], ids[y]))
        s.add(
            DuplicateCandidate(
                clip_a_id=a, clip_b_id=b, a_pct=x_pct if first else y_pct,
                b_pct=y_pct if first else x_pct, a_ranges=[[0.0, 9.0] if first else [2.0, 11.0]],
                b_ranges=[[2.0, 11.0] if first else [0.0, 9.0]],
                orientation="original", state="open",
            )
        )  # fmt: skip


def _decisions(code: str) -> list[dict[str, Any]]:
    with session_scope() as s:
        rows = s.scalars(
            select(CustodyEvent)
            .where(CustodyEvent.clip_code == code, CustodyEvent.action == "duplicate_decided")
            .order_by(CustodyEvent.id)
        ).all()
        return [{"actor": e.actor, **e.payload} for e in rows]


def _decide(client: Any, who: Any, code: str, other: str, decision: str, **kw: str) -> Any:
    return client.post(
        f"/api/v1/clips/{code}/duplicates/{other}/decision",
        json={"decision": decision, **kw},
        headers=who.headers,
    )


def test_reviewers_decide_and_the_custody_log_of_both_clips_says_who_and_what(
    client: Any, contributor: Any, reviewer: Any, make_user: Any
) -> None:
    old, new = _clip(client, contributor), _clip(client, contributor)
    _pair(new, old)
    r = client.get(f"/api/v1/clips/{new}", headers=contributor.headers)
    assert r.json()["possible_duplicates"] == [
        {"code": old, "state": "open", "query_pct": 98.0, "compared_pct": 96.0}
    ]
    listed = client.get(f"/api/v1/clips/{new}/duplicates", headers=contributor.headers).json()
    [cand] = listed["candidates"]
    assert (cand["code"], cand["this_ranges"], cand["other_ranges"]) == (
        old, [[0.0, 9.0]], [[2.0, 11.0]],
    )  # fmt: skip
    assert _decide(client, contributor, new, old, "same_footage").status_code == 403
    assert _decide(client, reviewer, new, old, "maybe").status_code == 422
    assert _decide(client, reviewer, new, "IRN998", "same_footage").status_code == 404
    r = _decide(client, reviewer, new, old, "same_footage")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "same_footage" and r.json()["decided_by"] == reviewer.email
    for mine, theirs in ((new, old), (old, new)):
        [event] = _decisions(mine)
        assert event == {
            "actor": f"user:{reviewer.email}", "other": theirs,
            "decision": "same_footage", "previous": "open",
        }  # fmt: skip
    # the same decision again is harmless (a double submit): nothing new in the log
    assert (
        _decide(client, reviewer, new, old, "same_footage", seen="same_footage").status_code == 200
    )
    assert len(_decisions(new)) == 1
    # a stale decision (the pair is no longer open) is refused, and names what it is now
    r = _decide(client, make_user("admin"), old, new, "not_related")
    assert r.status_code == 409 and r.json()["error"] == "decided_meanwhile", r.text
    assert "same_footage" in r.json()["detail"]
    # changing one's mind says what it changes from
    admin = make_user("admin")
    r = _decide(client, admin, old, new, "same_event", seen="same_footage")
    assert r.status_code == 200 and _decisions(old)[-1]["previous"] == "same_footage"
    links = client.get(f"/api/v1/clips/{old}/duplicates", headers=contributor.headers).json()
    assert {c["code"]: c["relation"] for c in links["links"]["copies"]} == {
        old: None, new: "same_event",
    }  # fmt: skip


def test_a_dismissed_candidate_stays_dismissed_when_the_match_runs_again(
    client: Any, contributor: Any, reviewer: Any
) -> None:
    a, b = _clip(client, contributor), _clip(client, contributor)
    _pair(a, b)
    assert _decide(client, reviewer, a, b, "not_related").status_code == 200
    rematch = PairMatch(
        query_pct=100.0, compared_pct=100.0, query_ranges=[(0.0, 20.0)],
        compared_ranges=[(0.0, 20.0)], orientation="original",
    )  # fmt: skip
    with session_scope() as s:
        ids = dict(s.execute(select(Clip.code, Clip.id).where(Clip.code.in_([a, b]))).all())
        assert service.record(s, ids[a], [(ids[b], rematch)]) == 0
    with session_scope() as s:
        [row] = s.scalars(select(DuplicateCandidate)).all()
        assert row.state == "not_related" and row.a_pct != 100.0
    r = client.get(f"/api/v1/clips/{a}", headers=contributor.headers)
    assert r.json()["possible_duplicates"] == []  # dismissed: no warning any more
    page = client.get(f"/api/v1/clips/{a}/duplicates", headers=contributor.headers).json()
    assert [c["state"] for c in page["candidates"]] == ["not_related"]


def test_two_reviewers_deciding_the_same_pair_at_once_one_wins(
    app: Any, contributor: Any, make_user: Any, client: Any
) -> None:
    first, second = _clip(client, contributor), _clip(client, contributor)
    _pair(first, second)
    reviewers = [make_user("reviewer"), make_user("reviewer")]
    barrier = threading.Barrier(2)
    results: list[int] = []

    with served(app) as base:

        def go(who: Any, decision: str) -> None:
            with httpx.Client(base_url=base, timeout=30) as h:
                barrier.wait()
                results.append(_decide(h, who, first, second, decision).status_code)

        threads = [
            threading.Thread(target=go, args=(reviewers[0], "same_footage")),
            threading.Thread(target=go, args=(reviewers[1], "not_related")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(results) == [200, 409], results
    [event] = _decisions(first)  # one decision, by the winner
    with session_scope() as s:
        [row] = s.scalars(select(DuplicateCandidate)).all()
        assert row.state == event["decision"]


def test_the_clip_page_warns_the_uploader_and_reviewers_decide_with_the_form(
    client: Any, contributor: Any, reviewer: Any
) -> None:
    stored, upload = _clip(client, contributor), _clip(client, contributor)
    _pair(upload, stored, x_pct=97.0, y_pct=96.0)
    login(client, contributor)
    page = client.get(f"/team/clips/{upload}", headers=HTML).text
    assert f"This looks like {stored} (compared-match 96 %)." in page
    assert 'data-testid="candidate"' in page and "decide-" not in page  # contributors see no form
    client.cookies.clear()
    token = login(client, reviewer)
    page = client.get(f"/team/clips/{upload}", headers=HTML).text
    assert f'data-testid="decide-{stored}-same_event"' in page
    form = {"csrf_token": csrf_of(page), "decision": "same_event", "seen": "open"}
    url = f"/team/clips/{upload}/duplicates/{stored}/decision"
    forged = client.post(url, data={**form, "csrf_token": "forged"}, headers=HTML)
    assert forged.status_code == 403 and _decisions(upload) == []
    r = client.post(url, data=form, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("#duplicates")
    page = client.get(r.headers["location"], headers=HTML).text
    assert "Decision saved." in page and "This looks like" not in page
    assert 'data-testid="links"' in page and "same event, different footage" in page
    # the same form again, from the stale page: the pair is no longer open
    again = client.post(url, data={**form, "decision": "not_related"}, headers=HTML)
    assert again.status_code == 409 and "another reviewer decided" in again.text
    assert token
    # the other clip shows the link too
    other = client.get(f"/team/clips/{stored}", headers=HTML).text
    assert 'data-testid="links"' in other and upload in other
