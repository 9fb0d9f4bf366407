"""Several nodes, no shared disk: two API server processes (``archive serve``) and one Celery
worker (``archive worker``) sharing PostgreSQL, Redis and an S3 server (moto_server), each
with an empty ARCHIVE_MEDIA_ROOT and ARCHIVE_VAR_DIR of its own.

The ``cluster`` fixture (one per run, shared by the tests here) starts them all:
moto_server, a fresh PostgreSQL database migrated with ``archive migrate``, a FLUSHDB'd
Redis database (TEST_REDIS_URL), a team made in that database, then the three processes,
and waits for both nodes' /healthz and the worker's "ready".
Every process runs in a session (process group) of its own and is killed with its group at
teardown; the logs are files, and their tails are added to the report of a failing test.

Needs PostgreSQL, Redis and moto_server: missing outside CI they skip, in CI they fail the
run (tests/conftest.py ``service_missing``). It runs in the PostgreSQL pass of ``make test``
only (TEST_DB=postgres): the SQLite pass skips it, so it runs once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import PROJECT_ROOT
from app.custody.keys import init_key
from tests.conftest import BACKEND, _create_pg_database, _drop_pg_database, service_missing
from tests.media import X264, ffmpeg
from tests.storage.conftest import MotoServer, free_port, new_bucket, start_moto

PASSWORD = "correct horse battery staple"
START_TIMEOUT = 60.0
KEY_RATE = 5  # the partner key's requests per minute (the rate-limit test)
ANONYMOUS_RATE = 4  # requests per minute per address without a key
LOGIN_FREE_FAILURES = 3  # failed log-ins in a row before an account is locked

_CURRENT: list[Cluster] = []  # the running cluster, for the failure report


@dataclass
class Proc:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: killed with its children
            cwd=PROJECT_ROOT,
        )
        log.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(20)
        # SIGKILL for what is left of the group (a worker's pool children, or all of it)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(10)

    def tail(self, chars: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return text[-chars:]


@dataclass
class Node:
    """One API server process, with its own empty directories."""

    name: str
    port: int
    media_root: Path
    var_dir: Path
    proc: Proc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)


@dataclass
class Member:
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Cluster:
    a: Node
    b: Node
    worker: Proc
    worker_media_root: Path
    env: dict[str, str]
    bucket: str
    moto: MotoServer
    redis_url: str
    team: dict[str, Member] = field(default_factory=dict)
    partner_key: str = ""

    @property
    def nodes(self) -> list[Node]:
        return [self.a, self.b]

    def s3(self) -> Any:
        """A client of the cluster's S3 server (to look into the bucket)."""
        return s3_client(self.moto.url)

    def logs(self) -> str:
        parts = []
        for p in [self.a.proc, self.b.proc, self.worker]:
            state = "running" if p.alive() else f"exited {p.proc and p.proc.returncode}"
            parts.append(f"--- {p.name} ({state}) {p.log_path} ---\n{p.tail()}")
        return "\n".join(parts)


def s3_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    return session.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def archive_argv(*args: str) -> list[str]:
    """``archive ARGS`` with this checkout's code (not whichever the venv's script imports)."""
    return [sys.executable, "-m", "app.cli", *args]


def run_archive(args: list[str], env: dict[str, str], *, stdin: str = "") -> str:
    r = subprocess.run(
        archive_argv(*args),
        env=env,
        cwd=PROJECT_ROOT,
        input=stdin.encode(),
        capture_output=True,
        timeout=120,
    )
    if r.returncode != 0:
        raise AssertionError(
            f"archive {' '.join(args)} failed ({r.returncode}):\n"
            f"{r.stdout.decode(errors='replace')}\n{r.stderr.decode(errors='replace')}"
        )
    return r.stdout.decode()


def node_env(base: dict[str, str], node: Node) -> dict[str, str]:
    return {
        **base,
        "ARCHIVE_MEDIA_ROOT": str(node.media_root),
        "ARCHIVE_VAR_DIR": str(node.var_dir),
        "ARCHIVE_LOG_KEY_PATH": str(node.var_dir / "custody-log.key"),
    }


