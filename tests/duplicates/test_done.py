"""Issue 15's "done means", end to end on generated media: a re-encoded copy of a stored
clip is uploaded, the jobs run, the team page shows the match with a keyframe of each
side; a reviewer confirms it; once both clips are published the partner API and the
public page show the link (and before that, neither does)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.clips.models import Clip
from app.db import session_scope
from app.duplicates import index as frame_index
from app.jobs import runner
from tests.ingest.conftest import upload
from tests.review.test_team_web import HTML, login

pytestmark = pytest.mark.slow


def _run_all(limit: int = 30) -> None:
    ran = 0
    while ran < limit and runner.execute("test-worker"):
        ran += 1


def _clip(client: Any, who: Any) -> str:
    body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"}
    r = client.post("/api/v1/clips", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def _publish(code: str) -> None:
    with session_scope() as s:
        clip = s.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        clip.status = "published"


def test_a_reencoded_upload_is_flagged_confirmed_and_shown_to_partners(
    client: Any, contributor: Any, reviewer: Any, source_clip: Path, variants: dict[str, Path]
) -> None:
    frame_index.reset()
    stored = _clip(client, contributor)
    assert upload(client, contributor, stored, source_clip.read_bytes()).status_code == 201
    _run_all()
    copy = _clip(client, contributor)
    r = upload(client, contributor, copy, variants["reencode_360p_crf32"].read_bytes())
    assert r.status_code == 201  # a warning, never a refusal
    assert (
        client.get(f"/api/v1/clips/{copy}", headers=contributor.headers).json()[
            "possible_duplicates"
        ]
        is None
    )  # not known until the match step has run
    _run_all()

    found = client.get(f"/api/v1/clips/{copy}", headers=contributor.headers).json()
    [ref] = found["possible_duplicates"]
    assert ref["code"] == stored and ref["state"] == "open" and ref["compared_pct"] >= 80
    login(client, contributor)
    page = client.get(f"/team/clips/{copy}", headers=HTML).text
    notice = re.search(r"This looks like (IRN\d+) \(compared-match (\d+) %\)", page)
    assert notice is not None and notice.group(1) == stored
    assert int(notice.group(2)) == round(ref["compared_pct"])
    stills = re.findall(r'src="(/api/v1/clips/(IRN\d+)/keyframes/\d+/thumbnail)"', page)
    sides = {code for _, code in stills}
    assert {copy, stored} <= sides  # side by side: one keyframe of each clip
    for url, _ in stills:
        assert client.get(url, headers=contributor.headers).status_code == 200
    client.cookies.clear()

    r = client.post(
        f"/api/v1/clips/{copy}/duplicates/{stored}/decision",
        json={"decision": "same_footage"},
        headers=reviewer.headers,
    )
    assert r.status_code == 200, r.text
    links = client.get(f"/api/v1/clips/{stored}/duplicates", headers=contributor.headers).json()
    assert links["links"]["earliest_by_upload"] == stored  # uploaded first

    _publish(copy)  # one published: the link stays private
    body = client.get(f"/api/v1/published/{copy}").json()
    assert body["related"] == []
    _publish(stored)
    for mine, theirs in ((copy, stored), (stored, copy)):
        body = client.get(f"/api/v1/published/{mine}").json()
        assert [(x["code"], x["relation"]) for x in body["related"]] == [(theirs, "same_footage")]
        client.cookies.set("cw_ok", "1")
        assert f"/clips/{theirs}" in client.get(f"/clips/{mine}", headers=HTML).text
