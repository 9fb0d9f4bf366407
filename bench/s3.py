"""Uploads and fixity on the S3 backend: the real server against a real S3 server.

    .venv/bin/python bench/s3.py            # 1 GiB
    .venv/bin/python bench/s3.py --quick    # 256 MiB
    .venv/bin/python bench/s3.py --runs 3   # more rounds (medians reported)

Starts its own ``moto_server`` and a bucket, and the archive server (``archive serve``,
SQLite in a temporary var dir, ``ARCHIVE_STORAGE=s3``, jobs off) whose S3 endpoint is a
**counting TCP proxy** in front of moto: every byte the server (or the peer) sends to the
store passes through it and is counted, so "bytes sent to the store" is measured.

The file is the valid MPEG-TS of bench/ingest.py (a noisy clip repeated; it passes
ffprobe), changed in one null packet per round so no upload is a duplicate. Each round:

- **API**: the file POSTed to ``/api/v1/clips/<code>/media`` with sendfile(2) (the cheapest
  client, bench/ingest.py), while the server's RSS is sampled from /proc every 20 ms: once
  without ``Repr-Digest`` (staging key + server-side copy) and once with it (the parts go
  straight to ``originals/<sha256>``; the main figure);
- **peer**: boto3 ``upload_file`` of the same bytes to the same moto through the same
  proxy (``TransferConfig`` with the server's part size; boto3's own threads), from this
  process;
- **fixity**: ``S3Backend.check_original`` of the stored original vs a plain boto3
  streaming ``get_object`` + hashlib.sha256 of the same object, alternated.

Reports (medians over the rounds): API time / boto3 time (target <= 1.3), the server's RSS
growth during the upload (target <= 64 MB), bytes sent to the store / file size (target
1.0 plus protocol overhead: the copy from staging to ``originals/<sha256>`` happens inside
the store), and boto3 get time / check_original time (target >= 0.9). Prints ``uptime``
before and after: the machine is shared (2 cores), so the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ingest
from _common import MACHINE_NOTE, app_server, free_port, server_pid, verdict
from ingest import make_file, make_unique, proc_cpu, proc_status, send_sendfile, setup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MOTO = Path(sys.executable).parent / "moto_server"
BUF = 1024 * 1024


# -- the counting proxy (its own process, so its copying does not share our GIL) ----------
class _Http:
    """Finds the message heads in one direction of an HTTP/1.1 connection (bodies by
    Content-Length; anything chunked stops the parsing, never the forwarding)."""

    def __init__(self, on_head: Any) -> None:
        self.on_head = on_head  # (first line, headers) -> length of the body that follows
        self.head = b""
        self.skip = 0
        self.broken = False

    def feed(self, view: memoryview) -> None:
        i, n = 0, len(view)
        while i < n and not self.broken:
            if self.skip:
                k = min(self.skip, n - i)
                self.skip -= k
                i += k
                continue
            taken = min(n, i + 16384) - i
            before = len(self.head)
            self.head += bytes(view[i : i + taken])
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                i += taken
                self.broken = len(self.head) > 65536
                continue
            i += end + 4 - before
            lines = self.head[:end].decode("latin-1").split("\r\n")
            self.head = b""
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
            }
            if "chunked" in headers.get("transfer-encoding", ""):
                self.broken = True
            self.skip = self.on_head(lines[0], headers)


def _pump(
    src: socket.socket, dst: socket.socket, counter: Any, done: threading.Event, http: _Http
) -> None:
    buf = bytearray(BUF)
    view = memoryview(buf)
    try:
        while n := src.recv_into(buf):
            dst.sendall(view[:n])
            with counter.get_lock():
                counter.value += n
            http.feed(view[:n])
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        if done.is_set():  # the other direction finished first: close both
            src.close()
            dst.close()
        done.set()


def _connection(client: socket.socket, store: socket.socket, up: Any, down: Any, log: Any) -> None:
    """Forward both ways; log each request: sent at, answered at, method, path, status."""
    pending: list[tuple[float, str, str]] = []
    lock = threading.Lock()

    def request(line: str, headers: dict[str, str]) -> int:
        method, path = (line.split() + ["", ""])[:2]
        with lock:
            pending.append((time.time(), method, path))
        return int(headers.get("content-length", 0) or 0)

    def response(line: str, headers: dict[str, str]) -> int:
        status = (line.split() + ["", ""])[1]
        if status.startswith("1"):
            return 0  # 100 Continue: the real answer follows
        with lock:
            sent, method, path = pending.pop(0) if pending else (0.0, "?", "?")
            log.write(f"{sent:.6f} {time.time():.6f} {method} {path} {status}\n")
            log.flush()
        return 0 if method == "HEAD" else int(headers.get("content-length", 0) or 0)

    done = threading.Event()
    args_up = (client, store, up, done, _Http(request))
    threading.Thread(target=_pump, args=args_up, daemon=True).start()
    threading.Thread(
        target=_pump, args=(store, client, down, done, _Http(response)), daemon=True
    ).start()


def _proxy(port: int, target: int, up: Any, down: Any, ready: Any, log_path: str) -> None:
    server = socket.create_server(("127.0.0.1", port), backlog=64)
    log = open(log_path, "a")  # noqa: SIM115 - for the life of this process
    ready.set()
    while True:
        client, _ = server.accept()
        store = socket.create_connection(("127.0.0.1", target))
        for s in (client, store):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _connection(client, store, up, down, log)


@dataclass
class Proxy:
    url: str
    up: Any  # bytes client -> store
    down: Any  # bytes store -> client
    proc: Any
    log: Path  # one line per request: sent at, answered at, method, path, status

    def sent(self) -> int:
        return int(self.up.value)

    def requests(self, since: float, until: float) -> list[tuple[float, float, str, str]]:
        out = []
        for line in self.log.read_text().splitlines():
            sent, answered, method, path, _ = line.split(" ", 4)
            if since <= float(sent) <= until:
                out.append((float(sent), float(answered), method, path))
        return sorted(out)


@contextlib.contextmanager
def counting_proxy(target_port: int, log: Path) -> Iterator[Proxy]:
    ctx = mp.get_context("fork")
    up, down, ready = ctx.Value("q", 0), ctx.Value("q", 0), ctx.Event()
    port = free_port()
    args = (port, target_port, up, down, ready, str(log))
    proc = ctx.Process(target=_proxy, args=args, daemon=True)
    proc.start()
    try:
        if not ready.wait(10):
            raise RuntimeError("the counting proxy did not start")
        yield Proxy(f"http://127.0.0.1:{port}", up, down, proc, log)
    finally:
        proc.terminate()
        proc.join(5)


@contextlib.contextmanager
def moto_server(log: Path) -> Iterator[int]:
    if not MOTO.exists():
        raise SystemExit(f"moto_server is missing ({MOTO}): pip install moto[server]")
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start; see {log}") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.kill()
        proc.wait(10)


# -- measurements ------------------------------------------------------------------------
class RssSampler:
    """The largest VmRSS of ``pid`` seen while running (sampled every ``every`` seconds)."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid, self.every = pid, every
        self.peak = proc_status(pid, "VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(OSError, KeyError):
                self.peak = max(self.peak, proc_status(self.pid, "VmRSS"))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(BUF):
            h.update(block)
    return h.hexdigest()


def boto3_get_sha256(client: Any, bucket: str, key: str) -> str:
    """The peer for fixity: a plain streaming GET and hashlib."""
    h = hashlib.sha256()
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in body.iter_chunks(BUF):
        h.update(chunk)
    return h.hexdigest()


def operation(method: str, path: str) -> str:
    """The S3 operation of a logged request (what the archive and boto3 send)."""
    key, _, query = path.partition("?")
    if "partNumber=" in query:
        return "UploadPart"
    if method == "POST" and query.startswith("uploads"):
        return "CreateMultipartUpload"
    if method == "POST" and "uploadId=" in query:
        return "CompleteMultipartUpload"
    if method == "DELETE" and "uploadId=" in query:
        return "AbortMultipartUpload"
    if method == "PUT" and "/originals/" in key:
        return "CopyObject or PutObject"  # the archive copies staging -> originals/<sha256>
    return {"HEAD": "HeadObject", "DELETE": "DeleteObject", "GET": "GetObject"}.get(method, method)


def timeline(requests: list[tuple[float, float, str, str]], origin: float) -> str:
    """Store requests from ``origin`` on, consecutive same operations merged: "op xN a-b s"."""
    out: list[list[Any]] = []
    for sent, answered, method, path in requests:
        op = operation(method, path)
        if out and out[-1][0] == op:
            out[-1][1] += 1
            out[-1][3] = max(out[-1][3], answered)
        else:
            out.append([op, 1, sent, answered])
    return "; ".join(
        f"{op}{f' x{n}' if n > 1 else ''} {a - origin:+.2f}..{b - origin:+.2f}s"
        for op, n, a, b in out
    )


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


@dataclass
class Round:
    api: float
    api_sent: int
    api_rss: int  # peak VmRSS during the upload - VmRSS before it
    api_cpu: float
    api_tail: float  # from the client's last byte to the 201
    peer: float
    peer_sent: int
    serial: float  # boto3 upload_file with one part in flight at a time
    copy: float  # a server-side CopyObject of the file inside moto (no bytes from us)
    staged: float = 0.0  # the API upload without Repr-Digest (staging key + copy)
    staged_rss: int = 0
    staged_sent: int = 0
    check: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="256 MiB instead of 1 GiB")
    parser.add_argument("--size-mib", type=int, default=None)
    parser.add_argument("--runs", type=int, default=2, help="rounds (default 2; medians)")
    parser.add_argument(
        "--part-mib", type=int, default=16, help="ARCHIVE_S3_PART_SIZE and boto3's chunk size"
    )
    args = parser.parse_args()
    size = (args.size_mib or (256 if args.quick else 1024)) * 1024 * 1024
    part = args.part_mib * 1024 * 1024
    runs = max(1, args.runs)
    load_before = uptime()
    base = ROOT / "var" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="s3-", dir=base) as tmp:
        work = Path(tmp)
        with (
            moto_server(work / "moto.log") as moto_port,
            counting_proxy(moto_port, work / "requests.log") as proxy,
        ):
            rounds, note = measure(args, work, size, part, runs, proxy)
    load_after = uptime()
    report(rounds, note, size, part, load_before, load_after)
    return 0


