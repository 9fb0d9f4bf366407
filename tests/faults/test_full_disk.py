"""A full disk, on a real 20 MiB tmpfs as the media store: every upload mode gets a JSON
507 and leaves nothing (the next upload works), a declared length that cannot fit is
refused before the body is read, a resumable upload keeps the bytes that reached the disk
and resumes, and the processing jobs fail cleanly, are retried and keep the previous set
of derivatives. Each test ends with the consistency check."""

from __future__ import annotations

import base64
import hashlib
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from app.db import session_scope
from tests.faults.conftest import MiB, counts, fill, findings, restarted, ts_bytes
from tests.faults.upload import new_clip, send, tus_create, tus_offset, tus_patch
from tests.ingest.conftest import store_files
from tests.support import served

pytestmark = pytest.mark.slow


def pieces(data: bytes, size: int = 512 * 1024) -> Iterator[bytes]:
    """The body without a Content-Length (chunked): only the reserve is checked up front."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


def nothing_left(root: Path) -> None:
    files = store_files(root)
    assert files["tmp"] == [] and files["originals"] == [] and files["uploads"] == []
    assert counts() == {"media": 0, "jobs": 0, "ingested": 0}
    assert findings() == []


@pytest.mark.parametrize("mode", ["raw", "multipart"])
def test_an_upload_that_fills_the_disk_gets_507_and_the_next_one_works(
    small_disk: Path, contributor: Any, tmp_path: Path, mode: str
) -> None:
    big = ts_bytes(tmp_path, 25 * MiB)  # more than the whole disk
    with restarted() as client:
        code = new_clip(client, contributor)
        if mode == "raw":
            r = send(client, contributor, code, pieces(big), mode)
        else:
            form = (
                b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.ts"\r\n'
                b"Content-Type: video/mp2t\r\n\r\n" + big + b"\r\n--x--\r\n"
            )
            ctype = {"Content-Type": "multipart/form-data; boundary=x"}
            r = client.post(
                f"/api/v1/clips/{code}/media",
                content=pieces(form),
                headers={**contributor.headers, **ctype},
            )
        assert r.status_code == 507, r.text
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"] == "insufficient_storage" and "nothing was stored" in r.text
        nothing_left(small_disk)  # the partial temp file is gone, so there is space again
        small = ts_bytes(tmp_path, 2 * MiB, seed=1)
        r = send(client, contributor, code, small, mode)
        assert r.status_code == 201, r.text
        assert r.json()["sha256"] == hashlib.sha256(small).hexdigest()
    assert findings() == []


def _headers_only(base: str, request: str) -> str:
    """Send a request's head without its body; return what the server answers."""
    u = urlsplit(base)
    got = b""
    with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
        sock.sendall(request.encode())
        while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < _length(got):
            more = sock.recv(65536)
            if not more:
                break
            got += more
    return got.decode("latin-1")


def _length(response: bytes) -> int:
    for line in response.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_a_declared_length_that_cannot_fit_is_refused_before_the_body_is_read(
    small_disk: Path, contributor: Any
) -> None:
    from app.main import create_app

    auth = contributor.headers["Authorization"]
    with restarted() as client:
        code = new_clip(client, contributor)
    with served(create_app()) as base:
        for ctype in ("video/mp2t", "multipart/form-data; boundary=x"):
            answer = _headers_only(
                base,
                f"POST /api/v1/clips/{code}/media HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: {auth}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {30 * MiB}\r\n\r\n",  # and not one byte of the body
            )
            assert answer.startswith("HTTP/1.1 507 "), answer
            assert '"error":"insufficient_storage"' in answer and "MiB free" in answer
        with httpx.Client(base_url=base, timeout=30) as http:
            meta = {
                "Upload-Length": str(30 * MiB),
                "Tus-Resumable": "1.0.0",
                "Upload-Metadata": "clip " + base64.b64encode(code.encode()).decode(),
            }
            r = http.post("/api/v1/uploads", headers={**contributor.headers, **meta})
            assert r.status_code == 507 and r.json()["field"] == "Upload-Length"
            path = tus_create(http, contributor, code, 10 * MiB)  # fits now ...
            fill(small_disk, leave=4 * MiB)  # ... but no longer once the disk fills up
            answer = _headers_only(
                base,
                f"PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
                "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                f"Content-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {10 * MiB}\r\n\r\n",
            )
            assert answer.startswith("HTTP/1.1 507 "), answer
            assert "upload-offset: 0" in answer.lower()
            assert tus_offset(http, contributor, path) == 0
    (small_disk / "filler.bin").unlink()
    assert counts()["media"] == 0 and findings() == []


