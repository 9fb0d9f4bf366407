"""Keyframe extraction: one ffmpeg pass over keyframes only, then dedup and coverage.

Timestamps always come from ffmpeg's ``showinfo`` ``pts_time`` (never index / fps), so
variable-frame-rate and long-GOP clips get true times. Frames come out in display
orientation: ffmpeg applies the display matrix (autorotate) before our filters.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg
import imagehash
from PIL import Image

from app.video import _run
from app.video.errors import VideoError
from app.video.images import open_image, save_jpeg
from app.video.probe import DEMUXERS, probe

_SHOWINFO = re.compile(r"\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:\s*(-?[0-9.eE+-]+)")


@dataclass(frozen=True)
class Keyframe:
    timestamp: float
    path: Path
    width: int
    height: int
    sha256: str
    phash: str
    source: str  # "keyframe" | "coverage"


@dataclass
class _Candidate:
    timestamp: float
    raw: Path
    phash: str
    source: str


def phash_hex(image: Image.Image) -> str:
    """64-bit perceptual hash as 16 hex characters."""
    return str(imagehash.phash(image, hash_size=8))


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes of equal length."""
    if len(a_hex) != len(b_hex):
        raise ValueError("hashes must have the same length")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def _scale_filter(max_size: int) -> str:
    m = int(max_size)
    return (
        f"scale=w='if(gte(iw,ih),min(iw,{m}),-2)':h='if(gte(iw,ih),-2,min(ih,{m}))':flags=bicubic"
    )


def parse_showinfo(stderr: str) -> dict[int, float]:
    """Map showinfo's frame number ``n`` to its ``pts_time`` in seconds."""
    times: dict[int, float] = {}
    for match in _SHOWINFO.finditer(stderr):
        times.setdefault(int(match.group(1)), float(match.group(3)))
    return times


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise VideoError(f"keyframe extraction took longer than {self.total:g} seconds")
        return remaining


def _input(path: Path, demuxer: str, **extra: Any) -> Any:
    return ffmpeg.input(f"file:{path}", f=demuxer, protocol_whitelist="file", **extra)


def _keyframe_pass(
    path: Path, demuxer: str, work: Path, max_size: int, deadline: _Deadline
) -> list[tuple[float, Path]]:
    pattern = work / "raw_%06d.png"
    args = (
        _input(path, demuxer, skip_frame="nokey")
        .output(
            str(pattern),
            vf=f"showinfo,{_scale_filter(max_size)}",
            map="0:v:0",
            fps_mode="passthrough",
            loglevel="info",
        )
        .compile()
    )
    _, stderr = _run.run(args, timeout=deadline.left())
    times = parse_showinfo(stderr)
    frames: list[tuple[float, Path]] = []
    for n, pts_time in sorted(times.items()):
        raw = work / f"raw_{n + 1:06d}.png"
        if raw.exists():
            frames.append((pts_time, raw))
    if not frames:
        raise VideoError("ffmpeg found no keyframes in the video", stderr_tail=_run.tail(stderr))
    return frames


def _grab_frame(
    path: Path, demuxer: str, at: float, dst: Path, max_size: int, deadline: _Deadline
) -> float | None:
    """Decode the frame at ``at`` seconds (input-side seek); return its real pts_time."""
    args = (
        _input(path, demuxer, ss=f"{at:.3f}")
        .output(
            str(dst),
            vf=f"showinfo,{_scale_filter(max_size)}",
            map="0:v:0",
            copyts=None,
            fps_mode="passthrough",
            loglevel="info",
            **{"frames:v": 1, "update": 1},
        )
        .compile()
    )
    _, stderr = _run.run(args, timeout=deadline.left())
    times = parse_showinfo(stderr)
    if 0 not in times or not dst.exists():
        return None
    return times[0]


def _dedup(cands: list[_Candidate], threshold: int) -> list[_Candidate]:
    kept: list[_Candidate] = []
    for cand in cands:
        if kept and hamming(cand.phash, kept[-1].phash) <= threshold:
            continue
        if kept and cand.timestamp <= kept[-1].timestamp:
            continue  # duplicate timestamps: keep the first
        kept.append(cand)
    return kept


