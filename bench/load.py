"""Public browsing under load (issue 11 §1): many readers at once, on SQLite and PostgreSQL.

The real server (uvicorn with `archive serve`'s HTTP protocol, one worker, the embedded job
workers on) holds the demo archive (103 published records) and runs pinned to core 0
(``taskset``); the load generator, ``wrk`` (Debian's package: C, one thread, keep-alive
connections, LuaJIT status counting in ``bench/load.lua``), runs pinned to core 1, so the
client's own CPU never limits what is measured. A Python client (httpx) spends about as
much CPU per request as the server's cached path, and would be what the figures measured.

For each database and each concurrency (50 and 200 connections, 60 s each) it loads, one
after the other on the same server: ``/healthz`` (the reference: routing, a session,
``SELECT 1``), the Shiraz city page (HTML) and ``/api/v1/published`` (anonymous; the
anonymous rate limit is raised for the run, so this measures serving, not the limiter).
It reports requests, errors (connect, read, write, timeout), 5xx, p50/p95/p99 and
throughput, and the targets:

- 0 errors and 0 5xx;
- p95(page) <= 4 x p95(/healthz) at the same concurrency;
- throughput(page) >= 0.5 x throughput(/healthz);
- busy: while three 300 MB uploads (each paced over most of the window, as uploads over
  real links arrive) and their processing jobs (probe, keyframes, hashes) run in the
  server, the city page's p95 at 50 connections stays <= 2 x its idle value.

    flock /tmp/heavy.lock .venv/bin/python bench/load.py            # full run (~16 min)
    flock /tmp/heavy.lock .venv/bin/python bench/load.py --quick    # smoke run (~2 min)

Options: ``--db sqlite|postgres|both``, ``--seconds N``, ``--connections 50,200``,
``--no-busy``, ``--strict`` (exit 1 when a target is missed). PostgreSQL uses the scratch
database ``bench_load`` (``BENCH_POSTGRES_URL``), dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from _common import (
    MACHINE_NOTE,
    app_server,
    drop_postgres_db,
    postgres_reachable,
    recreate_postgres_db,
    verdict,
)
from ingest import make_file, make_unique

LUA = Path(__file__).with_name("load.lua")
SERVER_CORE, CLIENT_CORE = "0", "1"
TARGETS = {"healthz": "/healthz", "city": "/cities/shiraz", "published": "/api/v1/published"}


@dataclass
class Result:
    requests: int
    seconds: float
    errors: int
    status_5xx: int
    statuses: dict[str, int]
    p50: float
    p95: float
    p99: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(url: str, connections: int, seconds: int) -> Result:
    cmd = ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    cmd += ["--timeout", "30s", "-s", str(LUA), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    d = json.loads(line.removeprefix("BENCH_JSON "))
    statuses = {str(k): int(v) for k, v in d["statuses"].items()}
    return Result(
        requests=d["requests"],
        seconds=d["duration_us"] / 1e6,
        errors=d["connect"] + d["read"] + d["write"] + d["timeout"],
        status_5xx=sum(n for s, n in statuses.items() if int(s) >= 500),
        statuses=statuses,
        p50=d["p50_us"] / 1000,
        p95=d["p95_us"] / 1000,
        p99=d["p99_us"] / 1000,
    )


def setup(env: dict[str, str]) -> tuple[str, list[str]]:
    """Migrate, load the demo archive, and make a contributor token and three upload clips."""
    os.environ.update(env)
    from app.accounts.service import create_token, create_user
    from app.clips.demo import load_demo
    from app.clips.schemas import ClipCreate
    from app.clips.service import create
    from app.config import get_settings
    from app.db import reset_engine, session_scope
    from app.migrate import upgrade
    from app.places.service import seed

    get_settings.cache_clear()
    reset_engine()
    upgrade()
    with session_scope() as s:
        seed(s)
    with session_scope() as s:
        load_demo(s, only_if_empty=False)
        user, _ = create_user(
            s,
            email="bench@example.org",
            role="contributor",
            password="bench password long enough",
            actor="bench",
        )
        _, token = create_token(s, user, "bench", actor="bench")
        clip = ClipCreate(city="Shiraz", province="Fars", date="2019-11-16")
        codes = [create(s, clip, actor="bench", user_id=user.id).code for _ in range(3)]
    reset_engine()
    return token, codes


def paced_upload(base: str, token: str, code: str, path: Path, seconds: float) -> int:
    """POST ``path`` as the raw body, spread evenly over ``seconds`` (sendfile slices)."""
    u = urlsplit(base)
    size = path.stat().st_size
    head = [
        f"POST /api/v1/clips/{code}/media?filename=big.ts HTTP/1.1",
        f"Host: {u.netloc}",
        f"Content-Length: {size}",
        f"Authorization: Bearer {token}",
        "Content-Type: video/mp2t",
    ]
    step = 4 * 1024 * 1024
    start = time.monotonic()
    with socket.create_connection((u.hostname, u.port)) as sock, open(path, "rb") as fh:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        sent = 0
        while sent < size:
            sent += sock.sendfile(fh, sent, min(step, size - sent))
            ahead = start + seconds * sent / size - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        import http.client

        resp = http.client.HTTPResponse(sock)
        resp.begin()
        resp.read()
        return resp.status


def wait_processed(base: str, token: str, codes: list[str], timeout: float) -> float | None:
    """Seconds until every clip's processing is done (None: not within ``timeout``)."""
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() - start < timeout:
        states = [
            httpx.get(f"{base}/api/v1/clips/{c}/processing", headers=headers, timeout=30).json()
            for c in codes
        ]
        if all(s.get("state") in ("done", "failed") for s in states):
            return time.monotonic() - start
        time.sleep(0.5)
    return None


