"""The storage contract (app/storage/backend.py), the same tests on both backends: local
disk and a real S3 server (moto_server on loopback)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from app.storage.backend import (
    StorageTooLarge,
    derivative_key,
    original_key,
    playback_key,
)
from app.storage.fixity import CHANGED, MISSING, OK
from app.storage.local import LocalBackend
from app.storage.s3 import S3Backend
from tests.storage.conftest import PART

pytestmark = pytest.mark.nodb

Backend = LocalBackend | S3Backend
SIZES = [1000, 2 * PART + 12345]  # one create-only PUT; a multipart upload of three parts


def chunks(data: bytes, n: int = 256 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), n):
        yield data[i : i + n]


def read_all(backend: Backend, key: str, start: int = 0, length: int | None = None) -> bytes:
    return b"".join(backend.read(key, start, length))


def overwrite_behind_our_back(backend: Backend, sha: str, data: bytes) -> None:
    if isinstance(backend, LocalBackend):
        path = backend.store.original_path(sha)
        path.chmod(0o644)
        path.write_bytes(data)
    else:
        backend.client.put_object(Bucket=backend.bucket, Key=original_key(sha), Body=data)


def delete_behind_our_back(backend: Backend, sha: str) -> None:
    if isinstance(backend, LocalBackend):
        backend.store.original_path(sha).unlink()
    else:
        backend.client.delete_object(Bucket=backend.bucket, Key=original_key(sha))


def leftovers(backend: Backend) -> list[str]:
    """What an upload left behind: staging objects and open multipart uploads (S3), or
    files in tmp/ (local)."""
    if isinstance(backend, LocalBackend):
        return [p.name for p in backend.store.tmp.iterdir()]
    ups = backend.client.list_multipart_uploads(Bucket=backend.bucket).get("Uploads", [])
    return [o.key for o in backend.list("staging/")] + [u["Key"] for u in ups]


@pytest.mark.parametrize("size", SIZES)
def test_put_an_original_keyed_by_its_sha256(backend: Backend, size: int) -> None:
    data = os.urandom(size)
    sha = hashlib.sha256(data).hexdigest()
    stored = backend.put_original(chunks(data), limit=size)
    assert (stored.sha256, stored.size, stored.created) == (sha, size, True)
    found = backend.stat(original_key(sha))
    assert found is not None and found.size == size
    assert read_all(backend, original_key(sha)) == data
    assert [o.key for o in backend.list("originals/")] == [original_key(sha)]
    assert leftovers(backend) == []


@pytest.mark.parametrize("size", SIZES)
def test_the_same_bytes_again_reuse_the_stored_original(backend: Backend, size: int) -> None:
    data = os.urandom(size)
    first = backend.put_original(chunks(data), limit=size)
    again = backend.put_original(chunks(data, 100_000), limit=size)
    assert first.created and not again.created
    assert again.sha256 == first.sha256
    assert [o.key for o in backend.list("originals/")] == [original_key(first.sha256)]
    assert leftovers(backend) == []


@pytest.mark.parametrize("size", SIZES)
def test_an_object_already_under_the_key_is_never_overwritten(backend: Backend, size: int) -> None:
    """Something else already sits at originals/<sha256> (a tampered store): the upload
    does not replace it (and fixity then reports it as changed)."""
    data = os.urandom(size)
    sha = hashlib.sha256(data).hexdigest()
    planted = b"not the evidence"
    if isinstance(backend, LocalBackend):
        path = backend.store.original_path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(planted)
    else:
        backend.client.put_object(Bucket=backend.bucket, Key=original_key(sha), Body=planted)
    with pytest.raises(RuntimeError, match="bytes, not"):
        backend.put_original(chunks(data), limit=size)  # same key, other size: refused loudly
    assert read_all(backend, original_key(sha)) == planted
    assert backend.check_original(sha, size).status == CHANGED
    assert leftovers(backend) == []


def test_too_large_keeps_nothing(backend: Backend) -> None:
    data = os.urandom(PART + 10)
    with pytest.raises(StorageTooLarge):
        backend.put_original(chunks(data), limit=PART)
    assert list(backend.list("originals/")) == []
    assert leftovers(backend) == []


def test_a_stream_that_breaks_off_keeps_nothing(backend: Backend) -> None:
    """The client goes away after two parts: the multipart upload is aborted on the store."""

    def broken() -> Iterator[bytes]:
        yield os.urandom(2 * PART + 1)
        raise ConnectionResetError("client gone")

    with pytest.raises(ConnectionResetError):
        backend.put_original(broken(), limit=10 * PART)
    assert list(backend.list("originals/")) == []
    assert leftovers(backend) == []


def test_range_reads(backend: Backend) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    stored = backend.put_original(chunks(data), limit=len(data))
    key = original_key(stored.sha256)
    assert read_all(backend, key, 10, 100) == data[10:110]
    assert read_all(backend, key, len(data) - 5) == data[-5:]
    assert (
        read_all(backend, key, 1024 * 1024 - 1, 2 * 1024 * 1024 + 3)
        == data[1024 * 1024 - 1 : 3 * 1024 * 1024 + 2]
    )
    assert read_all(backend, key, 0, 0) == b""
    with pytest.raises(FileNotFoundError):
        backend.read(original_key("0" * 64))


def test_derivatives_put_replace_read_list_delete(backend: Backend) -> None:
    sha = "ab" * 32
    gen = "c" * 32
    kf = derivative_key(sha, gen, "kf_0000.jpg")
    poster = derivative_key(sha, gen, "poster.jpg")
    backend.put_derivative(kf, b"one")
    backend.put_derivative(kf, b"two, replaced")
    backend.put_derivative(poster, b"poster")
    backend.put_derivative(playback_key(sha), b"mp4")
    assert read_all(backend, kf) == b"two, replaced"
    assert read_all(backend, kf, 5, 3) == b"rep"
    found = backend.stat(kf)
    assert found is not None and found.size == len(b"two, replaced")
    listed = sorted(o.key for o in backend.list(f"derivatives/{sha}/"))
    assert listed == sorted([kf, poster])
    assert [o.key for o in backend.list("public/")] == [playback_key(sha)]
    backend.delete_derivative(kf)
    backend.delete_derivative(kf)  # gone already: no error
    assert backend.stat(kf) is None
    with pytest.raises(FileNotFoundError):
        backend.read(kf)
    with pytest.raises(ValueError):
        backend.put_derivative(original_key(sha), b"x")  # originals are not derivatives
    with pytest.raises(ValueError):
        backend.delete_derivative(original_key(sha))
    with pytest.raises(ValueError):
        derivative_key(sha, "..", "x")


def test_stat_of_nothing(backend: Backend) -> None:
    assert backend.stat(original_key("1" * 64)) is None
    assert backend.stat(derivative_key("1" * 64, "x.jpg")) is None


def test_fixity_ok_changed_missing(backend: Backend) -> None:
    """moto accepts any bytes we are handed, so integrity is ours to check: fixity reads
    the whole object back and hashes it."""
    data = os.urandom(PART + 3)
    stored = backend.put_original(chunks(data), limit=len(data))
    sha = stored.sha256
    ok = backend.check_original(sha, len(data))
    assert (ok.status, ok.read, ok.actual) == (OK, len(data), sha)
    flipped = bytes([data[0] ^ 1]) + data[1:]
    overwrite_behind_our_back(backend, sha, flipped)
    changed = backend.check_original(sha, len(data))
    assert changed.status == CHANGED and changed.actual == hashlib.sha256(flipped).hexdigest()
    delete_behind_our_back(backend, sha)
    assert backend.check_original(sha, len(data)).status == MISSING
