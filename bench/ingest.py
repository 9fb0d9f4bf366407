"""Upload throughput, memory and disk writes of the real server, over loopback HTTP.

    .venv/bin/python bench/ingest.py            # a 1 GiB upload
    .venv/bin/python bench/ingest.py --quick    # 256 MiB

The file is a valid MPEG-TS (a short noisy clip repeated), so it passes validation and is
promoted like any upload. Reports, measured in the same run:
upload time / max(sha256 of the file, write + fsync of the file) (target <= 1.5), the
server's peak RSS growth (target <= 64 MB whatever the size), and the bytes the server
process wrote to disk / file size (target 1.0; from /proc/<pid>/io).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

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


def setup(env: dict[str, str]) -> str:
    """Migrate a scratch database; create a contributor token and a clip."""
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
            s, email="bench@example.org", role="contributor", password="bench password long enough"
        )
        _, token = create_token(s, user, "bench")
        create(
            s,
            ClipCreate(city="Abadan", province="Khuzestan", date="2019-11-16"),
            actor="bench",
            user_id=user.id,
        )
    return token


def chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            yield block


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="256 MiB instead of 1 GiB")
    parser.add_argument("--size-mib", type=int, default=None)
    args = parser.parse_args()
    size = (args.size_mib or (256 if args.quick else 1024)) * 1024 * 1024
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
        token = setup(env)
        video = work / "big.ts"
        make_file(video, size)
        sha_t = min(sha256_time(video) for _ in range(2))
        write_t = min(write_fsync_time(video, work / "copy.bin") for _ in range(2))
        port = _free_port()
        log = open(work / "server.log", "wb")  # noqa: SIM115
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait(url)
            rss0 = proc_status(server.pid, "VmRSS")
            io0 = proc_write_bytes(server.pid)
            start = time.perf_counter()
            r = httpx.post(
                f"{url}/api/v1/clips/IRN001/media",
                content=chunks(video),
                params={"filename": "big.ts"},
                timeout=600,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Length": str(size),
                    "Content-Type": "video/mp2t",
                },
            )
            upload_t = time.perf_counter() - start
            if r.status_code != 201:
                print(f"upload failed: {r.status_code} {r.text}")
                return 1
            peak = proc_status(server.pid, "VmHWM")
            written = proc_write_bytes(server.pid) - io0
        finally:
            server.terminate()
            server.wait(10)
            log.close()
    floor = max(sha_t, write_t)
    mib = size / 1024**2
    print(f"== ingest: {mib:.0f} MiB over loopback HTTP (2 shared cores: ratios, not times)")
    print(
        f"upload {upload_t:.2f}s ({mib / upload_t:.0f} MiB/s); sha256 {sha_t:.2f}s; "
        f"write+fsync {write_t:.2f}s"
    )
    print(f"upload / max(sha256, write+fsync) = {upload_t / floor:.2f}  (target <= 1.5)")
    print(f"server peak RSS growth = {(peak - rss0) / 1e6:.1f} MB  (target <= 64)")
    print(f"bytes written by the server / file size = {written / size:.3f}  (target 1.0)")
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


if __name__ == "__main__":
    sys.exit(main())