def busy_run(
    base: str, token: str, codes: list[str], files: list[Path], seconds: int, conns: int
) -> tuple[Result, dict[str, object]]:
    """The city page under load while three paced uploads (over the first half of the
    window) and then their processing jobs (probe, keyframes, hashes) run in the server."""
    statuses: list[int] = []
    ended: list[float] = []
    t0 = time.monotonic()

    def one(code: str, path: Path) -> None:
        statuses.append(paced_upload(base, token, code, path, seconds * 0.5))
        ended.append(time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=cf) for cf in zip(codes, files, strict=True)]
    for t in threads:
        t.start()
    result = wrk(base + TARGETS["city"], conns, seconds)
    for t in threads:
        t.join()
    done = wait_processed(base, token, codes, 600)
    marks: dict[str, object] = {
        "uploads": sorted(statuses),
        "uploads_done_s": round(max(ended), 1) if ended else None,
        "jobs_done_s": None if done is None else round(time.monotonic() - t0, 1),
        "window_s": seconds,
    }
    return result, marks


def run_db(name: str, url: str, args: argparse.Namespace, tmp: Path, files: list[Path]) -> dict:
    env = {
        "ARCHIVE_DATABASE_URL": url,
        "ARCHIVE_VAR_DIR": str(tmp / f"var-{name}"),
        "ARCHIVE_MEDIA_ROOT": str(tmp / f"media-{name}"),
        "ARCHIVE_SECRET_KEY": "bench-secret-" + "x" * 40,
        "ARCHIVE_JOBS": "embedded",
        "ARCHIVE_DEMO_ON_FIRST_RUN": "false",
        "ARCHIVE_PARTNER_ANONYMOUS_RATE_PER_MINUTE": "100000000",
    }
    token, codes = setup(env)
    out: dict = {"cases": {}}
    log = tmp / f"server-{name}.log"
    with app_server(env, log, wrap=["taskset", "-c", SERVER_CORE]) as base:
        for path in TARGETS.values():  # warm up (templates, statements, caches)
            wrk(base + path, 10, 2)
        for conns in args.connections:
            for target, path in TARGETS.items():
                r = wrk(base + path, conns, args.seconds)
                out["cases"][(target, conns)] = r
                print(f"  {name} {target:9} c={conns:3}: {fmt(r)}", flush=True)
        if files:
            conns = args.connections[0]
            r, marks = busy_run(base, token, codes, files, args.seconds, conns)
            out["busy"] = (r, marks, conns)
            print(f"  {name} busy city c={conns}: {fmt(r)} {marks}", flush=True)
    lines = log.read_text(errors="replace").splitlines()
    out["log_errors"] = sum(1 for line in lines if "Error" in line)
    out["log_locked"] = sum(1 for line in lines if "database is locked" in line)
    out["log_pool"] = sum(1 for line in lines if "QueuePool limit" in line)
    return out


