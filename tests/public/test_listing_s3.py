"""On S3, a public listing of N clips costs a constant number of store requests, not a HEAD
per poster and playback copy: the database says what exists (the clip's derivative
generation, its playback job). Counted with a boto3 event hook on the app's own client,
against a real S3 server (moto_server). A missing object is still a 404 when fetched, and
then the listings stop linking it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.clips.models import Clip
from app.db import session_scope
from app.ingest.models import Media
from app.jobs.models import ProcessingJob
from app.public.jobs import PLAYBACK
from app.storage import missing
from app.storage.backend import derivative_key, playback_key
from app.storage.derivatives import POSTER
from app.storage.s3 import S3Backend
from tests.public.conftest import Key
from tests.s3 import moto, on_s3  # noqa: F401  (fixtures)

N = 20
GEN = "g0001"


class Requests:
    """Every request the app's S3 client sends (operation names)."""

    def __init__(self, backend: S3Backend) -> None:
        self.seen: list[str] = []
        backend.client.meta.events.register("before-send.s3", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        self.seen.append(f"{request.method} {request.url.split('?')[0].rsplit('/', 1)[-1]}")


def _clip_with_media(add_clip: Callable[..., str], backend: S3Backend, n: int, job: str) -> str:
    code = add_clip(title_en=f"Clip {n}")
    sha = hashlib.sha256(f"original {n}".encode()).hexdigest()
    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        media = Media(
            clip_id=clip.id, sha256=sha, size=1000, filename="a.mp4", content_type="video/mp4",
            container="mov,mp4,m4a,3gp,3g2,mj2", probe={"duration": 2.0}, via="raw",
            derivative_generation=GEN,
        )  # fmt: skip
        session.add(media)
        session.flush()
        session.add(
            ProcessingJob(
                clip_id=clip.id, media_id=media.id, step=PLAYBACK, original_sha256=sha,
                state=job, progress=100 if job == "done" else 0, attempts=1,
            )
        )  # fmt: skip
    backend.put_derivative(derivative_key(sha, GEN, POSTER), b"\xff\xd8 poster %d" % n)
    if job == "done":
        backend.put_derivative(playback_key(sha), b"mp4 %d" % n)
    return code


@pytest.fixture()
def listed(
    add_clip: Callable[..., str], request: pytest.FixtureRequest
) -> tuple[S3Backend, list[str], Requests]:
    backend: S3Backend = request.getfixturevalue("on_s3")
    missing.clear()
    codes = [_clip_with_media(add_clip, backend, n, "done") for n in range(N)]
    codes.append(_clip_with_media(add_clip, backend, N, "queued"))  # its copy is not made yet
    return backend, codes, Requests(backend)


def _media(client: TestClient, key: Key, limit: int) -> dict[str, dict[str, Any]]:
    r = client.get(f"/api/v1/published?limit={limit}", headers=key.headers)
    assert r.status_code == 200, r.text
    return {c["code"]: c["media"] for c in r.json()["items"]}


def test_listing_clips_costs_no_request_per_clip(
    client: TestClient, make_key: Callable[..., Key], listed: tuple[S3Backend, list[str], Any]
) -> None:
    _, codes, requests = listed
    media = _media(client, make_key(), 50)
    assert set(media) == set(codes)
    for code in codes[:N]:
        assert media[code]["playback_url"].endswith(f"/clips/{code}/playback.mp4")
        assert media[code]["poster_url"].endswith(f"/clips/{code}/poster.jpg")
    assert media[codes[N]]["playback_url"] is None  # the playback job has not run
    assert media[codes[N]]["poster_url"] is not None
    assert len(requests.seen) <= 2, requests.seen  # was 2 HEADs per clip (42)
    page = client.get("/clips")  # the public site's list of cards (posters)
    assert page.status_code == 200 and f"/clips/{codes[0]}/poster.jpg" in page.text
    assert len(requests.seen) <= 4, requests.seen
    # the media routes themselves still ask the store
    got = client.get(f"/clips/{codes[1]}/playback.mp4")
    assert got.status_code == 200 and got.content == b"mp4 1"
    assert any(r.startswith("GET") for r in requests.seen)


def test_an_object_lost_behind_our_back_is_a_404_then_no_longer_linked(
    client: TestClient, make_key: Callable[..., Key], listed: tuple[S3Backend, list[str], Any]
) -> None:
    backend, codes, _ = listed
    key = make_key()
    lost = codes[3]
    sha = hashlib.sha256(b"original 3").hexdigest()
    backend.client.delete_object(Bucket=backend.bucket, Key=derivative_key(sha, GEN, POSTER))
    backend.client.delete_object(Bucket=backend.bucket, Key=playback_key(sha))
    assert _media(client, key, 50)[lost]["poster_url"] is not None  # the database says so
    assert client.get(f"/clips/{lost}/poster.jpg").status_code == 404  # the store does not
    assert client.get(f"/clips/{lost}/playback.mp4").status_code == 404
    media = _media(client, key, 49)  # another page (the partner API caches each one)
    assert media[lost]["poster_url"] is None and media[lost]["playback_url"] is None
    assert media[codes[4]]["poster_url"] is not None  # the others are still linked