def redis_test_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        service_missing("Redis", "TEST_REDIS_URL")
    assert url is not None
    import redis

    try:
        client = redis.Redis.from_url(url)
        client.ping()
        client.flushdb()  # this run's rate limits, throttles and queue start empty
        client.close()
    except redis.RedisError as exc:
        service_missing(f"Redis at {url} ({type(exc).__name__})", "TEST_REDIS_URL")
    return url


# Run inside the cluster's environment: the team (through the account service) and a
# partner key of KEY_RATE requests per minute.
_MAKE_TEAM = """
import json, sys
from app.accounts.service import create_token, create_user
from app.partners.service import create_key, get_or_create_partner
from app.tasks import session_scope
out = {}
for name, role, can_publish in json.loads(sys.argv[1]):
    with session_scope() as session:
        user, _ = create_user(session, email=f"{name}@example.org", role=role,
                              password=sys.argv[2], can_publish=can_publish, actor="test")
        _, token = create_token(session, user, "multinode", actor="test")
        out[name] = {"email": user.email, "role": role, "token": token}
with session_scope() as session:
    partner = get_or_create_partner(session, "Newsroom")
    _, out["partner_key"] = create_key(session, partner, ["read"], int(sys.argv[3]), actor="test")
print(json.dumps(out))
"""
TEAM = [
    ("uploader", "contributor", False),
    ("r1", "reviewer", False),
    ("r2", "reviewer", False),
    ("publisher", "reviewer", True),
]


def wait_healthy(node: Node, timeout: float = START_TIMEOUT) -> None:
    end = time.monotonic() + timeout
    last = ""
    while time.monotonic() < end:
        if not node.proc.alive():
            break
        try:
            r = httpx.get(f"{node.url}/healthz", timeout=2.0)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise AssertionError(f"{node.name} not healthy ({last})")


