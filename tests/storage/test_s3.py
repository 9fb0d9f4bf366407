"""What only the S3 backend does: create-only writes that the server really refuses, the
multipart server-side copy, Object Lock retention, the staging sweep, and a store that is
unreachable, refuses our credentials or goes away mid-upload."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from app.storage.backend import StorageDenied, StorageUnavailable, original_key
from app.storage.s3 import S3Backend, make_client
from tests.storage.conftest import PART, MotoServer, free_port, new_bucket, start_moto

pytestmark = pytest.mark.nodb


def chunks(data: bytes, n: int = 1024 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), n):
        yield data[i : i + n]


def sent_headers(client: Any) -> list[tuple[str, dict[str, str]]]:
    """(operation, headers) of every request the client sends from now on."""
    seen: list[tuple[str, dict[str, str]]] = []

    def hook(request: Any, event_name: str, **_: Any) -> None:
        seen.append((event_name.split(".")[-1], dict(request.headers)))

    client.meta.events.register("before-send.s3", hook)
    return seen


def header(headers: dict[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v.decode() if isinstance(v, bytes) else v
    return None


@pytest.mark.parametrize("size", [1000, 2 * PART + 1])
def test_boto3_sends_if_none_match_and_the_server_refuses_an_overwrite(
    s3_backend: S3Backend, size: int
) -> None:
    seen = sent_headers(s3_backend.client)
    data = os.urandom(size)
    stored = s3_backend.put_original(chunks(data), limit=size)
    op = "PutObject" if size < PART else "CopyObject"
    writes = [h for name, h in seen if name == op]
    assert writes and all(header(h, "If-None-Match") == "*" for h in writes)
    # the server enforces it: a create-only write to the existing key is refused (412) ...
    with pytest.raises(ClientError) as refused:
        s3_backend.client.put_object(
            Bucket=s3_backend.bucket, Key=original_key(stored.sha256), Body=b"x", IfNoneMatch="*"
        )
    assert refused.value.response["Error"]["Code"] in ("PreconditionFailed", "412")
    # ... and the bytes are still the original's
    assert b"".join(s3_backend.read(original_key(stored.sha256))) == data


def test_the_multipart_copy_completes_create_only(s3_backend: S3Backend) -> None:
    """Above CopyObject's 5 GiB (here forced with copy_limit=0) the original is copied in
    parts on the server, and the completion carries If-None-Match."""
    s3_backend.copy_limit = 0
    seen = sent_headers(s3_backend.client)
    data = os.urandom(2 * PART + 5)
    stored = s3_backend.put_original(chunks(data), limit=len(data))
    assert stored.created
    ops = [name for name, _h in seen]
    assert "UploadPartCopy" in ops and "CopyObject" not in ops
    completes = [h for name, h in seen if name == "CompleteMultipartUpload"]
    assert [header(h, "If-None-Match") for h in completes] == [None, "*"]  # staging, final
    assert b"".join(s3_backend.read(original_key(stored.sha256))) == data
    again = s3_backend.put_original(chunks(data), limit=len(data))
    assert not again.created
    assert (
        s3_backend.client.list_multipart_uploads(Bucket=s3_backend.bucket).get("Uploads", []) == []
    )


@pytest.mark.parametrize(("size", "copy_limit"), [(1000, 0), (PART + 1, PART * 9)])
def test_object_lock_retention_on_new_originals(
    s3_backend: S3Backend, size: int, copy_limit: int
) -> None:
    """Both ways in (one PUT; a multipart copy, always used with Object Lock) set it. moto lets a
    retention be shortened, so we read it back and check it ourselves."""
    s3_backend.lock_mode, s3_backend.retention_days = "GOVERNANCE", 30
    s3_backend.copy_limit = copy_limit
    s3_backend.check()
    stored = s3_backend.put_original(chunks(os.urandom(size)), limit=size)
    key = original_key(stored.sha256)
    head = s3_backend.client.head_object(Bucket=s3_backend.bucket, Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    expected = datetime.now(UTC) + timedelta(days=30)
    assert abs((head["ObjectLockRetainUntilDate"] - expected).total_seconds()) < 3600
    version = head["VersionId"]
    with pytest.raises(ClientError):  # the locked version cannot be deleted
        s3_backend.client.delete_object(Bucket=s3_backend.bucket, Key=key, VersionId=version)


def test_object_lock_needs_a_bucket_with_object_lock(moto: MotoServer, s3_client: Any) -> None:
    bucket = f"plain-{os.urandom(4).hex()}"
    s3_client.create_bucket(Bucket=bucket)
    b = S3Backend(s3_client, bucket, endpoint=moto.url, lock_mode="compliance", retention_days=1)
    with pytest.raises(StorageDenied, match="has no Object Lock"):
        b.check()


def test_the_sweep_removes_stale_staging_and_aborts_stale_uploads(s3_backend: S3Backend) -> None:
    c, bucket = s3_backend.client, s3_backend.bucket
    c.put_object(Bucket=bucket, Key="staging/deadhost-1-" + "a" * 32, Body=b"half")
    c.create_multipart_upload(Bucket=bucket, Key="staging/deadhost-1-" + "b" * 32)
    s3_backend.sweep_staging(older_than=3600)  # (moto dates every upload in 2010)
    assert [o.key for o in s3_backend.list("staging/")] != []  # fresh: a live upload's
    s3_backend.sweep_staging(older_than=0)
    assert list(s3_backend.list("staging/")) == []
    assert c.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_an_unreachable_store_is_a_clear_error_naming_the_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    b = S3Backend(make_client(endpoint, "us-east-1", 1.0), "archive", endpoint=endpoint)
    with pytest.raises(StorageUnavailable, match=f"S3 store at {endpoint}.*cannot be reached"):
        b.check()
    with pytest.raises(StorageUnavailable, match=endpoint):
        b.put_original(chunks(os.urandom(100)), limit=1000)


def test_wrong_credentials_are_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that checks credentials (moto with IAM authentication on)."""
    server = start_moto(tmp_path, env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0")
        b = S3Backend(make_client(server.url, "us-east-1"), "archive", endpoint=server.url)
        with pytest.raises(StorageDenied, match=f"{server.url}.*refused our credentials"):
            b.check()
    finally:
        server.stop()


def test_the_store_going_away_mid_upload(tmp_path: Path) -> None:
    """The server dies after the first part: a clear 503-class error naming the store.
    (moto keeps its objects in memory, so the restarted server is empty; that the abort and
    the sweep leave nothing behind is tested where the store stays: test_contract.py.)"""
    server = start_moto(tmp_path)
    client = make_client(server.url, "us-east-1", 1.0)
    bucket = new_bucket(client)
    b = S3Backend(client, bucket, endpoint=server.url, part_size=PART)

    def dies() -> Iterator[bytes]:
        yield os.urandom(PART)
        yield os.urandom(10)  # the first part has gone out when this is asked for
        server.stop()
        yield os.urandom(PART)

    try:
        with pytest.raises(StorageUnavailable, match=f"{server.url}.*cannot be reached") as exc:
            b.put_original(dies(), limit=10 * PART)
        assert exc.value.status == 503
    finally:
        server.stop()


def test_the_app_does_not_start_on_an_unreachable_store(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings
    from app.main import create_app

    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("ARCHIVE_STORAGE", "s3")
    monkeypatch.setenv("ARCHIVE_S3_ENDPOINT", endpoint)
    monkeypatch.setenv("ARCHIVE_S3_BUCKET", "archive")
    monkeypatch.setenv("ARCHIVE_S3_CONNECT_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    try:
        with (
            pytest.raises(StorageUnavailable, match=f"S3 store at {endpoint}"),
            TestClient(create_app()),
        ):
            pass
    finally:
        get_settings.cache_clear()


def test_sha256_is_taken_while_streaming(s3_backend: S3Backend) -> None:
    data = os.urandom(PART + 77)
    stored = s3_backend.put_original(chunks(data, 333_333), limit=len(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
