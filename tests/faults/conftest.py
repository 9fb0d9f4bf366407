"""The fault suite's parts: the real server in a subprocess (started, killed, restarted),
a small tmpfs as the media store, a private PostgreSQL cluster to stop and start, and the
consistency check every test ends with."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.db import session_scope

MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """`archive serve`'s app under uvicorn in its own process (embedded workers off)."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **extra: str) -> Server:
        env = {**self.env, **extra}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                    "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                    "--http", "app.server:BufferedHttpToolsProtocol",
                ],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + self.log.read_text())
            time.sleep(0.1)

    def wait_dead(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture()
def server_factory(db_url: str, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Servers on the test's database and media store; all stopped at the end."""
    made: list[Server] = []

    def make(**env: str) -> Server:
        base = {
            **os.environ,
            "ARCHIVE_DATABASE_URL": os.environ["ARCHIVE_DATABASE_URL"],
            "ARCHIVE_VAR_DIR": str(tmp_path / "var"),
            "ARCHIVE_MEDIA_ROOT": str(get_settings().media_root),
            "ARCHIVE_SECRET_KEY": "fault-test-" + "x" * 40,
            "ARCHIVE_JOBS": "off",
            "ARCHIVE_DEMO_ON_FIRST_RUN": "false",
            "ARCHIVE_MIN_FREE_BYTES": str(MiB),
        }
        base.pop("ARCHIVE_TEST_FAULT", None)
        server = Server({**base, **env}, tmp_path / f"server-{len(made)}.log")
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture()
def small_disk(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 20 MiB tmpfs as the media store (the database stays elsewhere); a 1 MiB reserve."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill up needs root (CI runs as root)")
    root = Path(tempfile.mkdtemp(prefix="archive-full-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(root)], check=True)
    monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(root))
    monkeypatch.setenv("ARCHIVE_MIN_FREE_BYTES", str(MiB))
    get_settings.cache_clear()
    try:
        yield root
    finally:
        get_settings.cache_clear()
        subprocess.run(["umount", "-l", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def fill(root: Path, leave: int) -> Path:
    """Take all but ``leave`` bytes of ``root``'s filesystem with a filler file."""
    filler = root / "filler.bin"
    free = shutil.disk_usage(root).free
    with filler.open("ab") as fh:
        want = max(0, free - leave)
        block = b"\0" * MiB
        while want > 0:
            n = min(want, MiB)
            try:
                fh.write(block[:n])
                fh.flush()
            except OSError:
                break
            want -= n
    return filler


@contextmanager
def restarted() -> Iterator[TestClient]:
    """The app started afresh in this process: its lifespan runs the same start-up sweep
    as a restarted server (cheaper than another subprocess: the fault already happened)."""
    from app.main import create_app

    with TestClient(create_app(), base_url="http://testserver") as client:
        yield client


def findings() -> list[Any]:
    """The consistency check over the test's database and store (after the start-up sweep,
    when a test restarts the server)."""
    from app.ingest import consistency
    from app.storage import get_store

    with session_scope() as session:
        return consistency.check(session, get_store())


def counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from app.custody.models import CustodyEvent
    from app.ingest.models import Media
    from app.jobs.models import ProcessingJob

    with session_scope() as s:
        return {
            "media": s.scalar(select(func.count()).select_from(Media)) or 0,
            "jobs": s.scalar(select(func.count()).select_from(ProcessingJob)) or 0,
            "ingested": s.scalar(
                select(func.count())
                .select_from(CustodyEvent)
                .where(CustodyEvent.action == "media.ingested")
            )
            or 0,
        }


def ts_bytes(tmp: Path, size: int, seed: int = 0) -> bytes:
    """A valid MPEG-TS of about ``size`` bytes (a short clip repeated; ``seed`` changes
    the last packets, so two calls never give the same SHA-256)."""
    from tests.media import ffmpeg

    src = tmp / "seed.ts"
    if not src.exists():
        ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1", "-c:v", "libx264",
            "-preset", "ultrafast", "-g", "5", "-f", "mpegts", str(src),
        )  # fmt: skip
    block = src.read_bytes()
    block = block[: len(block) // 188 * 188]
    data = bytearray((block * (size // len(block) + 1))[: size // 188 * 188])
    data[-100:] = seed.to_bytes(4, "big") * 25  # payload of the last packet only
    return bytes(data)


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, on a free port: free to stop and start
    (the shared server on 5432 is never touched)."""

    data: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/archive"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D", str(self.data),
             "-w", "-t", "60", *args],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.ctl("-o", opts, "-l", str(self.data / "server.log"), "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")


@pytest.fixture()
def private_pg(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivatePostgres]:
    """A migrated, seeded private cluster, configured as the app's database (instead of
    the suite's: it comes after ``db_url``)."""
    from sqlalchemy import create_engine, text

    from app.db import reset_engine
    from app.migrate import upgrade
    from app.places.service import seed
    from tests.conftest import BACKEND

    if BACKEND != "postgres":
        pytest.skip("a PostgreSQL fault: it runs in the TEST_DB=postgres pass")
    if os.geteuid() != 0:
        pytest.skip("starting a private PostgreSQL as the postgres user needs root")
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql", pytrace=False)
    data = Path(tempfile.mkdtemp(prefix="archive-pg-"))
    shutil.chown(data, "postgres", "postgres")
    pg = PrivatePostgres(data, free_port(), found[-1].parent)
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(pg.bin / "initdb"), "-D", str(data),
         "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    pg.start()
    try:
        admin = create_engine(pg.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE archive"))
        admin.dispose()
        upgrade(pg.url)
        monkeypatch.setenv("ARCHIVE_DATABASE_URL", pg.url)
        get_settings.cache_clear()
        reset_engine()
        with session_scope() as session:
            seed(session)
        yield pg
    finally:
        reset_engine()
        with contextlib.suppress(subprocess.SubprocessError):
            pg.ctl("-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)
