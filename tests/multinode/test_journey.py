"""A clip's whole journey across nodes with no shared disk (issue 17 §3): uploaded through
node A, processed by the worker, served by node B (team page, keyframes, and after
publishing the public page and the playback copy with Range), and a near-identical second
clip found as a near-duplicate by both nodes alike."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.storage.backend import original_key, playback_key
from tests.multinode.conftest import PASSWORD, Cluster, Member, Node
from tests.review.conftest import CHECKLIST_DONE

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

HTML = {"Accept": "text/html"}
PROCESSING_TIMEOUT = 90.0


def wait_for(what: str, probe: Callable[[], Any], timeout: float = PROCESSING_TIMEOUT) -> Any:
    end = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < end:
        last = probe()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def new_clip(c: httpx.Client, headers: dict[str, str], **fields: Any) -> str:
    body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16", **fields}
    r = c.post("/api/v1/clips", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def upload(c: httpx.Client, headers: dict[str, str], code: str, data: bytes) -> str:
    r = c.post(
        f"/api/v1/clips/{code}/media",
        params={"filename": "clip.mp4"},
        content=data,
        headers={**headers, "Content-Type": "video/mp4"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(data).hexdigest()
    return str(r.json()["sha256"])


def processed(node: Node, who: Member, code: str) -> dict[str, Any]:
    """Poll ``node`` until the clip's processing is done (fails at once if it failed)."""

    def probe() -> dict[str, Any] | None:
        r = httpx.get(f"{node.url}/api/v1/clips/{code}/media", headers=who.headers, timeout=10)
        assert r.status_code == 200, r.text
        state = r.json()["processing"]
        assert state["state"] != "failed", f"processing failed on the worker: {state}"
        return r.json() if state["state"] == "done" else None  # type: ignore[no-any-return]

    return wait_for(f"clip {code} to be processed (seen from node {node.name})", probe)  # type: ignore[no-any-return]


