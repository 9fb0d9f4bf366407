"""Upload throughput, memory and disk writes of the real server, over loopback HTTP.

    .venv/bin/python bench/ingest.py            # five uploads of 1 GiB
    .venv/bin/python bench/ingest.py --quick    # of 256 MiB
    .venv/bin/python bench/ingest.py --runs 2 --size-mib 4096   # memory flat in the size
    .venv/bin/python bench/ingest.py --client httpx   # or curl

The file is a valid MPEG-TS (a short noisy clip repeated), so it passes validation and is
promoted like any upload; each upload changes one packet, so none is a duplicate. Reports,
measured in the same run: every upload, and the median of upload time / max(sha256 of
the file, write + fsync of the file) (target <= 1.5), the
server's peak RSS growth (target <= 64 MB whatever the size), and the bytes the server
process wrote to disk / file size (target 1.0; from /proc/<pid>/io). The write + fsync
floor is the faster of a buffered and a direct-I/O (O_DIRECT) copy, since the server
writes with direct I/O where it can.

The client shares the two cores with the server, so the default client is the cheapest
one: a raw socket that sends the headers and then the file with sendfile(2) (no copy in
user space, no Python per chunk). A Python HTTP client (httpx) costs about as much CPU as
the server's own receive path and measures the client as much as the server.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from _common import app_server, server_pid

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHUNK = 1024 * 1024


def proc_status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def proc_write_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise KeyError("write_bytes")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of the process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_minflt(pid: int) -> int:
    """Minor page faults of the process so far (fresh memory touched: a cost per 4 KiB)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


def make_file(path: Path, size: int) -> None:
    seed = path.with_suffix(".seed.ts")
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=640x360:r=30:d=4,noise=alls=80:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "20M",
            "-f",
            "mpegts",
            str(seed),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    block = seed.read_bytes()
    block = block[: len(block) // 188 * 188]
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            piece = block[: size - written]
            fh.write(piece)
            written += len(piece)
    seed.unlink()


def sha256_time(path: Path) -> float:
    start = time.perf_counter()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return time.perf_counter() - start


def write_fsync_time(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while block := fin.read(CHUNK):
            fout.write(block)
        fout.flush()
        os.fsync(fout.fileno())
    elapsed = time.perf_counter() - start
    dst.unlink()
    return elapsed


def direct_write_fsync_time(src: Path, dst: Path) -> float:
    """Copy with O_DIRECT writes from a page-aligned buffer, then fsync."""
    import mmap

    block = 4 * 1024 * 1024
    buf = mmap.mmap(-1, block)
    start = time.perf_counter()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o600)
    try:
        with open(src, "rb", buffering=0) as fin:
            while n := fin.readinto(buf):
                if n % 4096:
                    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_DIRECT)
                os.write(fd, memoryview(buf)[:n])
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - start
    dst.unlink()
    buf.close()
    return elapsed


def setup(env: dict[str, str], clips: int) -> list[str]:
    """Migrate a scratch database; create a contributor token and ``clips`` clips.

    Returns the token and the clips' codes."""
    os.environ.update(env)
    from app.accounts.service import create_token, create_user
    from app.clips.schemas import ClipCreate
    from app.clips.service import create
    from app.db import session_scope
    from app.migrate import upgrade
    from app.places.service import seed

    upgrade()
    with session_scope() as s:
        seed(s)
        user, _ = create_user(
            s,
            email="bench@example.org",
            role="contributor",
            password="bench password long enough",
            actor="bench",
        )
        _, token = create_token(s, user, "bench", actor="bench")
        codes = [
            create(
                s,
                ClipCreate(city="Abadan", province="Khuzestan", date="2019-11-16"),
                actor="bench",
                user_id=user.id,
            ).code
            for _ in range(clips)
        ]
    return [token, *codes]


def chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            yield block


SENT: list[float] = []  # perf_counter() when the sendfile client handed over its last byte


def send_sendfile(url: str, path: Path, headers: dict[str, str]) -> tuple[int, str]:
    """POST ``path`` as the body with sendfile(2): the kernel copies page cache to socket."""
    import http.client
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(url)
    size = path.stat().st_size
    head = [f"POST {u.path}?{u.query} HTTP/1.1", f"Host: {u.netloc}", f"Content-Length: {size}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((u.hostname, u.port)) as sock, open(path, "rb") as fh:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        sock.sendfile(fh)
        SENT.append(time.perf_counter())
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, resp.read().decode("utf-8", "replace")


def upload(client: str, url: str, video: Path, token: str, size: int, code: str) -> tuple[int, str]:
    target = f"{url}/api/v1/clips/{code}/media?filename=big.ts"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "video/mp2t"}
    if client == "sendfile":
        return send_sendfile(target, video, headers)
    if client == "curl":
        cmd = ["curl", "-sS", "-X", "POST", "-T", str(video), "-w", "\n%{http_code}", target]
        cmd += [a for k, v in headers.items() for a in ("-H", f"{k}: {v}")]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
        body, _, code = out.rpartition("\n")
        return int(code or 0), body
    r = httpx.post(
        target,
        content=chunks(video),
        timeout=600,
        headers={**headers, "Content-Length": str(size)},
    )
    return r.status_code, r.text


