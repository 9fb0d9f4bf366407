"""put_derivative_file and delete_prefix (app/storage/backend.py), the same tests on local
disk and a real S3 server (moto_server): a file larger than a part goes up in parts and
reads back the same; a folder prefix removes that folder only, never an original."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.storage.backend import derivative_key, original_key, preview_key, public_key
from app.storage.local import LocalBackend
from app.storage.s3 import S3Backend
from app.storage.store import MediaStore
from tests.storage.conftest import PART

pytestmark = pytest.mark.nodb

Backend = LocalBackend | S3Backend
SHA = "ab" * 32
GEN = "0123456789abcdef" * 2


def _read(backend: Backend, key: str) -> bytes:
    return b"".join(backend.read(key))


@pytest.mark.parametrize("size", [0, 1000, 2 * PART + 777])  # PUT, PUT, three parts
def test_a_file_as_a_derivative_reads_back_the_same(
    backend: Backend, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    src = tmp_path / "made.mp4"
    src.write_bytes(data)
    key = public_key(SHA, "playback.mp4")
    backend.put_derivative_file(key, src)
    assert _read(backend, key) == data
    src.write_bytes(data[: size // 2])  # replaced freely
    backend.put_derivative_file(key, src)
    assert _read(backend, key) == data[: size // 2]
    if isinstance(backend, S3Backend):
        uploads = backend.client.list_multipart_uploads(Bucket=backend.bucket)
        assert uploads.get("Uploads", []) == []  # every multipart upload completed


def test_a_file_already_in_place_is_not_copied(tmp_path: Path) -> None:
    backend = LocalBackend(MediaStore(tmp_path))
    key = derivative_key(SHA, GEN, "poster.jpg")
    backend.put_derivative(key, b"jpeg")
    path = backend.path(key)
    inode = path.stat().st_ino
    backend.put_derivative_file(key, path)
    assert path.stat().st_ino == inode and path.read_bytes() == b"jpeg"


def test_delete_prefix_removes_one_folder_and_never_originals(backend: Backend) -> None:
    other = "f" * 32
    keys = [
        derivative_key(SHA, GEN, "kf_0000.jpg"),
        derivative_key(SHA, GEN, "pdq_dct.npz"),
        derivative_key(SHA, other, "kf_0000.jpg"),
        preview_key(SHA, "playback.mp4"),
        public_key(SHA, "blurred", GEN, "poster.jpg"),
    ]
    for k in keys:
        backend.put_derivative(k, k.encode())
    assert backend.delete_prefix(f"derivatives/{SHA}/{GEN}/") == 2
    assert [backend.stat(k) is not None for k in keys] == [False, False, True, True, True]
    assert backend.delete_prefix(f"derivatives/{SHA}/preview/") == 1
    assert backend.delete_prefix(f"public/{SHA}/blurred/") == 1
    assert backend.delete_prefix(f"public/{SHA}/blurred/") == 0  # gone: no error
    assert _read(backend, keys[2]) == keys[2].encode()
    stored = backend.put_original(iter([b"evidence"]), limit=100)
    for bad in (
        "originals/",
        f"originals/{stored.sha256}/",
        f"derivatives/{SHA}/{GEN}",  # not a folder
        "derivatives/",
        f"derivatives/{SHA}/../",
    ):
        with pytest.raises(ValueError):
            backend.delete_prefix(bad)
    assert _read(backend, original_key(stored.sha256)) == b"evidence"
