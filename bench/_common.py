"""Small helpers shared by the benchmark scripts (timing, percentiles, a live server)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MACHINE_NOTE = "2 cores, shared and noisy: compare ratios measured in the same run, not times"

if __name__ == "__main__":  # `make bench` runs every bench/*.py; this file is only helpers
    sys.exit(0)


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not samples:
        return float("nan")
    s = sorted(samples)
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def p50_p95(samples: list[float]) -> tuple[float, float]:
    return percentile(samples, 50), percentile(samples, 95)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_reachable(admin_url: str = POSTGRES_ADMIN_URL) -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    import psycopg

    try:
        psycopg.connect(driver_url(admin_url), connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return str(exc).strip().splitlines()[0]
    return None


def driver_url(sqlalchemy_url: str) -> str:
    """postgresql+psycopg://... -> postgresql://... (what psycopg itself accepts)."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def recreate_postgres_db(name: str, admin_url: str = POSTGRES_ADMIN_URL) -> str:
    """Drop and create a scratch database; returns its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(driver_url(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres_db(name: str, admin_url: str = POSTGRES_ADMIN_URL) -> None:
    import psycopg

    with psycopg.connect(driver_url(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def app_server(
    env: dict[str, str],
    log_path: Path,
    *,
    timeout: float = 60,
    http: str = "buffered",
    wrap: list[str] | None = None,
) -> Iterator[str]:
    """Serve the real app with `archive serve` (uvicorn, one worker; ``http`` is its
    ARCHIVE_HTTP_PROTOCOL: "buffered", the default, or "uvicorn") on a free local port.

    Yields the base URL; the server is stopped (by its own pid) on exit. Its output goes to
    ``log_path`` so a full pipe can never stall it. ``wrap`` goes before the command (e.g.
    ``["taskset", "-c", "0"]``, which then execs the server under the same pid).
    """
    port = free_port()
    cmd = [*(wrap or []),
        sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    env = {**env, "ARCHIVE_HTTP_PROTOCOL": http}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited early; see {log_path}")
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start in {timeout}s; see {log_path}")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def server_pid(base: str) -> int:
    """The pid of the process listening on ``base``'s port (the server ``app_server`` runs)."""
    import psutil

    port = int(base.rsplit(":", 1)[1])
    for c in psutil.net_connections(kind="tcp"):
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
            return int(c.pid)
    raise RuntimeError("could not find the server process")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"
