"""Uploads on both backends (the ``storage`` fixture: local disk, then a real S3 server).

On S3 the body streams to the bucket while it arrives (a multipart upload of a staging
key) and to a local temp file for the ffprobe validation; a 201 means the original is
``originals/<sha256>`` in the bucket, and nothing else is left: no staging object, no open
multipart upload, no local temp file and no local copy under ``MEDIA_ROOT/originals``.
Refusals (duplicate, too large, not a video) and a store that fails mid-upload leave
nothing on either side.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from sqlalchemy import func, select

from app.config import get_settings
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.ingest.models import Media, Upload
from app.jobs.models import ProcessingJob
from app.storage.backend import original_key
from app.storage.configured import get_backend
from app.storage.s3 import S3Backend
from tests.faults.conftest import small_disk  # noqa: F401
from tests.ingest.conftest import store_files, upload
from tests.ingest.test_tus import TUS, create, patch
from tests.s3 import moto, on_s3, other_node, storage, switch_to_s3  # noqa: F401
from tests.storage.conftest import MotoServer, start_moto

__all__ = ["moto", "on_s3", "other_node", "small_disk", "storage"]


@pytest.fixture(scope="session")
def big_clip(phone_clip: Path, media_dir: Path) -> Path:
    """A valid MP4 of a bit more than one 5 MiB part (the video, then a ``free`` atom of
    random bytes), so S3 sees a real multipart upload (two parts)."""
    out = media_dir / "big.mp4"
    n = 5 * 1024 * 1024 + 123_457
    out.write_bytes(phone_clip.read_bytes() + struct.pack(">I", 8 + n) + b"free" + os.urandom(n))
    return out


def media_root() -> Path:
    return Path(get_settings().media_root)


def s3_leftovers(backend: S3Backend) -> tuple[list[str], list[str]]:
    """Staging objects and open multipart uploads in the bucket."""
    c, bucket = backend.client, backend.bucket
    staging = [o["Key"] for o in c.list_objects_v2(Bucket=bucket).get("Contents", [])]
    uploads = [u["Key"] for u in c.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    return [k for k in staging if k.startswith("staging/")], uploads


def assert_stored(storage: str, sha: str, data: bytes) -> None:
    files = store_files(media_root())
    assert files["tmp"] == [] and files["uploads"] == []
    if storage == "local":
        assert files["originals"] == [f"{sha[:2]}/{sha[2:4]}/{sha}"]
        return
    backend = get_backend()
    assert isinstance(backend, S3Backend)
    stored = b"".join(backend.read(original_key(sha)))
    assert hashlib.sha256(stored).hexdigest() == sha and stored == data
    assert [o.key for o in backend.list("originals/")] == [original_key(sha)]
    assert files["originals"] == []  # the evidence lives in the bucket only
    assert s3_leftovers(backend) == ([], [])


def assert_nothing_stored(storage: str) -> None:
    files = store_files(media_root())
    assert files["tmp"] == [] and files["originals"] == []
    if storage == "s3":
        backend = get_backend()
        assert isinstance(backend, S3Backend)
        assert list(backend.list("originals/")) == []
        assert s3_leftovers(backend) == ([], [])
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 0
        assert s.scalar(select(func.count()).select_from(ProcessingJob)) == 0
        ingested = select(func.count()).where(CustodyEvent.action == "media.ingested")
        assert s.scalar(ingested) == 0


def assert_recorded(code: str, sha: str, size: int, via: str) -> None:
    with session_scope() as s:
        media = s.scalars(select(Media)).one()
        assert (media.sha256, media.size, media.via) == (sha, size, via)
        ev = s.scalars(select(CustodyEvent).where(CustodyEvent.action == "media.ingested")).one()
        assert ev.clip_code == code and ev.payload["sha256"] == sha and ev.payload["size"] == size
        job = s.scalars(select(ProcessingJob)).one()
        assert (job.step, job.state, job.original_sha256) == ("probe", "queued", sha)


@pytest.mark.parametrize("size", ["small", "parts"])
def test_raw_upload(
    storage: str,
    size: str,
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    big_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = (phone_clip if size == "small" else big_clip).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    sent: list[int] = []
    if storage == "s3":  # count the bytes that go to the store
        backend = get_backend()
        for op in ("upload_part", "put_object"):
            real = getattr(backend.client, op)

            def counted(real: Any = real, **kw: Any) -> Any:
                sent.append(len(kw["Body"]))
                return real(**kw)

            monkeypatch.setattr(backend.client, op, counted)
    code = new_clip()
    r = upload(client, contributor, code, data, name="VID_0001.mp4")
    assert r.status_code == 201, r.text
    if storage == "s3":  # once: in parts, or one PUT when smaller than a part
        assert sum(sent) == len(data) and len(sent) == (1 if size == "small" else 2)
    body = r.json()
    assert body["sha256"] == sha and body["size"] == len(data) and body["via"] == "raw"
    assert body["metadata"]["width"] == 160 and body["processing"]["state"] == "queued"
    assert_stored(storage, sha, data)
    assert_recorded(code, sha, len(data), "raw")


def test_multipart_upload(
    storage: str, client: Any, contributor: Any, new_clip: Any, big_clip: Path
) -> None:
    data = big_clip.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    code = new_clip()
    r = client.post(
        f"/api/v1/clips/{code}/media",
        headers=contributor.headers,
        files={"file": ("evidence.mp4", data, "video/mp4")},
        data={"note": "hello"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == sha and r.json()["filename"] == "evidence.mp4"
    assert_stored(storage, sha, data)
    assert_recorded(code, sha, len(data), "multipart")


def test_tus_upload(
    storage: str, client: Any, contributor: Any, new_clip: Any, big_clip: Path
) -> None:
    data = big_clip.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    code = new_clip()
    url = create(client, contributor, code, len(data))
    half = len(data) // 2
    assert patch(client, contributor, url, 0, data[:half]).status_code == 204
    assert store_files(media_root())["uploads"]  # the partial bytes wait on this node's disk
    r = patch(client, contributor, url, half, data[half:])
    assert r.status_code == 204, r.text
    assert r.headers["location"] == f"/api/v1/clips/{code}/media"
    assert_stored(storage, sha, data)
    assert_recorded(code, sha, len(data), "tus")
    with session_scope() as s:
        assert s.scalars(select(Upload)).one().state == "done"


def test_a_duplicate_is_a_409_and_leaves_one_original(
    storage: str, client: Any, contributor: Any, new_clip: Any, big_clip: Path
) -> None:
    data = big_clip.read_bytes()
    first = new_clip()
    assert upload(client, contributor, first, data).status_code == 201
    second = new_clip()
    r = upload(client, contributor, second, data)
    assert r.status_code == 409 and r.json()["error"] == "duplicate_media"
    assert first in r.json()["detail"]
    assert_stored(storage, hashlib.sha256(data).hexdigest(), data)


def test_same_bytes_in_the_store_without_a_row_are_reused(
    on_s3: S3Backend, client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    """An original left in the bucket by an upload whose row never committed: the next
    upload of the same bytes gets its 201 and the object stays as it was."""
    data = phone_clip.read_bytes()
    stored = on_s3.put_original(iter([data]), limit=len(data))
    assert stored.created
    before = on_s3.stat(original_key(stored.sha256))
    code = new_clip()
    assert upload(client, contributor, code, data).status_code == 201
    assert on_s3.stat(original_key(stored.sha256)) == before
    assert_stored("s3", stored.sha256, data)


def test_too_large_is_a_413_and_keeps_nothing(
    storage: str,
    client: Any,
    contributor: Any,
    new_clip: Any,
    big_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = big_clip.read_bytes()
    monkeypatch.setenv("ARCHIVE_MAX_UPLOAD_BYTES", str(len(data) - 1000))  # past one part
    get_settings.cache_clear()

    def body() -> Any:  # no Content-Length: the limit bites while streaming
        for i in range(0, len(data), 256 * 1024):
            yield data[i : i + 256 * 1024]

    code = new_clip()
    r = client.post(
        f"/api/v1/clips/{code}/media",
        content=body(),
        headers={**contributor.headers, "Content-Type": "video/mp4"},
    )
    assert r.status_code == 413 and r.json()["error"] == "upload_too_large"
    assert_nothing_stored(storage)


@pytest.mark.parametrize("case", ["text", "truncated", "garbage-parts"])
def test_an_invalid_file_is_refused_and_leaves_nothing(
    storage: str,
    case: str,
    client: Any,
    contributor: Any,
    new_clip: Any,
    truncated_clip: Path,
) -> None:
    data, status = {
        "text": (b"hello, this is not a video at all\n" * 20, 415),
        "truncated": (truncated_clip.read_bytes(), 422),
        "garbage-parts": (os.urandom(6 * 1024 * 1024), 415),  # sent in parts, then refused
    }[case]
    r = upload(client, contributor, new_clip(), data)
    assert r.status_code == status, r.text
    assert r.json()["field"] == "file"
    assert_nothing_stored(storage)


def test_the_store_failing_mid_upload_is_a_503_and_records_nothing(
    on_s3: S3Backend,
    client: Any,
    contributor: Any,
    new_clip: Any,
    big_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store becomes unreachable after the first part: the client gets a 503 naming
    the store, no row, no custody event, no job; the local temp file is gone, and the
    bucket keeps nothing (after the sweep at the latest)."""
    real = on_s3.client.upload_part
    calls: list[int] = []

    def upload_part(**kw: Any) -> Any:
        calls.append(kw["PartNumber"])
        if len(calls) > 1:
            raise EndpointConnectionError(endpoint_url=on_s3.endpoint)
        return real(**kw)

    monkeypatch.setattr(on_s3.client, "upload_part", upload_part)
    r = upload(client, contributor, new_clip(), big_clip.read_bytes())
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "storage_unavailable"
    assert on_s3.endpoint in r.json()["detail"] and "sending a part" in r.json()["detail"]
    assert calls == [1, 2]
    on_s3.sweep_staging(0)
    assert_nothing_stored("s3")