def make_unique(path: Path, run: int) -> None:
    """Give the file new bytes for each run (an identical upload would be a duplicate): one
    packet in the middle becomes an MPEG-TS null packet (PID 0x1FFF, which demuxers drop)
    carrying the run number. The rest of the file stays in the page cache."""
    packet = b"\x47\x1f\xff\x10" + run.to_bytes(8, "big") + b"\xff" * 176
    offset = path.stat().st_size // 188 // 2 * 188
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(packet)


@dataclass
class Run:
    upload: float
    cpu: float
    faults: int
    tail: float | None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="256 MiB instead of 1 GiB")
    parser.add_argument("--size-mib", type=int, default=None)
    parser.add_argument(
        "--runs",
        type=int,
        default=5,
        help="uploads to the same server, each of different bytes (default 5); the ratio "
        "reported is their median",
    )
    parser.add_argument(
        "--client",
        choices=["sendfile", "curl", "httpx"],
        default="sendfile",
        help="the sending client (default: a raw socket with sendfile(2), the cheapest)",
    )
    parser.add_argument(
        "--http",
        choices=["buffered", "uvicorn"],
        default="buffered",
        help="the server's ARCHIVE_HTTP_PROTOCOL (default: buffered, app/server.py; "
        "'uvicorn' is uvicorn's own, for comparison)",
    )
    args = parser.parse_args()
    size = (args.size_mib or (256 if args.quick else 1024)) * 1024 * 1024
    runs = max(1, args.runs)
    base = ROOT / "var" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ingest-", dir=base) as tmp:
        work = Path(tmp)
        env = {
            "ARCHIVE_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "ARCHIVE_VAR_DIR": str(work / "var"),
            "ARCHIVE_MEDIA_ROOT": str(work / "media"),
            "ARCHIVE_JOBS": "off",
            "ARCHIVE_DEMO_ON_FIRST_RUN": "false",
            "ARCHIVE_MAX_UPLOAD_BYTES": str(size + 1),
        }
        token, *codes = setup(env, runs)
        video = work / "big.ts"
        make_file(video, size)
        sha_t = min(sha256_time(video) for _ in range(2))
        buffered_t = min(write_fsync_time(video, work / "copy.bin") for _ in range(2))
        direct_t = min(direct_write_fsync_time(video, work / "copy.bin") for _ in range(2))
        write_t = min(buffered_t, direct_t)
        results: list[Run] = []
        with app_server(env, work / "server.log", http=args.http) as url:
            pid = server_pid(url)
            rss0 = proc_status(pid, "VmRSS")
            io0 = proc_write_bytes(pid)
            for run, code in enumerate(codes):
                make_unique(video, run)
                SENT.clear()
                cpu0, flt0 = proc_cpu(pid), proc_minflt(pid)
                start = time.perf_counter()
                status, text = upload(args.client, url, video, token, size, code)
                end = time.perf_counter()
                if status != 201:
                    print(f"upload failed: {status} {text}")
                    return 1
                results.append(
                    Run(
                        upload=end - start,
                        cpu=proc_cpu(pid) - cpu0,
                        faults=proc_minflt(pid) - flt0,
                        tail=end - SENT[-1] if SENT else None,
                    )
                )
                # the next upload starts on a flushed disk, as the write + fsync floor did
                subprocess.run(["sync"], check=True)
            peak = proc_status(pid, "VmHWM")
            written = proc_write_bytes(pid) - io0
    floor = max(sha_t, write_t)
    mib = size / 1024**2
    up = statistics.median(r.upload for r in results)
    print(
        f"== ingest: {mib:.0f} MiB over loopback HTTP, {runs} uploads "
        "(2 shared cores: ratios, not times)"
    )
    print(
        f"floor: sha256 {sha_t:.2f}s; write+fsync {write_t:.2f}s "
        f"(buffered {buffered_t:.2f}s, direct {direct_t:.2f}s)"
    )
    for i, r in enumerate(results, 1):
        tail = f"; after the client's last byte {r.tail:.2f}s" if r.tail is not None else ""
        print(
            f"  upload {i}: {r.upload:.2f}s ({mib / r.upload:.0f} MiB/s), ratio "
            f"{r.upload / floor:.2f}; server CPU {r.cpu:.2f}s, {r.faults} minor page faults"
            f"{tail}"
        )
    print(f"protocol {args.http}; the tail is fsync, validation and the commit")
    print(
        f"upload / max(sha256, write+fsync) = {up / floor:.2f} (median; best "
        f"{min(r.upload for r in results) / floor:.2f})  (target <= 1.5)"
    )
    print(f"server peak RSS growth = {(peak - rss0) / 1e6:.1f} MB  (target <= 64)")
    print(
        f"bytes written by the server / bytes uploaded = {written / (size * runs):.3f}  "
        "(target 1.0)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