def measure(
    args: argparse.Namespace, work: Path, size: int, part: int, runs: int, proxy: Proxy
) -> tuple[list[Round], str]:
    from boto3.s3.transfer import TransferConfig

    from app.storage.backend import original_key
    from app.storage.s3 import S3Backend, make_client

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.pop("AWS_PROFILE", None)
    client = make_client(proxy.url, "us-east-1")
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    backend = S3Backend(client, bucket, endpoint=proxy.url, part_size=part)
    env = {
        "ARCHIVE_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
        "ARCHIVE_VAR_DIR": str(work / "var"),
        "ARCHIVE_MEDIA_ROOT": str(work / "media"),
        "ARCHIVE_JOBS": "off",
        "ARCHIVE_DEMO_ON_FIRST_RUN": "false",
        "ARCHIVE_MAX_UPLOAD_BYTES": str(size + 1),
        "ARCHIVE_STORAGE": "s3",
        "ARCHIVE_S3_ENDPOINT": proxy.url,
        "ARCHIVE_S3_BUCKET": bucket,
        "ARCHIVE_S3_REGION": "us-east-1",
        "ARCHIVE_S3_PART_SIZE": str(part),
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
    }
    token, *codes = setup(env, 2 * runs)  # per round: with Repr-Digest, then without
    video = work / "big.ts"
    make_file(video, size)
    transfer = TransferConfig(multipart_threshold=part, multipart_chunksize=part)
    serial_transfer = TransferConfig(
        multipart_threshold=part, multipart_chunksize=part, max_concurrency=1
    )
    note = ""
    rounds: list[Round] = []
    with app_server(env, work / "server.log") as url:
        pid = server_pid(url)
        for n in range(runs):
            code, staged_code = codes[2 * n], codes[2 * n + 1]
            # without the digest first (staging key + create-only copy), so the bucket's
            # growth does not favour the declared-digest upload
            make_unique(video, 2 * n + 1)
            staged_up = api_upload(url, staged_code, video, token, pid, proxy, digest=False)
            make_unique(video, 2 * n)
            sha = file_sha256(video)
            up = api_upload(url, code, video, token, pid, proxy, digest=True)
            api, api_sent, api_rss, api_cpu, tail, late, ops = up
            sent0 = proxy.sent()
            start = time.perf_counter()
            client.upload_file(str(video), bucket, f"peer/{sha}", Config=transfer)
            peer = time.perf_counter() - start
            peer_sent = proxy.sent() - sent0
            peer_log = timeline(proxy.requests(time.time() - peer, time.time()), time.time() - peer)
            start = time.perf_counter()
            client.upload_file(str(video), bucket, f"serial/{sha}", Config=serial_transfer)
            serial = time.perf_counter() - start
            serial_log = timeline(
                proxy.requests(time.time() - serial, time.time()), time.time() - serial
            )
            start = time.perf_counter()
            client.copy_object(
                Bucket=bucket,
                Key=f"copy/{sha}",
                CopySource={"Bucket": bucket, "Key": f"serial/{sha}"},
            )
            copy = time.perf_counter() - start
            for k in (f"serial/{sha}", f"copy/{sha}"):
                client.delete_object(Bucket=bucket, Key=k)
            r = Round(api, api_sent, api_rss, api_cpu, tail, peer, peer_sent, serial, copy)
            r.staged, r.staged_sent, r.staged_rss = staged_up[0], staged_up[1], staged_up[2]
            if backend.stat(original_key(sha)) is None:
                # the server kept the upload elsewhere (ingest not on S3): check the peer's
                # copy, put in place inside the store
                note = "the API upload did not reach the bucket (uploads not on S3 yet)"
                client.copy_object(
                    Bucket=bucket,
                    Key=original_key(sha),
                    CopySource={"Bucket": bucket, "Key": f"peer/{sha}"},
                )
            for i in range(3):  # interleaved, each side first in turn; the best of each
                for side in ("check", "plain") if i % 2 == 0 else ("plain", "check"):
                    start = time.perf_counter()
                    if side == "check":
                        found = backend.check_original(sha, size)
                        assert found.status == "ok", found
                    else:
                        assert boto3_get_sha256(client, bucket, original_key(sha)) == sha
                    getattr(r, side).append(time.perf_counter() - start)
            client.delete_object(Bucket=bucket, Key=f"peer/{sha}")
            rounds.append(r)
            print(
                f"  round {n + 1}: API with Repr-Digest {api:.2f}s (after the last byte "
                f"{tail:.2f}s), without {r.staged:.2f}s (after the last byte "
                f"{staged_up[4]:.2f}s, RSS +{r.staged_rss / 1e6:.1f} MB), boto3 "
                f"{peer:.2f}s, boto3 one part at a time {serial:.2f}s, server-side copy "
                f"{copy:.2f}s; RSS +{r.api_rss / 1e6:.1f} MB; fixity "
                f"{min(r.check):.2f}s vs get+sha256 {min(r.plain):.2f}s",
                flush=True,
            )
            counts = {op: ops.count(op) for op in dict.fromkeys(ops)}
            staged_ops = staged_up[6]
            staged_counts = {op: staged_ops.count(op) for op in dict.fromkeys(staged_ops)}
            print(f"    the API upload's store requests: {counts}")
            print(f"    after the client's last byte (t=0; the 201 at +{tail:.2f}s): {late}")
            print(f"    without Repr-Digest, store requests: {staged_counts}")
            print(f"    without Repr-Digest, after the last byte: {staged_up[5]}")
            print(f"    boto3 (t=0 its start): {peer_log}")
            print(f"    boto3, one part at a time: {serial_log}")
    return rounds, note


