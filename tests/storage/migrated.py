"""An archive built on local disk and moved to S3 with ``archive storage migrate --to s3``
(the way an existing archive gets there), for the migration, download, bag and reconcile
tests on S3. Use from any test module::

    from tests.storage.migrated import *  # noqa: F403  (the fixtures in __all__)

- ``local_archive``: two clips uploaded and processed on the local backend (original,
  keyframes, thumbnails, poster, contact sheet), the first with a real public playback
  copy; an S3 bucket named in ARCHIVE_S3_* while ARCHIVE_STORAGE is still ``local``.
- ``stored_archive``: parametrised: ``local_archive`` as it is, or ``migrated``.
- ``migrated``: the same, migrated, and the app switched to ARCHIVE_STORAGE=s3 with an
  empty ARCHIVE_MEDIA_ROOT: every byte served comes from the bucket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from app.cli import app as cli
from app.config import get_settings
from app.jobs import runner
from app.public.playback import make_playback_copy
from app.storage import configured, derivatives
from app.storage.s3 import S3Backend, make_client
from app.storage.store import get_store
from tests.ingest.conftest import media_dir, new_clip, other_clip, phone_clip, upload
from tests.storage.conftest import MotoServer, moto, new_bucket

__all__ = [
    "Archive",
    "local_archive",
    "media_dir",
    "migrate",
    "migrated",
    "moto",
    "new_clip",
    "other_clip",
    "phone_clip",
    "stored_archive",
    "use_s3",
]


@dataclass
class Archive:
    codes: list[str]
    shas: list[str]
    files: list[Path]  # the uploaded files (the originals' bytes)
    bucket: str
    client: Any  # boto3 S3 client on the test server
    moto: MotoServer
    local_root: Path

    def object(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def keys(self, prefix: str = "") -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return {o["Key"] for p in pages for o in p.get("Contents", [])}


def _reset() -> None:
    get_settings.cache_clear()
    configured._cache.clear()


def migrate(*args: str) -> Result:
    return CliRunner().invoke(cli, ["storage", "migrate", "--to", "s3", *args])


def use_s3(monkeypatch: pytest.MonkeyPatch, archive: Archive, root: Path) -> S3Backend:
    """From now on the app runs on the archive's bucket, with ``root`` as MEDIA_ROOT."""
    root.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("ARCHIVE_STORAGE", "s3")
    monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(root))
    _reset()
    backend = configured.get_backend()
    assert isinstance(backend, S3Backend) and backend.bucket == archive.bucket
    return backend


@pytest.fixture()
def local_archive(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    other_clip: Path,
    moto: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Archive]:
    codes, shas = [], []
    for f in (phone_clip, other_clip):
        code = new_clip(title_en="Night march on the bridge")
        r = upload(client, contributor, code, f.read_bytes(), name="VID_0001.mp4")
        assert r.status_code == 201, r.text
        codes.append(code)
        shas.append(r.json()["sha256"])
    for _ in range(20):
        if not runner.execute("test-worker"):
            break
    store = get_store()
    make_playback_copy(
        store.original_path(shas[0]), derivatives.playback_path(store.root, shas[0]), timeout=60
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3 = make_client(moto.url, "us-east-1")
    bucket = new_bucket(s3)
    monkeypatch.setenv("ARCHIVE_S3_ENDPOINT", moto.url)
    monkeypatch.setenv("ARCHIVE_S3_BUCKET", bucket)
    monkeypatch.setenv("ARCHIVE_S3_REGION", "us-east-1")
    monkeypatch.setenv("ARCHIVE_S3_PART_SIZE", str(5 * 1024 * 1024))
    _reset()
    assert get_settings().storage == "local"
    for sha, f in zip(shas, (phone_clip, other_clip), strict=True):
        assert hashlib.sha256(f.read_bytes()).hexdigest() == sha
    yield Archive(codes, shas, [phone_clip, other_clip], bucket, s3, moto, store.root)
    _reset()


@pytest.fixture()
def migrated(
    local_archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Archive]:
    result = migrate()
    assert result.exit_code == 0, result.output
    node = tmp_path / "node-b"
    use_s3(monkeypatch, local_archive, node)
    yield local_archive
    assert not (node / "originals").exists() or not any((node / "originals").rglob("*"))
    _reset()


@pytest.fixture(params=["local", "s3"])
def stored_archive(
    request: pytest.FixtureRequest, local_archive: Archive, tmp_path: Path
) -> Iterator[Archive]:
    """The archive on the local backend as built, or migrated to S3 (parametrised)."""
    if request.param == "s3":
        yield request.getfixturevalue("migrated")
    else:
        yield local_archive