def _coverage_points(times: list[float], duration: float, min_interval: float) -> list[float]:
    points: list[float] = []
    bounds = [*times, duration]
    for a, b in zip(bounds, bounds[1:], strict=False):
        gap = b - a
        if gap > min_interval:
            missing = math.ceil(gap / min_interval) - 1
            step = gap / (missing + 1)
            points += [a + step * i for i in range(1, missing + 1)]
    return points


def _thin(items: list[_Candidate], max_count: int) -> list[_Candidate]:
    if len(items) <= max_count:
        return items
    if max_count <= 1:
        return items[:1]
    picks = sorted({round(i * (len(items) - 1) / (max_count - 1)) for i in range(max_count)})
    return [items[i] for i in picks]


def extract_keyframes(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    min_interval: float = 10.0,
    phash_threshold: int = 10,
    max_count: int = 60,
    max_size: int = 1280,
    timeout: float = 600,
    probe_info: dict[str, Any] | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[Keyframe]:
    """Extract deduplicated keyframes of ``path`` into ``out_dir`` as ``kf_0000.jpg`` ...

    ``phash_threshold`` < 0 disables dedup. ``min_interval`` <= 0 disables coverage.
    Raises :class:`VideoError` on failure or when ``timeout`` seconds (total) pass.
    """
    deadline = _Deadline(timeout)
    src = Path(path).resolve()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = probe_info or probe(src, timeout=min(30.0, deadline.left()))
    container = next((k for k, v in DEMUXERS.items() if v in info["container"].split(",")), None)
    if container is None:
        raise VideoError(f"unsupported container {info['container']!r}")
    demuxer = DEMUXERS[container]
    duration = float(info["duration"])
    report = progress or (lambda _fraction: None)
    report(0.0)
    work = Path(tempfile.mkdtemp(prefix=".kf-", dir=out))
    try:
        raw = _keyframe_pass(src, demuxer, work, max_size, deadline)
        report(0.6)
        cands = [
            _Candidate(t, p, phash_hex(open_image(p)), "keyframe")
            for t, p in sorted(raw, key=lambda item: item[0])
        ]
        kept = _dedup(cands, phash_threshold)
        if min_interval > 0:
            points = _coverage_points([c.timestamp for c in kept], duration, min_interval)
            for i, at in enumerate(points):
                dst = work / f"cov_{i:06d}.png"
                real = _grab_frame(src, demuxer, at, dst, max_size, deadline)
                if real is not None and all(abs(real - c.timestamp) > 1e-3 for c in kept):
                    kept.append(_Candidate(real, dst, phash_hex(open_image(dst)), "coverage"))
                report(0.6 + 0.3 * (i + 1) / len(points))
            kept.sort(key=lambda c: c.timestamp)
        result = [_publish(c, out, i) for i, c in enumerate(_thin(kept, max_count))]
        for stale in _stale_outputs(out, len(result)):
            stale.unlink(missing_ok=True)
        report(1.0)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _publish(cand: _Candidate, out: Path, index: int) -> Keyframe:
    im = open_image(cand.raw)
    dst = save_jpeg(im, out / f"kf_{index:04d}.jpg")
    data = dst.read_bytes()
    return Keyframe(
        timestamp=round(cand.timestamp, 6),
        path=dst,
        width=im.width,
        height=im.height,
        sha256=hashlib.sha256(data).hexdigest(),
        phash=phash_hex(open_image(dst)),
        source=cand.source,
    )


def _stale_outputs(out: Path, count: int) -> list[Path]:
    """kf_NNNN.jpg files from an earlier run with more frames (keeps re-runs idempotent)."""
    stale = []
    for p in out.glob("kf_*.jpg"):
        stem = p.stem[3:]
        if stem.isdigit() and int(stem) >= count:
            stale.append(p)
    return stale
