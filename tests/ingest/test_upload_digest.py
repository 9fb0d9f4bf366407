"""A raw upload that declares its SHA-256 (RFC 9530 ``Repr-Digest``), on both backends.

On S3 the parts go straight to ``originals/<sha256>`` (a multipart upload, invisible until
it is completed create-only once the body matched the digest and passed validation): no
staging object, no server-side copy. A body with another digest is a 400 and nothing is
kept on either backend.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app.config import get_settings
from app.storage.backend import original_key
from app.storage.configured import get_backend
from app.storage.s3 import S3Backend
from tests.ingest.conftest import store_files
from tests.ingest.test_tus import create, patch
from tests.ingest.test_upload_s3 import (
    assert_nothing_stored,
    assert_recorded,
    assert_stored,
    big_clip,
    media_root,
    s3_leftovers,
)
from tests.s3 import moto, on_s3, other_node, storage  # noqa: F401

__all__ = ["big_clip", "moto", "on_s3", "other_node", "storage"]


def repr_digest(data: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


def post(client: Any, who: Any, code: str, data: bytes, **headers: str) -> Any:
    return client.post(
        f"/api/v1/clips/{code}/media",
        params={"filename": "clip.mp4"},
        content=data,
        headers={**who.headers, "Content-Type": "video/mp4", **headers},
    )


@pytest.fixture()
def s3_calls() -> list[tuple[str, str]]:
    """(operation, key) of every request the app's S3 client makes from now on (on S3: ask
    for it after ``storage`` / ``on_s3``)."""
    calls: list[tuple[str, str]] = []
    if get_settings().storage == "s3":

        def seen(params: dict[str, Any], model: Any, **_: Any) -> None:
            key = params.get("Key", "")
            if model.name == "CopyObject" or model.name == "UploadPartCopy":
                key = f"{key} <- {params.get('CopySource')}"
            calls.append((model.name, key))

        get_backend().client.meta.events.register("before-parameter-build.s3", seen)  # type: ignore[attr-defined]
    return calls


def no_staging(calls: list[tuple[str, str]]) -> None:
    assert not [c for c in calls if "staging/" in c[1]], calls
    assert not [c for c in calls if c[0] in ("CopyObject", "UploadPartCopy")], calls


@pytest.mark.parametrize("header", ["Repr-Digest", "Content-Digest"])
@pytest.mark.parametrize("size", ["small", "parts"])
def test_a_declared_digest_stores_without_staging_or_copy(
    storage: str,
    s3_calls: list[tuple[str, str]],
    header: str,
    size: str,
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    big_clip: Path,
) -> None:
    data = (phone_clip if size == "small" else big_clip).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    code = new_clip()
    r = post(client, contributor, code, data, **{header: repr_digest(data)})
    assert r.status_code == 201, r.text
    calls = list(s3_calls)  # what the upload asked of the store
    assert r.json()["sha256"] == sha
    assert_stored(storage, sha, data)
    assert_recorded(code, sha, len(data), "raw")
    if storage == "s3":
        no_staging(calls)
        ops = [op for op, k in calls if k.startswith("originals/") and op != "HeadObject"]
        key = original_key(sha)
        if size == "parts":
            assert ops == [
                "CreateMultipartUpload",
                "UploadPart",
                "UploadPart",
                "CompleteMultipartUpload",
            ]
            assert {k for op, k in calls if k} == {key}  # no other key written or read
        else:
            assert ops == ["PutObject"] and calls[-1] == ("PutObject", key)


@pytest.mark.parametrize("size", ["small", "parts"])
def test_a_wrong_declared_digest_is_a_400_and_keeps_nothing(
    storage: str,
    size: str,
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    big_clip: Path,
) -> None:
    data = (phone_clip if size == "small" else big_clip).read_bytes()
    other = data[:-1] + bytes([data[-1] ^ 1])
    r = post(client, contributor, new_clip(), data, **{"Repr-Digest": repr_digest(other)})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "digest_mismatch"
    assert hashlib.sha256(data).hexdigest() in body["detail"]
    assert hashlib.sha256(other).hexdigest() in body["detail"]
    assert "nothing was stored" in body["detail"]
    assert_nothing_stored(storage)  # no row, no event, no object, no open upload, no tmp
    assert store_files(media_root())["tmp"] == []


@pytest.mark.parametrize(
    "value",
    [
        "sha-256=abc",  # not a byte sequence
        "sha-256=:bm90IDMyIGJ5dGVz:",  # 12 bytes
        "sha-256=:!!!:",
        "sha-256",
    ],
)
def test_a_malformed_digest_header_is_a_400_naming_it(
    storage: str, value: str, client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    r = post(client, contributor, new_clip(), phone_clip.read_bytes(), **{"Repr-Digest": value})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_digest_header"
    assert "Repr-Digest" in r.json()["detail"] and r.json()["field"] == "Repr-Digest"
    assert_nothing_stored(storage)


def test_other_algorithms_are_ignored_and_two_headers_must_agree(
    storage: str, client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    data = phone_clip.read_bytes()
    wrong = repr_digest(b"other bytes")
    r = post(
        client,
        contributor,
        new_clip(),
        data,
        **{"Repr-Digest": repr_digest(data), "Content-Digest": wrong},
    )
    assert r.status_code == 400 and r.json()["error"] == "bad_digest_header", r.text
    assert_nothing_stored(storage)
    sha512 = "sha-512=:" + base64.b64encode(hashlib.sha512(data).digest()).decode() + ":"
    r = post(client, contributor, new_clip(), data, **{"Repr-Digest": sha512})
    assert r.status_code == 201, r.text  # no sha-256 member: the usual path
    assert_stored(storage, hashlib.sha256(data).hexdigest(), data)


def test_declared_digest_and_the_bytes_already_in_the_bucket_are_reused(
    on_s3: S3Backend,
    s3_calls: list[tuple[str, str]],
    client: Any,
    contributor: Any,
    new_clip: Any,
    big_clip: Path,
) -> None:
    """An original left in the bucket with no row (a commit that failed): the create-only
    completion finds it (412), the upload is aborted and the object stays as it was."""
    data = big_clip.read_bytes()
    stored = on_s3.put_original(iter([data]), limit=len(data))
    before = on_s3.stat(original_key(stored.sha256))
    s3_calls.clear()
    code = new_clip()
    r = post(client, contributor, code, data, **{"Repr-Digest": repr_digest(data)})
    assert r.status_code == 201, r.text
    assert on_s3.stat(original_key(stored.sha256)) == before
    assert ("AbortMultipartUpload", original_key(stored.sha256)) in s3_calls
    no_staging(s3_calls)
    assert_stored("s3", stored.sha256, data)
    assert_recorded(code, stored.sha256, len(data), "raw")


@pytest.mark.parametrize("case", ["text-parts", "truncated"])
def test_an_invalid_video_with_a_declared_digest_is_refused_and_aborted(
    storage: str,
    case: str,
    client: Any,
    contributor: Any,
    new_clip: Any,
    truncated_clip: Path,
) -> None:
    data, status = {
        "text-parts": (os.urandom(6 * 1024 * 1024), 415),  # sent in parts, then refused
        "truncated": (truncated_clip.read_bytes(), 422),
    }[case]
    r = post(client, contributor, new_clip(), data, **{"Repr-Digest": repr_digest(data)})
    assert r.status_code == status, r.text
    assert_nothing_stored(storage)


def test_a_duplicate_with_a_declared_digest_is_a_409_and_aborted(
    storage: str, client: Any, contributor: Any, new_clip: Any, big_clip: Path
) -> None:
    data = big_clip.read_bytes()
    digest = {"Repr-Digest": repr_digest(data)}
    assert post(client, contributor, new_clip(), data, **digest).status_code == 201
    r = post(client, contributor, new_clip(), data, **digest)
    assert r.status_code == 409 and r.json()["error"] == "duplicate_media", r.text
    assert_stored(storage, hashlib.sha256(data).hexdigest(), data)


def test_a_tus_upload_on_s3_goes_straight_to_its_key(
    on_s3: S3Backend,
    s3_calls: list[tuple[str, str]],
    client: Any,
    contributor: Any,
    new_clip: Any,
    big_clip: Path,
) -> None:
    data = big_clip.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    code = new_clip()
    url = create(client, contributor, code, len(data))
    half = len(data) // 2
    assert patch(client, contributor, url, 0, data[:half]).status_code == 204
    assert patch(client, contributor, url, half, data[half:]).status_code == 204
    calls = list(s3_calls)
    no_staging(calls)
    assert {k for op, k in calls if k} == {original_key(sha)}
    assert "CompleteMultipartUpload" in [op for op, _ in calls]
    assert_stored("s3", sha, data)
    assert_recorded(code, sha, len(data), "tus")


def test_the_sweep_aborts_old_uploads_of_final_keys(on_s3: S3Backend, phone_clip: Path) -> None:
    """A process that died with the parts of ``originals/<sha256>`` sent: the upload is not
    an object (nothing to list or read), and the sweep aborts it (moto dates every
    multipart upload 2010, so any age counts as old)."""
    data = os.urandom(6 * 1024 * 1024)
    sha = hashlib.sha256(data).hexdigest()
    staged = on_s3.begin_original(len(data), sha256=sha)
    staged.feed(data)
    staged.drain()  # the parts are sent, the upload is not completed
    assert s3_leftovers(on_s3) == ([], [original_key(sha)])
    assert list(on_s3.list("originals/")) == [] and on_s3.stat(original_key(sha)) is None
    assert on_s3.sweep_staging(3600) == 1
    assert s3_leftovers(on_s3) == ([], [])
    staged.abort()  # nothing left to abort: no error


def test_a_direct_upload_under_object_lock_keeps_its_retention(
    on_s3: S3Backend, tmp_path: Path
) -> None:
    """The multipart upload of ``originals/<sha256>`` carries the Object Lock arguments;
    the retention is read back after the completion (moto drops it there) and holds."""
    on_s3.lock_mode, on_s3.retention_days = "GOVERNANCE", 30
    data = os.urandom(6 * 1024 * 1024)  # two parts
    f = tmp_path / "clip.bin"
    f.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    assert on_s3.put_original_file(f, sha, len(data)).created
    head = on_s3.client.head_object(Bucket=on_s3.bucket, Key=original_key(sha))
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ObjectLockRetainUntilDate"]
    with pytest.raises(ClientError):  # the locked version cannot be deleted
        on_s3.client.delete_object(
            Bucket=on_s3.bucket, Key=original_key(sha), VersionId=head["VersionId"]
        )
    assert s3_leftovers(on_s3) == ([], [])