def test_a_resumable_upload_keeps_what_reached_the_disk_and_resumes(
    small_disk: Path, contributor: Any, tmp_path: Path
) -> None:
    from app.main import create_app

    data = ts_bytes(tmp_path, 12 * MiB)
    with restarted() as client:
        code = new_clip(client, contributor)
    with served(create_app()) as base, httpx.Client(base_url=base, timeout=60) as http:
        path = tus_create(http, contributor, code, len(data))
        filled = threading.Event()

        def body() -> Iterator[bytes]:  # another writer takes the disk mid-PATCH
            for i, piece in enumerate(pieces(data)):
                if i == 8:
                    fill(small_disk, leave=2 * MiB)
                    filled.set()
                yield piece

        r = tus_patch(http, contributor, path, 0, body())
        assert filled.is_set()
        assert r.status_code == 507 and r.json()["error"] == "insufficient_storage", r.text
        kept = int(r.headers["upload-offset"])
        assert tus_offset(http, contributor, path) == kept
        assert MiB <= kept < len(data)  # what reached the file before the disk filled
        upload_file = small_disk / "uploads" / path.rsplit("/", 1)[1]
        assert upload_file.read_bytes()[:kept] == data[:kept]
        assert store_files(small_disk)["tmp"] == [] and findings() == []

        (small_disk / "filler.bin").unlink()  # space again: resume from there
        r = tus_patch(http, contributor, path, kept, data[kept:])
        assert r.status_code == 204, r.text
        media = http.get(f"/api/v1/clips/{code}/media", headers=contributor.headers).json()
    assert media["sha256"] == hashlib.sha256(data).hexdigest() and media["size"] == len(data)
    assert findings() == []


def _clip(tmp: Path) -> bytes:
    """A 2-second H.264/AAC MP4 (keyframes every 0.5 s)."""
    out = tmp / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=2",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "5", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return out.read_bytes()


def _job(step: str) -> Any:
    from app.jobs.models import ProcessingJob

    with session_scope() as s:
        return s.scalar(select(ProcessingJob).where(ProcessingJob.step == step))


def _run(step: str) -> Any:
    from app.jobs import runner

    job = _job(step)
    assert runner.execute("fault-test", job.id)
    return _job(step)


def test_jobs_on_a_full_disk_fail_cleanly_are_retried_and_keep_the_good_set(
    small_disk: Path, contributor: Any, tmp_path: Path
) -> None:
    from app.ingest.models import Keyframe, Media
    from app.jobs import service as jobs
    from app.jobs.registry import DISK_FULL
    from app.public.jobs import queue_playback
    from tests.public.conftest import set_status

    with restarted() as client:
        code = new_clip(client, contributor)
        assert send(client, contributor, code, _clip(tmp_path), "raw").status_code == 201
    for step in ("probe", "keyframes", "hashes"):
        assert _run(step).state == "done"
    with session_scope() as s:
        media = s.scalar(select(Media))
        assert media is not None
        sha, good = media.sha256, media.derivative_generation
        rows = s.scalars(select(Keyframe.sha256).order_by(Keyframe.position)).all()
        jobs.enqueue(s, clip_id=media.clip_id, media_id=media.id, sha256=sha, step="keyframes")
    gens = small_disk / "derivatives" / sha[:2] / sha[2:4] / sha
    assert [p.name for p in gens.iterdir()] == [good]

    filler = fill(small_disk, leave=0)
    job = _run("keyframes")
    assert job.state == "queued" and job.attempts == 2  # retried, not failed for good
    assert job.last_error.startswith(DISK_FULL)
    assert [p.name for p in gens.iterdir()] == [good]  # no half-written set beside it
    with session_scope() as s:
        media = s.scalar(select(Media))
        assert media is not None and media.derivative_generation == good
        assert s.scalars(select(Keyframe.sha256).order_by(Keyframe.position)).all() == rows

    set_status(code, "published")  # its public playback copy, on the same full disk
    with session_scope() as s:
        queue_playback(s, media.clip_id)
    job = _run("playback")
    assert job.state == "queued" and job.last_error.startswith(DISK_FULL)
    public = small_disk / "public"
    assert not public.exists() or [p for p in public.rglob("*") if p.is_file()] == []
    assert findings() == []

    filler.unlink()
    assert _run("keyframes").state == "done" and _run("playback").state == "done"
    with session_scope() as s:
        media = s.scalar(select(Media))
        assert media is not None and media.derivative_generation != good
        assert [p.name for p in gens.iterdir()] == [media.derivative_generation]
    assert [p.name for p in public.rglob("*") if p.is_file()] == ["playback.mp4"]
    assert findings() == []