def wait_worker_ready(worker: Proc, timeout: float = START_TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and worker.alive():
        if " ready." in worker.tail(20_000):  # Celery's "celery@host ready."
            return
        time.sleep(0.2)
    raise AssertionError("the worker did not report ready")


@pytest.fixture(scope="session")
def cluster(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if BACKEND != "postgres":
        pytest.skip("the multi-node test runs in the PostgreSQL pass (TEST_DB=postgres)")
    redis_url = redis_test_url()
    base = tmp_path_factory.mktemp("multinode")
    moto = start_moto(base)
    db_name = f"archive_mn_{uuid.uuid4().hex[:10]}"
    db_url = _create_pg_database(pg_server_url, db_name)
    procs: list[Proc] = []
    cluster: Cluster | None = None
    try:
        creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        bucket = new_bucket(s3_client(moto.url))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARCHIVE_", "AWS_"))}
        env.update(
            {
                **creds,
                "PYTHONPATH": str(PROJECT_ROOT),
                "ARCHIVE_DATABASE_URL": db_url,
                "ARCHIVE_SECRET_KEY": "multinode-secret-" + "y" * 40,  # the same on every node
                "ARCHIVE_DEMO_ON_FIRST_RUN": "false",
                "ARCHIVE_REQUIRE_2FA_FOR": "",
                "ARCHIVE_JOBS": "celery",
                "ARCHIVE_JOB_WORKERS": "1",
                "ARCHIVE_JOB_HEARTBEAT_SECONDS": "2",
                "ARCHIVE_REDIS_URL": redis_url,
                "ARCHIVE_CELERY_QUEUE": f"archive-mn-{uuid.uuid4().hex[:8]}",
                "ARCHIVE_RATE_LIMIT_REDIS_URL": redis_url,
                "ARCHIVE_STORAGE": "s3",
                "ARCHIVE_S3_ENDPOINT": moto.url,
                "ARCHIVE_S3_BUCKET": bucket,
                "ARCHIVE_S3_REGION": "us-east-1",
                "ARCHIVE_S3_PART_SIZE": str(5 * 1024 * 1024),
                "ARCHIVE_THREADS": "8",  # a small database pool per node
                "ARCHIVE_DUPLICATES_REFRESH_SECONDS": "0.5",
                "ARCHIVE_PARTNER_ANONYMOUS_RATE_PER_MINUTE": str(ANONYMOUS_RATE),
                "ARCHIVE_LOGIN_MAX_FAILURES": str(LOGIN_FREE_FAILURES),
                "ARCHIVE_LOGIN_LOCKOUT_SECONDS": "60",
            }
        )
        nodes = []
        for name in ("a", "b"):
            root = base / f"node-{name}"
            port = free_port()
            proc = Proc(f"node {name.upper()} :{port}", [], base / f"node-{name}.log")
            nodes.append(Node(name.upper(), port, root / "media", root / "var", proc))
            procs.append(proc)
        a, b = nodes
        worker = Proc("worker", archive_argv("worker", "--concurrency", "1"), base / "worker.log")
        worker_node = Node("worker", 0, base / "worker" / "media", base / "worker" / "var", worker)
        for n in (a, b, worker_node):
            n.media_root.mkdir(parents=True)
            n.var_dir.mkdir(parents=True)
        # one custody log key for the whole archive (a secret every node is given)
        init_key(a.var_dir / "custody-log.key")
        for n in (b, worker_node):
            shutil.copy2(a.var_dir / "custody-log.key", n.var_dir / "custody-log.key")
        run_archive(["migrate"], node_env(env, a))
        procs.append(worker)
        cluster = Cluster(a, b, worker, worker_node.media_root, env, bucket, moto, redis_url)
        _CURRENT.append(cluster)
        for n in (a, b):
            n.proc.argv = archive_argv("serve", "--port", str(n.port))
            n.proc.start(node_env(env, n))
        worker.start(node_env(env, worker_node))
        made = json.loads(_make_team(node_env(env, a)))  # while they start
        cluster.partner_key = made.pop("partner_key")
        cluster.team = {k: Member(**v) for k, v in made.items()}
        for n in (a, b):
            wait_healthy(n)
        wait_worker_ready(worker)
        yield cluster
    except AssertionError as exc:
        tails = cluster.logs() if cluster else "\n".join(p.tail() for p in procs)
        raise AssertionError(f"{exc}\n{tails}") from None
    finally:
        if cluster in _CURRENT:
            _CURRENT.remove(cluster)
        for p in procs:  # all at once: each takes a few seconds to shut down
            p.terminate()
        for p in procs:
            p.stop()
        moto.stop()
        _drop_pg_database(pg_server_url, db_name)


def _make_team(env: dict[str, str]) -> str:
    r = subprocess.run(
        [sys.executable, "-c", _MAKE_TEAM, json.dumps(TEAM), PASSWORD, str(KEY_RATE)],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=120,
    )
    if r.returncode != 0:
        raise AssertionError(f"making the team failed:\n{r.stderr.decode(errors='replace')}")
    return r.stdout.decode()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """A 6 s clip of two shots (160x120), and the same video re-encoded smaller and worse."""
    d = tmp_path_factory.mktemp("multinode-clips")
    first, second = d / "first.mp4", d / "second.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=3",
        "-f", "lavfi", "-i", "mandelbrot=s=160x120:r=10:end_pts=3:maxiter=64",
        "-filter_complex",
        "[0:v]trim=duration=3,setpts=PTS-STARTPTS[a];[1:v]trim=duration=3,setpts=PTS-STARTPTS[b];"
        "[a][b]concat=n=2:v=1:a=0[v]",
        "-map", "[v]", "-t", "6", *X264, "-g", "10", str(first),
    )  # fmt: skip
    ffmpeg("-i", str(first), "-vf", "scale=144:108", *X264, "-crf", "32", str(second))
    return first.read_bytes(), second.read_bytes()


@pytest.fixture(scope="session")
def unrelated_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """3 s of another picture (nothing like ``clips``)."""
    out = tmp_path_factory.mktemp("multinode-unrelated") / "unrelated.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "cellauto=s=160x120:r=10:rule=110:seed=3", "-t", "3", *X264, str(out)
    )
    return out.read_bytes()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed and _CURRENT:
        report.sections.append(("multi-node logs", _CURRENT[-1].logs()))