def fmt(r: Result) -> str:
    return (
        f"{r.requests} req, {r.rps:.0f}/s, errors {r.errors}, 5xx {r.status_5xx}, "
        f"p50 {r.p50:.1f} p95 {r.p95:.1f} p99 {r.p99:.1f} ms, statuses {r.statuses}"
    )


def report(name: str, out: dict, conns_list: list[int]) -> bool:
    ok = True
    print(f"\n{name}: ms; ratio p95 = page p95 / healthz p95 (<= 4); thr = page / healthz (>= 0.5)")
    print(
        "| case | conns | requests | req/s | errors | 5xx | p50 | p95 | p99 "
        "| p95 ratio | thr ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for conns in conns_list:
        ref = out["cases"][("healthz", conns)]
        for target in TARGETS:
            r = out["cases"][(target, conns)]
            clean = r.errors == 0 and r.status_5xx == 0 and r.requests > 0
            ok &= clean
            ratio = thr = ""
            if target != "healthz":
                p95r = r.p95 / ref.p95 if ref.p95 else float("inf")
                thrr = r.rps / ref.rps if ref.rps else 0.0
                ok &= p95r <= 4 and thrr >= 0.5
                ratio, thr = f"{p95r:.2f}", f"{thrr:.2f}"
            print(
                f"| {target} | {conns} | {r.requests} | {r.rps:.0f} | {r.errors} | "
                f"{r.status_5xx} | {r.p50:.1f} | {r.p95:.1f} | {r.p99:.1f} | {ratio} | {thr} |"
            )
    if "busy" in out:
        r, marks, conns = out["busy"]
        idle = out["cases"][("city", conns)]
        busy_ok = r.errors == 0 and r.status_5xx == 0 and r.requests > 0
        busy_ok &= r.p95 <= 2 * idle.p95
        ok &= busy_ok and all(s == 201 for s in marks["uploads"])  # type: ignore[union-attr]
        print(
            f"busy (3 x 300 MB uploads + jobs), city page c={conns}: p95 {r.p95:.1f} ms vs idle "
            f"{idle.p95:.1f} ms = {r.p95 / max(idle.p95, 1e-9):.2f} x (<= 2) {verdict(busy_ok)}; "
            f"{r.rps:.0f}/s, errors {r.errors}, 5xx {r.status_5xx}; uploads {marks['uploads']}, "
            f"uploads done {marks['uploads_done_s']} s and jobs done {marks['jobs_done_s']} s "
            f"after the start of the {marks['window_s']} s window"
        )
    print(
        f"server log lines with 'Error': {out['log_errors']}, 'database is locked': "
        f"{out['log_locked']}, 'QueuePool limit': {out['log_pool']}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s per case, 64 MB uploads")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--connections", default="50,200")
    parser.add_argument("--no-busy", action="store_true")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    args.seconds = args.seconds or (5 if args.quick else 60)
    args.connections = [int(c) for c in args.connections.split(",")]
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        print("bench/load.py needs wrk and taskset: sudo apt-get install -y wrk util-linux")
        return 1 if args.strict else 0
    print(f"{MACHINE_NOTE}; load average at start: {os.getloadavg()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    ok = True
    try:
        files: list[Path] = []
        if not args.no_busy:
            size = (64 if args.quick else 300) * 1024 * 1024
            first = tmp / "up0.ts"
            make_file(first, size)
            files = [first]
            for i in (1, 2):
                files.append(tmp / f"up{i}.ts")
                shutil.copyfile(first, files[-1])
            for i, f in enumerate(files):
                make_unique(f, i + 1)
        dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
        for name in dbs:
            if name == "postgres":
                reason = postgres_reachable()
                if reason:
                    print(f"PostgreSQL skipped: {reason}")
                    continue
                url = recreate_postgres_db("bench_load")
            else:
                url = f"sqlite:///{tmp / 'load.db'}"
            try:
                out = run_db(name, url, args, tmp, files)
            finally:
                if name == "postgres":
                    from app.db import reset_engine

                    reset_engine()
                    drop_postgres_db("bench_load")
            ok &= report(name, out, args.connections)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()}; all targets {verdict(ok)}")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