def api_upload(
    url: str, code: str, video: Path, token: str, pid: int, proxy: Proxy, *, digest: bool
) -> tuple[float, int, int, float, float, str, list[str]]:
    """POST ``video`` (with ``Repr-Digest`` when ``digest``, as a client that knows its
    SHA-256 would): (time, bytes sent to the store, RSS growth, server CPU, time after the
    last byte, the store requests after it, every store operation)."""
    target = f"{url}/api/v1/clips/{code}/media?filename=big.ts"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "video/mp2t"}
    if digest:
        raw = bytes.fromhex(file_sha256(video))
        headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(raw).decode()}:"
    rss0, cpu0, sent0 = proc_status(pid, "VmRSS"), proc_cpu(pid), proxy.sent()
    ingest.SENT.clear()
    wall0 = time.time()
    with RssSampler(pid) as rss:
        start = time.perf_counter()
        status, text = send_sendfile(target, video, headers)
        api = time.perf_counter() - start
    tail = start + api - ingest.SENT[-1]
    wall_end = time.time()
    late = timeline(proxy.requests(wall_end - tail, wall_end), wall_end - tail)
    ops = [operation(m, p) for _, _, m, p in proxy.requests(wall0, wall_end)]
    if status != 201:
        raise SystemExit(f"upload failed: {status} {text[:500]}")
    return api, proxy.sent() - sent0, rss.peak - rss0, proc_cpu(pid) - cpu0, tail, late, ops