def in_bucket(cluster: Cluster, key: str) -> bytes | None:
    """The object's bytes, or None when the bucket has no such key."""
    s3 = cluster.s3()
    try:
        return s3.get_object(Bucket=cluster.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
    except s3.exceptions.NoSuchKey:
        return None


def step_done(node: Node, who: Member, code: str, step: str) -> None:
    def probe() -> bool:
        r = httpx.get(f"{node.url}/api/v1/clips/{code}/processing", headers=who.headers)
        assert r.status_code == 200, r.text
        states = {s["step"]: s["state"] for s in r.json()["steps"]}
        assert states.get(step) != "failed", f"the {step} step failed: {r.json()}"
        return states.get(step) == "done"

    wait_for(f"the {step} step of clip {code} (seen from node {node.name})", probe)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def move(node: Node, who: Member, code: str, to: str) -> None:
    r = httpx.post(
        f"{node.url}/api/v1/clips/{code}/transitions",
        json={"to": to, "note": "multi-node"},
        headers=who.headers,
    )
    assert r.status_code == 200, r.text


def review_to_verified(cluster: Cluster, code: str) -> None:
    """Every step on alternating nodes: each one must see what the other just wrote."""
    t, a, b = cluster.team, cluster.a, cluster.b
    move(a, t["uploader"], code, "submitted")
    move(b, t["r1"], code, "in_review")
    for i, (key, fields) in enumerate(CHECKLIST_DONE.items()):
        node = a if i % 2 == 0 else b
        items = httpx.get(f"{node.url}/api/v1/clips/{code}/checklist", headers=t["r1"].headers)
        version = next(x["version"] for x in items.json()["items"] if x["key"] == key)
        r = httpx.put(
            f"{node.url}/api/v1/clips/{code}/checklist/{key}",
            json={"done": True, "version": version, **fields},
            headers=t["r1"].headers,
        )
        assert r.status_code == 200, r.text
    assert (
        httpx.post(
            f"{a.url}/api/v1/clips/{code}/approvals", json={"note": ""}, headers=t["r1"].headers
        ).status_code
        == 201
    )
    r = httpx.post(
        f"{b.url}/api/v1/clips/{code}/approvals", json={"note": ""}, headers=t["r2"].headers
    )
    assert r.status_code == 201 and r.json()["status"] == "verified", r.text


def test_upload_on_a_processed_by_the_worker_served_by_b(
    cluster: Cluster, clips: tuple[bytes, bytes]
) -> None:
    first, second = clips
    a, b, team = cluster.a, cluster.b, cluster.team

    # 1. log in on A (a web session) and upload through A
    with a.client() as ca:
        r = ca.post(
            "/api/v1/auth/login", json={"email": team["uploader"].email, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        cookies = dict(ca.cookies)
        code = new_clip(ca, csrf, title_en="Two nodes, one archive")
        sha = upload(ca, csrf, code, first)
    assert in_bucket(cluster, original_key(sha)) == first, "the original is in the bucket"

    # 2. the worker extracts keyframes; B sees the result
    media = processed(b, team["uploader"], code)
    assert media["sha256"] == sha and media["metadata"]["duration"] == pytest.approx(6, abs=0.3)

    # 3. B serves the team clip page (with A's session) and the keyframes
    with b.client(cookies=cookies) as cb:
        page = cb.get(f"/team/clips/{code}", headers=HTML)
        assert page.status_code == 200, page.text[:500]
        assert "Two nodes, one archive" in page.text
        thumbs = re.findall(rf"/api/v1/clips/{code}/keyframes/\d+/thumbnail", page.text)
        assert thumbs, "the team page shows the keyframes"
        listed = cb.get(f"/api/v1/clips/{code}/keyframes").json()["items"]
        assert len(listed) >= 2, listed  # at least one per shot
        for k in listed:
            image = cb.get(k["url"])
            assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
            assert hashlib.sha256(image.content).hexdigest() == k["sha256"]
        thumb = cb.get(thumbs[0])
        assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
        keyframe_jpeg = cb.get(listed[0]["url"]).content

    # ... through review to published, then B's public page and the playback copy
    review_to_verified(cluster, code)
    assert httpx.get(f"{b.url}/clips/{code}", headers=HTML).status_code == 404  # not yet public
    move(a, team["publisher"], code, "published")
    wait_for(
        "the public page on B to offer the playback copy",
        lambda: (
            f"/clips/{code}/playback.mp4" in httpx.get(f"{b.url}/clips/{code}", headers=HTML).text
        ),
    )
    copy = in_bucket(cluster, playback_key(sha))
    assert copy is not None, "the playback copy is in the bucket"
    part = httpx.get(f"{b.url}/clips/{code}/playback.mp4", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206, part.text[:300]
    assert part.headers["content-range"] == f"bytes 0-99/{len(copy)}"
    assert part.content == copy[:100] and len(part.content) == 100
    whole = httpx.get(f"{a.url}/clips/{code}/playback.mp4")
    assert whole.status_code == 200 and whole.content == copy
    assert copy != first, "the playback copy is a derivative, not the original"

    # 4. a near-identical clip uploaded through B: both nodes list the first as its duplicate
    r = team["uploader"]
    with b.client() as cb:
        code2 = new_clip(cb, r.headers, title_en="The same footage, re-encoded")
        sha2 = upload(cb, r.headers, code2, second)
    processed(a, r, code2)
    step_done(b, r, code2, "match")  # the match step runs after the ingest steps
    reviewer = team["r1"]
    views = [
        httpx.get(f"{n.url}/api/v1/clips/{code2}/duplicates", headers=reviewer.headers)
        for n in (a, b)
    ]
    for v in views:
        assert v.status_code == 200, v.text
    found = [[(c["code"], c["state"]) for c in v.json()["candidates"]] for v in views]
    assert found[0] == found[1] == [(code, "open")], found
    assert views[0].json() == views[1].json()
    # and each node's own in-memory index finds both clips for one keyframe of the first
    searches = [
        wait_for(  # only while the node's index warms up (503): a search catches up itself
            f"node {n.name}'s image search",
            lambda n=n: _image_hits(n, reviewer, keyframe_jpeg),
            timeout=30,
        )
        for n in (a, b)
    ]
    assert searches[0] == searches[1] and {code, code2} <= searches[0], searches

    # no shared disk: the originals are stored in the bucket only, not on the nodes that took
    # them (a bounded cache, MEDIA_ROOT/cache/, may hold working copies)
    assert in_bucket(cluster, original_key(sha2)) == second
    for n in (a, b):
        stored = [f for f in files_under(n.media_root) if not f.startswith("cache/")]
        kept = [f for f in stored if sha in f or sha2 in f]
        assert kept == [], f"node {n.name} keeps a copy of an original: {kept}"


def _image_hits(node: Node, who: Member, jpeg: bytes) -> set[str]:
    r = httpx.post(
        f"{node.url}/api/v1/search/image",
        files={"image": ("still.jpg", jpeg, "image/jpeg")},
        headers=who.headers,
        timeout=30,
    )
    if r.status_code == 503:  # index_warming
        return set()
    assert r.status_code == 200, r.text
    return {c["code"] for c in r.json()["results"]}
