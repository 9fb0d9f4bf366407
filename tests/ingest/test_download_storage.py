"""The team's download and in-browser viewing of the original, on both backends (on S3
after `archive storage migrate`, from an empty MEDIA_ROOT): the bytes, a Range, the
custody event at the start, a missing object's clear 404 with nothing logged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.custody.models import CustodyEvent
from app.db import session_scope
from app.storage.backend import original_key
from app.storage.configured import get_backend
from tests.storage.migrated import *  # noqa: F403  (fixtures)
from tests.storage.migrated import Archive


def _events(action: str) -> list[str | None]:
    with session_scope() as s:
        return [
            e.clip_code
            for e in s.scalars(select(CustodyEvent).where(CustodyEvent.action == action))
        ]


def test_download_and_view_the_original(
    stored_archive: Archive, client: Any, contributor: Any
) -> None:
    a = stored_archive
    code, sha, data = a.codes[0], a.shas[0], a.files[0].read_bytes()
    url = f"/api/v1/clips/{code}/media/original"
    r = client.get(url, headers=contributor.headers)
    assert r.status_code == 200, r.text
    assert r.content == data
    assert r.headers["content-disposition"] == f'attachment; filename="{code}-{sha[:12]}.mp4"'
    assert r.headers["x-content-sha256"] == sha
    assert r.headers["cache-control"] == "private, no-store"
    assert int(r.headers["content-length"]) == len(data)
    part = client.get(url, headers={**contributor.headers, "Range": "bytes=100-299"})
    assert part.status_code == 206 and part.content == data[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{len(data)}"
    assert _events("media.original_downloaded") == [code, code]

    # a player: the viewing is logged once, at its start; its seeks are not
    start = client.get(
        url, params={"inline": 1}, headers={**contributor.headers, "Range": "bytes=0-"}
    )
    assert start.status_code == 206 and start.content == data
    assert start.headers["content-disposition"].startswith("inline;")
    seek = client.get(
        url,
        params={"inline": 1},
        headers={**contributor.headers, "Range": f"bytes={len(data) - 50}-"},
    )
    assert seek.status_code == 206 and seek.content == data[-50:]
    assert _events("media.original_viewed") == [code]
    past = client.get(url, headers={**contributor.headers, "Range": f"bytes={len(data) + 10}-"})
    assert past.status_code == 416


def test_a_missing_original_is_a_clear_404_and_nothing_is_logged(
    stored_archive: Archive, client: Any, contributor: Any
) -> None:
    a = stored_archive
    backend = get_backend()
    key = original_key(a.shas[1])
    if backend.name == "s3":
        a.client.delete_object(Bucket=a.bucket, Key=key)
    else:
        path = backend.path(key)  # type: ignore[attr-defined]
        path.chmod(0o644)
        path.unlink()
    url = f"/api/v1/clips/{a.codes[1]}/media/original"
    for params in ({}, {"inline": 1}):
        r = client.get(url, params=params, headers={**contributor.headers, "Range": "bytes=5-"})
        assert r.status_code == 404, r.text
        assert r.json()["error"] == "media_not_found"
        assert "missing from the store" in r.json()["detail"]
    assert _events("media.original_downloaded") == []
    assert _events("media.original_viewed") == []


def test_a_keyframe_searched_as_an_image_is_read_from_the_store(
    stored_archive: Archive, client: Any, contributor: Any
) -> None:
    """`derivative_file`: the keyframe is the local file, or on S3 this node's copy of it."""
    from app.duplicates import index as frame_index

    frame_index.reset()
    frame_index.start_for_process()
    assert frame_index.wait_ready(30)
    code = stored_archive.codes[0]
    r = client.post(
        "/api/v1/search/image", data={"code": code, "keyframe": "0"}, headers=contributor.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["code"] == code and r.json()["results"][0]["distance"] == 0
    gone = client.post(
        "/api/v1/search/image", data={"code": code, "keyframe": "999"}, headers=contributor.headers
    )
    assert gone.status_code == 404 and "has no image" in gone.json()["detail"]
    frame_index.reset()
