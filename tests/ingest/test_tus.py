"""Resumable uploads (tus 1.0 core + creation): resume after restarts, offsets, checks."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.config import get_settings
from app.db import session_scope
from app.ingest import tus
from app.ingest.models import Media, Upload
from app.jobs.sweep import run_all as sweep_all
from app.kit.clock import utcnow
from tests.ingest.conftest import store_files

TUS = {"Tus-Resumable": "1.0.0"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def create(client: Any, who: Any, code: str, length: int, name: str = "phone.mp4") -> str:
    r = client.post(
        "/api/v1/uploads",
        headers={
            **who.headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": f"clip {b64(code)},filename {b64(name)},filetype {b64('video/mp4')}",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["tus-resumable"] == "1.0.0" and r.headers["upload-offset"] == "0"
    return str(r.headers["location"])


def patch(client: Any, who: Any, url: str, offset: int, data: bytes) -> Any:
    return client.patch(
        url,
        content=data,
        headers={
            **who.headers,
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )


def offset_of(client: Any, who: Any, url: str) -> int:
    r = client.head(url, headers={**who.headers, **TUS})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    return int(r.headers["upload-offset"])


def test_options_advertises_the_protocol(client: Any) -> None:
    r = client.options("/api/v1/uploads")
    assert r.status_code == 204
    assert r.headers["tus-version"] == "1.0.0"
    assert r.headers["tus-extension"].split(",") == ["creation", "termination", "expiration"]
    assert int(r.headers["tus-max-size"]) == get_settings().max_upload_bytes


def test_upload_in_pieces_resumes_after_a_server_restart(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    code = new_clip()
    data = phone_clip.read_bytes()
    url = create(client, contributor, code, len(data))
    third = len(data) // 3
    r = patch(client, contributor, url, 0, data[:third])
    assert r.status_code == 204 and r.headers["upload-offset"] == str(third)
    # a stale offset is refused with the real one
    r = patch(client, contributor, url, 0, data[:10])
    assert r.status_code == 409 and r.headers["upload-offset"] == str(third)

    tus.forget_hashes()  # "restart": no in-memory state survives
    with TestClient(create_app()) as fresh:
        assert offset_of(fresh, contributor, url) == third
        r = patch(fresh, contributor, url, third, data[third : 2 * third])
        assert r.status_code == 204
        tus.forget_hashes()
        r = patch(fresh, contributor, url, 2 * third, data[2 * third :])
        assert r.status_code == 204, r.text
        assert r.headers["location"] == f"/api/v1/clips/{code}/media"
        media = fresh.get(f"/api/v1/clips/{code}/media", headers=contributor.headers).json()
    assert media["sha256"] == hashlib.sha256(data).hexdigest() and media["via"] == "tus"
    assert media["filename"] == "phone.mp4" and media["processing"]["state"] == "queued"
    files = store_files(Path(get_settings().media_root))
    assert files["uploads"] == [] and files["tmp"] == [] and len(files["originals"]) == 1
    assert offset_of(client, contributor, url) == len(data)


def test_unacknowledged_bytes_are_cut_back_on_resume(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    code = new_clip()
    data = phone_clip.read_bytes()
    url = create(client, contributor, code, len(data))
    assert patch(client, contributor, url, 0, data[:1000]).status_code == 204
    upload_id = url.rsplit("/", 1)[1]
    path = Path(get_settings().media_root) / "uploads" / upload_id
    with open(path, "ab") as fh:  # a crash after writing but before committing the offset
        fh.write(b"garbage that was never acknowledged")
    tus.forget_hashes()
    assert offset_of(client, contributor, url) == 1000
    assert patch(client, contributor, url, 1000, data[1000:]).status_code == 204
    body = client.get(f"/api/v1/clips/{code}/media", headers=contributor.headers).json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_bad_file_via_tus_is_refused_and_removed(
    client: Any, contributor: Any, new_clip: Any, jpeg_bytes: bytes
) -> None:
    code = new_clip()
    url = create(client, contributor, code, len(jpeg_bytes), name="photo.mp4")
    r = patch(client, contributor, url, 0, jpeg_bytes)
    assert r.status_code == 415 and "JPEG" in r.json()["detail"]
    assert r.headers["tus-resumable"] == "1.0.0"
    assert client.head(url, headers={**contributor.headers, **TUS}).status_code == 410
    files = store_files(Path(get_settings().media_root))
    assert files["uploads"] == [] and files["originals"] == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 0
        assert s.scalar(select(Upload.state)) == "failed"


def test_protocol_errors(
    client: Any, contributor: Any, reviewer: Any, new_clip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = new_clip()
    h = contributor.headers
    r = client.post("/api/v1/uploads", headers={**h, "Upload-Length": "10"})
    assert r.status_code == 412 and r.headers["tus-version"] == "1.0.0"
    r = client.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": "10"})
    assert r.status_code == 400 and "clip" in r.json()["detail"]
    r = client.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Metadata": f"clip {b64(code)}"})
    assert r.status_code == 400 and r.json()["field"] == "Upload-Length"
    r = client.post(
        "/api/v1/uploads",
        headers={**h, **TUS, "Upload-Length": "10", "Upload-Metadata": f"clip {b64('IRN777')}"},
    )
    assert r.status_code == 404
    monkeypatch.setenv("ARCHIVE_MAX_UPLOAD_BYTES", "100")
    get_settings.cache_clear()
    r = client.post(
        "/api/v1/uploads",
        headers={**h, **TUS, "Upload-Length": "101", "Upload-Metadata": f"clip {b64(code)}"},
    )
    assert r.status_code == 413
    url = create(client, contributor, code, 10)
    r = client.patch(
        url, content=b"x", headers={**h, **TUS, "Upload-Offset": "0", "Content-Type": "video/mp4"}
    )
    assert r.status_code == 415
    r = patch(client, contributor, url, 0, b"x" * 11)
    assert r.status_code == 413 and offset_of(client, contributor, url) == 0
    # someone else's upload is invisible
    assert client.head(url, headers={**reviewer.headers, **TUS}).status_code == 404
    assert client.head("/api/v1/uploads/" + "0" * 32, headers={**h, **TUS}).status_code == 404


def _upload_file(url: str) -> Path:
    return Path(get_settings().media_root) / "uploads" / url.rsplit("/", 1)[1]


def test_termination_by_the_owner_or_an_admin_only(
    client: Any, contributor: Any, make_user: Any, admin: Any, new_clip: Any
) -> None:
    code = new_clip()
    url = create(client, contributor, code, 100)
    assert patch(client, contributor, url, 0, b"x" * 40).status_code == 204
    other = make_user("contributor")
    # not the creator: the same 404 as for an unknown upload, and nothing is deleted
    for who in (other, make_user("reviewer")):
        assert client.delete(url, headers={**who.headers, **TUS}).status_code == 404
    assert _upload_file(url).exists() and offset_of(client, contributor, url) == 40
    assert client.delete(url, headers=contributor.headers).status_code == 412  # no Tus-Resumable
    r = client.delete(url, headers={**contributor.headers, **TUS})
    assert r.status_code == 204 and r.headers["tus-resumable"] == "1.0.0"
    assert not _upload_file(url).exists()
    assert client.head(url, headers={**contributor.headers, **TUS}).status_code == 404
    assert patch(client, contributor, url, 40, b"x" * 60).status_code == 404
    assert client.delete(url, headers={**contributor.headers, **TUS}).status_code == 404
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Upload)) == 0
    # an admin may end anyone's upload; the clip can then take a new one
    url2 = create(client, other, code, 10)
    assert client.delete(url2, headers={**admin.headers, **TUS}).status_code == 204
    assert not _upload_file(url2).exists()
    create(client, contributor, code, 10)


def test_unfinished_uploads_expire_and_are_swept(
    client: Any, contributor: Any, new_clip: Any
) -> None:
    code = new_clip()
    r = client.post(
        "/api/v1/uploads",
        headers={
            **contributor.headers,
            **TUS,
            "Upload-Length": "100",
            "Upload-Metadata": f"clip {b64(code)}",
        },
    )
    lifetime = timedelta(seconds=get_settings().upload_expire_seconds)
    expires = parsedate_to_datetime(r.headers["upload-expires"])
    assert abs(expires - (utcnow() + lifetime)) < timedelta(minutes=5)
    old, live = r.headers["location"], create(client, contributor, new_clip(), 100)
    r = patch(client, contributor, old, 0, b"x" * 30)
    assert r.status_code == 204 and "upload-expires" in r.headers
    head = client.head(old, headers={**contributor.headers, **TUS})
    assert parsedate_to_datetime(head.headers["upload-expires"]) > utcnow()
    with session_scope() as s:  # no progress for longer than the lifetime
        s.execute(
            update(Upload)
            .where(Upload.id == old.rsplit("/", 1)[1])
            .values(updated_at=utcnow() - lifetime - timedelta(seconds=1))
        )
    assert client.head(old, headers={**contributor.headers, **TUS}).status_code == 410
    assert patch(client, contributor, old, 30, b"x" * 70).status_code == 410
    # a file without a row (a crash before the commit): removed once older than the lifetime
    uploads = Path(get_settings().media_root) / "uploads"
    orphan, fresh = uploads / ("a" * 32), uploads / ("b" * 32)
    orphan.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    past = time.time() - lifetime.total_seconds() - 60
    os.utime(orphan, (past, past))

    assert sweep_all() >= 2
    assert not _upload_file(old).exists() and not orphan.exists()
    assert _upload_file(live).exists() and fresh.exists()
    assert client.head(old, headers={**contributor.headers, **TUS}).status_code == 404
    assert offset_of(client, contributor, live) == 0
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Upload)) == 1