def test_a_tus_upload_outlives_a_store_outage(
    on_s3: S3Backend,
    client: Any,
    contributor: Any,
    new_clip: Any,
    big_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store is unreachable when the last PATCH completes the upload: a 503, nothing in
    the bucket, no row; the bytes stay on this node and the upload stays open at its last
    committed offset, so resending that PATCH once the store is back completes it."""
    data = big_clip.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    code = new_clip()
    url = create(client, contributor, code, len(data))
    half = len(data) // 2
    assert patch(client, contributor, url, 0, data[:half]).status_code == 204
    real = on_s3.client.upload_part
    down = [True]

    def upload_part(**kw: Any) -> Any:
        if down[0]:
            raise EndpointConnectionError(endpoint_url=on_s3.endpoint)
        return real(**kw)

    monkeypatch.setattr(on_s3.client, "upload_part", upload_part)
    r = patch(client, contributor, url, half, data[half:])
    assert r.status_code == 503 and r.json()["error"] == "storage_unavailable", r.text
    assert r.headers["upload-offset"] == str(half)
    on_s3.sweep_staging(0)
    assert_nothing_stored("s3")
    assert store_files(media_root())["uploads"]  # kept for the retry
    with session_scope() as s:
        assert s.scalars(select(Upload)).one().state == "uploading"
    r = client.head(url, headers={**contributor.headers, **TUS})
    assert r.headers["upload-offset"] == str(half)

    down[0] = False  # the store is back
    r = patch(client, contributor, url, half, data[half:])
    assert r.status_code == 204, r.text
    assert_stored("s3", sha, data)
    assert_recorded(code, sha, len(data), "tus")


@pytest.mark.parametrize("outcome", ["proposed", "refused"])
def test_correction_footage(
    storage: str,
    outcome: str,
    client: Any,
    contributor: Any,
    big_clip: Path,
) -> None:
    """Footage for a published clip (app/review/footage.py) lands like any upload; a
    proposal refused after the body streamed in (no reason given) keeps nothing."""
    from tests.review.test_freeze import published_demo_clip

    data = big_clip.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    code = published_demo_clip()
    reason = "The source sent us the original file" if outcome == "proposed" else ""
    r = client.post(
        f"/api/v1/clips/{code}/corrections/footage",
        params={"reason": reason, "public_reason": "We hold the footage now."},
        content=data,
        headers={**contributor.headers, "Content-Type": "video/mp4"},
    )
    if outcome == "refused":
        assert r.status_code == 422, r.text
        assert_nothing_stored(storage)
        return
    assert r.status_code == 201, r.text
    assert r.json()["changes"][0]["after"] == f"SHA-256:{sha}"
    assert_stored(storage, sha, data)
    with session_scope() as s:
        assert s.scalars(select(Media)).one().correction_id == r.json()["id"]


def test_a_tus_upload_continues_only_on_the_node_that_has_its_bytes(
    on_s3: S3Backend,
    other_node: Any,
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
) -> None:
    """The README's rule (sticky routing by upload URL): the partial bytes are on the
    receiving node's disk, so another node answers 410 and stores nothing."""
    data = phone_clip.read_bytes()
    url = create(client, contributor, new_clip(), len(data))
    assert patch(client, contributor, url, 0, data[:1000]).status_code == 204
    other_node()
    r = patch(client, contributor, url, 1000, data[1000:])
    assert r.status_code == 410, r.text
    assert "the node that received its first bytes" in r.json()["detail"]
    assert_nothing_stored("s3")


def test_a_tus_file_changed_on_disk_is_not_stored(
    on_s3: S3Backend, client: Any, contributor: Any, new_clip: Any, big_clip: Path
) -> None:
    """The SHA-256 taken while the bytes arrived is checked again while the file goes to
    the bucket: one flipped byte on the local disk between two PATCHes stores nothing."""
    data = big_clip.read_bytes()
    url = create(client, contributor, new_clip(), len(data))
    half = len(data) // 2
    assert patch(client, contributor, url, 0, data[:half]).status_code == 204
    (path,) = (media_root() / "uploads").iterdir()
    with open(path, "r+b") as fh:  # the disk (or someone) changes a byte already received
        fh.seek(half - 10)
        fh.write(bytes([data[half - 10] ^ 1]))
    r = patch(client, contributor, url, half, data[half:])
    assert r.status_code == 500 and r.json()["error"] == "upload_corrupt", r.text
    assert "no longer has the SHA-256" in r.json()["detail"]
    assert_nothing_stored("s3")


def test_put_original_file_checks_the_digest(storage: str, db_url: str, tmp_path: Path) -> None:
    backend = get_backend()
    assert str(tmp_path) in str(get_settings().media_root)  # this test's own store
    f = tmp_path / "clip.bin"
    data = os.urandom(6 * 1024 * 1024)  # more than one part on S3
    f.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(ValueError, match="SHA-256"):
        backend.put_original_file(f, hashlib.sha256(b"other").hexdigest(), len(data))
    assert list(backend.list("originals/")) == []
    stored = backend.put_original_file(f, sha, len(data))
    assert stored.created and b"".join(backend.read(original_key(sha))) == data
    assert not backend.put_original_file(f, sha, len(data)).created  # reused
    assert f.read_bytes() == data  # the source is left alone
    if isinstance(backend, S3Backend):
        assert s3_leftovers(backend) == ([], [])


def test_a_full_local_disk_on_s3_is_a_507_and_keeps_nothing_in_the_bucket(
    small_disk: Path,
    moto: MotoServer,  # noqa: F811
    client: Any,
    contributor: Any,
    new_clip: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The validation copy fills the node's 20 MiB tmpfs after some parts went to the
    bucket: 507 as on local disk, the multipart upload aborted, the temp file gone."""
    backend = switch_to_s3(monkeypatch, moto, small_disk)
    monkeypatch.setenv("ARCHIVE_MIN_FREE_BYTES", str(1024 * 1024))
    get_settings.cache_clear()
    data = os.urandom(25 * 1024 * 1024)
    sent: list[int] = []
    real = backend.client.upload_part
    monkeypatch.setattr(
        backend.client, "upload_part", lambda **kw: sent.append(kw["PartNumber"]) or real(**kw)
    )

    def pieces() -> Any:  # no Content-Length: only the reserve is checked up front
        for i in range(0, len(data), 512 * 1024):
            yield data[i : i + 512 * 1024]

    r = client.post(
        f"/api/v1/clips/{new_clip()}/media",
        content=pieces(),
        headers={**contributor.headers, "Content-Type": "video/mp4"},
    )
    assert r.status_code == 507 and r.json()["error"] == "insufficient_storage", r.text
    assert sent  # parts had gone out before the disk filled up
    assert_nothing_stored("s3")


def test_the_store_process_dying_mid_upload_is_a_503(
    tmp_path: Path,
    client: Any,
    contributor: Any,
    new_clip: Any,
    big_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dedicated S3 server killed after the first part (its connections refused from
    then on): 503 naming it, no row, no custody event, no local temp file."""
    server = start_moto(tmp_path)
    try:
        backend = switch_to_s3(monkeypatch, server, tmp_path / "node")
        real = backend.client.upload_part

        def upload_part(**kw: Any) -> Any:
            if kw["PartNumber"] == 2:
                server.stop()
            return real(**kw)

        monkeypatch.setattr(backend.client, "upload_part", upload_part)
        r = upload(client, contributor, new_clip(), big_clip.read_bytes())
    finally:
        server.stop()
    assert r.status_code == 503 and r.json()["error"] == "storage_unavailable", r.text
    assert server.url in r.json()["detail"]
    files = store_files(media_root())
    assert files["tmp"] == [] and files["originals"] == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 0
        assert s.scalar(select(func.count()).where(CustodyEvent.action == "media.ingested")) == 0