def report(rounds: list[Round], note: str, size: int, part: int, before: str, after: str) -> None:
    mib = size / 1024**2
    api = statistics.median(r.api for r in rounds)
    peer = statistics.median(r.peer for r in rounds)
    check = statistics.median(min(r.check) for r in rounds)
    plain = statistics.median(min(r.plain) for r in rounds)
    rss = max(r.api_rss for r in rounds) / 1e6
    staged = statistics.median(r.staged for r in rounds)
    staged_rss = max(r.staged_rss for r in rounds) / 1e6
    sent = statistics.median(r.api_sent for r in rounds) / size
    peer_sent = statistics.median(r.peer_sent for r in rounds) / size
    print(
        f"== S3: {mib:.0f} MiB through the API and boto3 to moto_server via a counting "
        f"proxy, {len(rounds)} rounds, parts of {part // 1024**2} MiB ({MACHINE_NOTE})"
    )
    print(f"load before: {before}")
    print(f"load after:  {after}")
    if note:
        print(f"NOTE: {note}; the upload figures below measure local disk, not S3")
    print(
        f"API upload {api:.2f}s ({mib / api:.0f} MiB/s, server CPU "
        f"{statistics.median(r.api_cpu for r in rounds):.2f}s); boto3 upload_file "
        f"{peer:.2f}s ({mib / peer:.0f} MiB/s)"
    )
    print(
        f"API (Repr-Digest) / boto3 upload time = {api / peer:.2f}  (target <= 1.3) "
        + (verdict(api / peer <= 1.3) if not note else "NOT MEASURED")
    )
    print(f"API without Repr-Digest (staging + copy) {staged:.2f}s; / boto3 = {staged / peer:.2f}")
    print(
        f"server RSS growth during the upload = {rss:.1f} MB (without Repr-Digest "
        f"{staged_rss:.1f} MB)  (target <= 64) {verdict(max(rss, staged_rss) <= 64)}"
    )
    print(
        f"bytes sent to the store / file size = {sent:.3f} (boto3: {peer_sent:.3f})  "
        f"(target 1.0 + protocol overhead) {verdict(0.999 <= sent <= 1.02)}"
    )
    print(
        f"fixity: check_original {check:.2f}s, boto3 get + sha256 {plain:.2f}s; "
        f"boto3 / check_original = {plain / check:.2f}  (target >= 0.9) "
        f"{verdict(plain / check >= 0.9)}"
    )


if __name__ == "__main__":
    sys.exit(main())
