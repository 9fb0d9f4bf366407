"""ARCHIVE_S3_PRESIGN: public playback copies, posters and keyframes answer 307 to a
short-lived presigned URL of the bucket (a real S3 server, moto_server), which the
browser follows to get the bytes (Range honoured by the store). What is not published
gets a 404 and no URL; the original is never presigned, and team routes still stream
through the app. Off by default."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.storage.backend import derivative_key, original_key, playback_key
from app.storage.s3 import S3Backend
from app.storage.store import get_store
from app.web.stored import public_response
from tests.public.conftest import MediaClip, set_status
from tests.s3 import moto, on_s3  # noqa: F401  (fixtures)


@pytest.fixture()
def bucket(media_clip: MediaClip, request: pytest.FixtureRequest) -> S3Backend:
    """The media clip's playback copy, poster and keyframes in a new bucket, the app on S3
    with an empty MEDIA_ROOT (so every byte served comes from the bucket)."""
    derived = list(get_store().derivative_root(media_clip.sha256).glob("*/*.jpg"))
    backend: S3Backend = request.getfixturevalue("on_s3")
    backend.put_derivative(playback_key(media_clip.sha256), media_clip.playback.read_bytes())
    for f in derived:
        backend.put_derivative(
            derivative_key(media_clip.sha256, f.parent.name, f.name), f.read_bytes()
        )
    return backend


@pytest.fixture()
def presign(bucket: S3Backend, monkeypatch: pytest.MonkeyPatch) -> S3Backend:
    monkeypatch.setenv("ARCHIVE_S3_PRESIGN", "true")
    monkeypatch.setenv("ARCHIVE_S3_PRESIGN_SECONDS", "120")
    get_settings.cache_clear()
    return bucket


def _redirect(client: TestClient, url: str, backend: S3Backend) -> str:
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 307, (url, r.status_code, r.text[:200])
    location = r.headers["location"]
    assert location.startswith(backend.endpoint + "/"), location  # straight to the store
    max_age = int(r.headers["cache-control"].split("max-age=")[1])
    assert r.headers["cache-control"].startswith("private") and max_age < 120
    assert r.content == b""  # no bytes through the app
    return location


def test_playback_redirects_to_a_presigned_url_that_serves_the_bytes_and_ranges(
    client: TestClient, media_clip: MediaClip, presign: S3Backend
) -> None:
    expected = media_clip.playback.read_bytes()
    location = _redirect(client, f"/clips/{media_clip.code}/playback.mp4", presign)
    query = parse_qs(urlsplit(location).query)
    expires = int(query.get("X-Amz-Expires", query.get("Expires", ["0"]))[0])
    assert 0 < expires <= 120 or expires > time.time()  # SigV4 seconds or SigV2 a time
    full = httpx.get(location)
    assert full.status_code == 200 and full.content == expected
    assert full.headers["content-type"] == "video/mp4"
    part = httpx.get(location, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == expected[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(expected)}"
    tail = httpx.get(location, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == expected[-10:]
    # a URL whose signature was altered is refused by the store
    forged = location.replace("playback.mp4", "playback.mp4x")
    assert httpx.get(forged).status_code in (403, 404)


def test_images_redirect_and_what_is_not_public_is_a_404_without_a_url(
    client: TestClient, media_clip: MediaClip, presign: S3Backend
) -> None:
    code = media_clip.code
    for url in (f"/clips/{code}/poster.jpg", f"/clips/{code}/keyframes/1.jpg"):
        got = httpx.get(_redirect(client, url, presign))
        assert got.status_code == 200 and got.content[:2] == b"\xff\xd8", url
        assert got.headers["content-type"] == "image/jpeg"
    missing = client.get(f"/clips/{code}/keyframes/9.jpg", follow_redirects=False)
    assert missing.status_code == 404 and "location" not in missing.headers
    presign.delete_derivative(playback_key(media_clip.sha256))
    gone = client.get(f"/clips/{code}/playback.mp4", follow_redirects=False)
    assert gone.status_code == 404 and "location" not in gone.headers  # no URL to nothing
    for status in ("retracted", "in_review"):
        set_status(code, status)
        for url in (f"/clips/{code}/poster.jpg", f"/clips/{code}/keyframes/0.jpg"):
            r = client.get(url, follow_redirects=False)
            assert r.status_code == 404 and "location" not in r.headers, (status, url)
            assert "X-Amz" not in r.text and presign.bucket not in r.text


def test_off_by_default_the_app_streams_the_bytes(
    client: TestClient, media_clip: MediaClip, bucket: S3Backend
) -> None:
    assert get_settings().s3_presign is False
    r = client.get(f"/clips/{media_clip.code}/playback.mp4", follow_redirects=False)
    assert r.status_code == 200 and r.content == media_clip.playback.read_bytes()


def test_team_routes_and_the_original_are_never_presigned(
    client: TestClient, media_clip: MediaClip, presign: S3Backend, contributor: Any
) -> None:
    code = media_clip.code
    poster = client.get(
        f"/api/v1/clips/{code}/poster", headers=contributor.headers, follow_redirects=False
    )
    assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"
    original = client.get(
        f"/api/v1/clips/{code}/media/original",
        headers=contributor.headers,
        follow_redirects=False,
    )
    assert original.status_code != 307 and "location" not in original.headers
    assert presign.bucket not in original.text
    with pytest.raises(ValueError, match="never presigned"):
        public_response(original_key(media_clip.sha256), "video/mp4", range_header=None, headers={})
