"""A real S3 server for the storage tests: ``moto_server`` (moto[server]) on loopback, one
per session (and more for tests that kill theirs). Missing in CI: the run fails, as for
PostgreSQL and Redis (tests/conftest.py service_missing)."""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.storage.local import LocalBackend
from app.storage.s3 import S3Backend, make_client
from app.storage.store import MediaStore
from tests.conftest import service_missing

PART = 5 * 1024 * 1024  # S3's smallest part (moto enforces it too)
MOTO = Path(sys.executable).parent / "moto_server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MotoServer:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def start_moto(
    log_dir: Path, *, port: int | None = None, env: dict[str, str] | None = None
) -> MotoServer:
    if not MOTO.exists():
        service_missing(f"moto_server ({MOTO})", "pip install moto[server]")
    port = port or free_port()
    log = open(log_dir / f"moto-{port}-{uuid.uuid4().hex[:6]}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    log.close()
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return MotoServer(port, proc)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    service_missing(f"moto_server on port {port}", "pip install moto[server]")
    raise AssertionError("unreachable")


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test credentials for the loopback server (never a real account's)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


_shared: list[MotoServer] = []


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One server for the whole run. Test modules import this fixture, and pytest keeps a
    session-scoped instance per module that imports it, so the server itself is shared
    here (else every such module started, and kept, a moto_server of its own)."""
    if not _shared or _shared[0].proc.poll() is not None:
        _shared[:] = [start_moto(tmp_path_factory.mktemp("moto"))]
        atexit.register(_shared[0].stop)
    yield _shared[0]


def new_bucket(client: Any) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.fixture()
def s3_client(moto: MotoServer, aws_env: None) -> Any:
    return make_client(moto.url, "us-east-1")


@pytest.fixture()
def s3_backend(moto: MotoServer, s3_client: Any) -> S3Backend:
    return S3Backend(s3_client, new_bucket(s3_client), endpoint=moto.url, part_size=PART)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> LocalBackend | S3Backend:
    if request.param == "local":
        store = MediaStore(tmp_path / "media")
        store.ensure()
        return LocalBackend(store)
    b: S3Backend = request.getfixturevalue("s3_backend")
    return b
