"""The archive on S3 in tests: a real S3 server (``moto_server``, started once per session
by tests/storage/conftest.py ``moto``) and fixtures that switch the whole app to
``ARCHIVE_STORAGE=s3`` with a fresh bucket.

Use from any test module::

    from tests.s3 import moto, on_s3, storage, other_node  # noqa: F401  (fixtures)

- ``on_s3``: the app on S3 (a new bucket, test credentials, an empty ``MEDIA_ROOT``); yields
  the ``S3Backend``.
- ``storage``: parametrised ``"local"`` / ``"s3"``: the same test on both backends; yields
  the backend name.
- ``other_node()``: from now on this process acts as another node: ``MEDIA_ROOT`` is a new
  empty directory (no shared disk). On the local backend that would lose the media, so it is
  only for S3 tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.config import get_settings
from app.storage import configured
from app.storage.s3 import S3Backend, make_client
from tests.storage.conftest import MotoServer, moto, new_bucket

__all__ = ["moto", "on_s3", "other_node", "storage", "switch_to_s3"]


def _reset() -> None:
    get_settings.cache_clear()
    configured._cache.clear()


def switch_to_s3(
    monkeypatch: pytest.MonkeyPatch, server: MotoServer, media_root: Path
) -> S3Backend:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = make_client(server.url, "us-east-1")
    bucket = new_bucket(client)
    media_root.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("ARCHIVE_STORAGE", "s3")
    monkeypatch.setenv("ARCHIVE_S3_ENDPOINT", server.url)
    monkeypatch.setenv("ARCHIVE_S3_BUCKET", bucket)
    monkeypatch.setenv("ARCHIVE_S3_REGION", "us-east-1")
    monkeypatch.setenv("ARCHIVE_S3_PART_SIZE", str(5 * 1024 * 1024))  # S3's smallest part
    monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(media_root))
    _reset()
    backend = configured.get_backend()
    assert isinstance(backend, S3Backend)
    return backend


@pytest.fixture()
def on_s3(
    app: object, moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3Backend]:
    """The app (already built by the ``app`` fixture) now stores everything in a new bucket."""
    backend = switch_to_s3(monkeypatch, moto, tmp_path / "node-a")
    yield backend
    _reset()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "s3":
        request.getfixturevalue("on_s3")
    yield request.param


@pytest.fixture()
def other_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Path]]:
    counter = itertools.count(1)

    def switch() -> Path:
        assert get_settings().storage == "s3", "other_node() is for the S3 backend only"
        root = tmp_path / f"node-{next(counter)}-elsewhere"
        root.mkdir()
        monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(root))
        _reset()
        return root

    yield switch
    _reset()
