"""Fixtures for ingest tests: tiny real clips (ffmpeg lavfi), hostile files, a canary HTTP
server, clip records, and a helper that waits for processing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.media import GPS, X264, ffmpeg


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ingest-clips")


@pytest.fixture(scope="session")
def phone_clip(media_dir: Path) -> Path:
    """3 s, 160x120: testsrc2 then smptehdbars, keyframe every 0.5 s, AAC, GPS + device tags."""
    out = media_dir / "phone.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=20:d=1.5",
        "-f", "lavfi", "-i", "smptehdbars=s=160x120:r=20:d=1.5",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]",
        "-map", "[v]", "-map", "2:a", "-t", "3",
        *X264, "-g", "10", "-keyint_min", "10", "-c:a", "aac",
        "-metadata", f"location={GPS}",
        "-metadata", "com.apple.quicktime.make=Apple",
        "-metadata", "com.apple.quicktime.model=iPhone 12",
        "-movflags", "use_metadata_tags", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def other_clip(media_dir: Path) -> Path:
    out = media_dir / "other.mp4"
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=s=160x120:r=10:end_pts=1", "-t", "1", *X264, str(out))
    return out


@pytest.fixture(scope="session")
def truncated_clip(media_dir: Path, phone_clip: Path) -> Path:
    data = phone_clip.read_bytes()
    out = media_dir / "truncated.mp4"
    out.write_bytes(data[: len(data) // 2])
    return out


@pytest.fixture(scope="session")
def jpeg_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def new_clip(client: Any, contributor: Any) -> Callable[..., str]:
    def make(**extra: Any) -> str:
        body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16", **extra}
        r = client.post("/api/v1/clips", json=body, headers=contributor.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["code"])

    return make


def upload(
    client: Any,
    who: Any,
    code: str,
    data: bytes,
    *,
    name: str = "clip.mp4",
    ctype: str = "video/mp4",
) -> Any:
    return client.post(
        f"/api/v1/clips/{code}/media",
        params={"filename": name},
        content=data,
        headers={**who.headers, "Content-Type": ctype},
    )


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(every)


def store_files(root: Path) -> dict[str, list[str]]:
    """Everything in the media store, by area (tmp, uploads, originals, derivatives)."""
    out: dict[str, list[str]] = {}
    for area in ("tmp", "uploads", "originals", "derivatives"):
        base = root / area
        out[area] = (
            sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
            if base.exists()
            else []
        )
    return out
