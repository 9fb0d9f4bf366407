"""Public media served from the S3 backend (a real S3 server, moto_server): the playback
copy with Range (206, a suffix, 416), the poster and keyframes, and still a 404 once the
clip is retracted. The media clip's files are put into the bucket under the same keys and
the archive switched to ARCHIVE_STORAGE=s3 with an empty ARCHIVE_MEDIA_ROOT, so every byte
served comes from the bucket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.storage.backend import derivative_key, playback_key
from app.storage.s3 import S3Backend, make_client
from app.storage.store import get_store
from tests.public.conftest import MediaClip, set_status
from tests.storage.conftest import MotoServer, moto, new_bucket

__all__ = ["moto"]  # the session's S3 server (a fixture)


@pytest.fixture()
def on_s3(
    media_clip: MediaClip, moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3Backend]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = make_client(moto.url, "us-east-1")
    backend = S3Backend(client, new_bucket(client), endpoint=moto.url)
    backend.put_derivative(playback_key(media_clip.sha256), media_clip.playback.read_bytes())
    derived = get_store().derivative_root(media_clip.sha256)
    for f in derived.glob("*/*.jpg"):
        backend.put_derivative(
            derivative_key(media_clip.sha256, f.parent.name, f.name), f.read_bytes()
        )
    monkeypatch.setenv("ARCHIVE_STORAGE", "s3")
    monkeypatch.setenv("ARCHIVE_S3_ENDPOINT", moto.url)
    monkeypatch.setenv("ARCHIVE_S3_BUCKET", backend.bucket)
    monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(tmp_path / "empty"))
    get_settings.cache_clear()
    yield backend
    get_settings.cache_clear()


def test_playback_from_s3_supports_range_requests(
    client: TestClient, media_clip: MediaClip, on_s3: S3Backend
) -> None:
    expected = media_clip.playback.read_bytes()
    url = f"/clips/{media_clip.code}/playback.mp4"
    full = client.get(url)
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    assert full.headers["accept-ranges"] == "bytes"
    assert full.content == expected
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == expected[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(expected)}"
    assert part.headers["content-length"] == "100"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == expected[-10:]
    open_end = client.get(url, headers={"Range": f"bytes={len(expected) - 3}-"})
    assert open_end.status_code == 206 and open_end.content == expected[-3:]
    beyond = client.get(url, headers={"Range": f"bytes={len(expected) + 5}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(expected)}"


def test_images_from_s3_and_404_after_retraction(
    client: TestClient, media_clip: MediaClip, on_s3: S3Backend
) -> None:
    code = media_clip.code
    poster = client.get(f"/clips/{code}/poster.jpg")
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert poster.content[:2] == b"\xff\xd8"
    assert client.get(f"/clips/{code}/keyframes/1.jpg").status_code == 200
    assert client.get(f"/clips/{code}/keyframes/9.jpg").status_code == 404
    on_s3.delete_derivative(playback_key(media_clip.sha256))
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404  # gone from the bucket
    set_status(code, "retracted")
    for url in (f"/clips/{code}/poster.jpg", f"/clips/{code}/keyframes/0.jpg"):
        assert client.get(url).status_code == 404, url


def test_team_images_from_s3(
    client: TestClient, media_clip: MediaClip, on_s3: S3Backend, contributor: Any
) -> None:
    code = media_clip.code
    poster = client.get(f"/api/v1/clips/{code}/poster", headers=contributor.headers)
    assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"
    kf = client.get(f"/api/v1/clips/{code}/keyframes/2/image", headers=contributor.headers)
    assert kf.status_code == 200 and kf.headers["content-type"] == "image/jpeg"
    missing = client.get(f"/api/v1/clips/{code}/keyframes/7/image", headers=contributor.headers)
    assert missing.status_code == 404
