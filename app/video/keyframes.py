"""Keyframe extraction: a scan of keyframes only, dedup and coverage, then one render pass.

1. **Scan** (one ffmpeg process): decode keyframes only (``-skip_frame nokey``), turned to
   display orientation (autorotate), each shrunk by ffmpeg to a 32x32 RGB thumbnail and
   piped as raw video. Python reads the pipe as it arrives and decides, frame by frame,
   whether a keyframe is a near-duplicate of the last one kept. Times come from the
   ``pts`` that ``showinfo`` prints for each frame, times the filter's time base (never
   index / fps, and never the rounded ``pts_time``), so variable-frame-rate clips get
   true times.
2. **Coverage**: where kept frames are more than ``min_interval`` apart, a dropped
   keyframe inside the gap is taken back; only where the clip has no keyframe in the gap
   (a long GOP) is a frame decoded at that time with an input-side seek.
3. **Render** (one ffmpeg process): only the selected frames are decoded again at full
   size, each through its own input-side seek (``-ss`` to its exact pts, keyframes
   only), scaled to at most ``max_size`` pixels and written once as JPEG by Pillow.

Near-duplicates: a keyframe is dropped when, compared with the last kept frame, its
64-bit pHash is within ``phash_threshold`` bits **or** its 32x32 thumbnail differs by at
most ``diff_threshold`` on average (mean absolute difference per channel, 0-255). pHash
alone cannot tell motion inside a shot from a cut: on the benchmark clips neighbouring
keyframes of one moving shot are 18-40 bits apart and cuts 26-36 bits, while the
thumbnail difference is at most ~30 inside a shot (bar a fast zoom) and at least ~64 at a
cut. A negative threshold turns that test off.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg
import imagehash
import numpy as np
from PIL import Image

from app.video import _run
from app.video.errors import VideoError
from app.video.images import open_image, save_jpeg
from app.video.probe import DEMUXERS, probe

THUMB = 32  # side of the thumbnail the scan compares (pHash also works on 32x32)
_THUMB_BYTES = THUMB * THUMB * 3
_SHOWINFO = re.compile(r"\[Parsed_showinfo_(\d+) @ [^\]]*\] n:\s*(\d+)\s+pts:\s*(-?\d+)\s")
_TIMEBASE = re.compile(r"\[Parsed_showinfo_(\d+) @ [^\]]*\] config in time_base:\s*(\d+)/(\d+)")


@dataclass(frozen=True)
class Keyframe:
    timestamp: float
    path: Path
    width: int
    height: int
    sha256: str
    phash: str
    source: str  # "keyframe" | "coverage"


def phash_hex(image: Image.Image) -> str:
    """64-bit perceptual hash as 16 hex characters."""
    return str(imagehash.phash(image, hash_size=8))


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes of equal length."""
    if len(a_hex) != len(b_hex):
        raise ValueError("hashes must have the same length")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


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


class _Showinfo:
    """Collects showinfo's per-frame ``pts`` and time base from stderr (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pts: dict[int, list[int]] = {}
        self.timebase: dict[int, Fraction] = {}

    def line(self, text: str) -> None:
        if "Parsed_showinfo_" not in text:
            return
        with self._lock:
            if m := _SHOWINFO.search(text):
                self.pts.setdefault(int(m.group(1)), []).append(int(m.group(3)))
            elif m := _TIMEBASE.search(text):
                self.timebase[int(m.group(1))] = Fraction(int(m.group(2)), int(m.group(3)))

    def seconds(self, instance: int, index: int) -> Fraction | None:
        with self._lock:
            values = self.pts.get(instance, [])
            tb = self.timebase.get(instance)
            return values[index] * tb if tb is not None and index < len(values) else None

    def only(self) -> int:
        """The instance number when the graph has a single showinfo."""
        with self._lock:
            return next(iter(self.timebase), -1)

    def latest(self) -> Fraction | None:
        with self._lock:
            if len(self.timebase) != 1:
                return None
            instance, tb = next(iter(self.timebase.items()))
            values = self.pts.get(instance)
            return values[-1] * tb if values else None


@dataclass
class _Thumb:
    pixels: np.ndarray  # THUMB x THUMB x 3, int16
    phash: int


def _thumb(record: bytes) -> _Thumb:
    pixels = np.frombuffer(record, dtype=np.uint8).reshape(THUMB, THUMB, 3)
    bits = imagehash.phash(Image.fromarray(pixels), hash_size=8)
    return _Thumb(pixels.astype(np.int16), int(str(bits), 16))


def is_near_duplicate(a: _Thumb, b: _Thumb, phash_threshold: int, diff_threshold: float) -> bool:
    """True when ``b`` adds nothing visible to ``a`` (see the module docstring)."""
    if phash_threshold >= 0 and (a.phash ^ b.phash).bit_count() <= phash_threshold:
        return True
    return diff_threshold >= 0 and float(np.abs(a.pixels - b.pixels).mean()) <= diff_threshold


@dataclass
class _Scan:
    times: list[Fraction]  # every keyframe, in decode order
    kept: list[int]  # indexes into times


def _scan(
    path: Path,
    demuxer: str,
    deadline: _Deadline,
    *,
    phash_threshold: int,
    diff_threshold: float,
    duration: float,
    report: Callable[[float], None],
) -> _Scan:
    info = _Showinfo()
    kept: list[int] = []
    last: list[_Thumb] = []
    seen = 0

    def on_record(record: bytes) -> None:
        nonlocal seen
        thumb = _thumb(record)
        if not last or not is_near_duplicate(last[0], thumb, phash_threshold, diff_threshold):
            kept.append(seen)
            last[:] = [thumb]
        seen += 1
        at = info.latest()
        if at is not None and duration > 0:
            report(min(1.0, max(0.0, float(at) / duration)))

    args = (
        _input(path, demuxer, skip_frame="nokey")
        .output(
            "pipe:",
            vf=f"scale={THUMB}:{THUMB}:flags=area,showinfo=checksum=0",
            map="0:v:0",
            format="rawvideo",
            pix_fmt="rgb24",
            fps_mode="passthrough",
            loglevel="info",
        )
        .compile()
    )
    text = _run.stream(
        args,
        record_size=_THUMB_BYTES,
        timeout=deadline.left(),
        on_record=on_record,
        on_stderr_line=info.line,
    )
    instance = info.only()
    times = [info.seconds(instance, i) for i in range(seen)]
    if not seen:
        raise VideoError("ffmpeg found no keyframes in the video", stderr_tail=text)
    if any(t is None for t in times):
        raise VideoError("ffmpeg did not report a timestamp for every keyframe", stderr_tail=text)
    return _Scan([t for t in times if t is not None], kept)


@dataclass
class _Pick:
    at: Fraction  # seconds on the scan's timeline
    source: str  # "keyframe" | "coverage"
    on_keyframe: bool  # seek straight to this keyframe (else: decode up to ``at``)


def _coverage(scan: _Scan, duration: float, min_interval: float) -> list[_Pick]:
    """Kept keyframes plus enough extra frames that no gap exceeds ``min_interval``."""
    picks = [_Pick(scan.times[i], "keyframe", True) for i in scan.kept]
    if min_interval <= 0:
        return picks
    step = Fraction(min_interval)
    end = Fraction(duration)
    out: list[_Pick] = []
    spare = sorted(set(range(len(scan.times))) - set(scan.kept), key=lambda i: scan.times[i])
    bounds = [*picks, _Pick(max(end, picks[-1].at), "end", False)]
    for here, nxt in zip(bounds, bounds[1:], strict=False):
        out.append(here)
        at = here.at
        while nxt.at - at > step:
            inside = [scan.times[i] for i in spare if at < scan.times[i] <= at + step]
            if inside:  # a keyframe the dedup dropped covers the gap: no seek needed
                at = max(inside)
                out.append(_Pick(at, "coverage", True))
            else:  # a long GOP: decode a frame here (the rest of the gap evenly split)
                gap = nxt.at - at
                at = at + gap / -(-gap // step)
                out.append(_Pick(at, "coverage", False))
    return out


def _thin(items: list[_Pick], max_count: int) -> list[_Pick]:
    if len(items) <= max_count:
        return items
    if max_count <= 1:
        return items[:1]
    picks = sorted({round(i * (len(items) - 1) / (max_count - 1)) for i in range(max_count)})
    return [items[i] for i in picks]


def _seek_arg(at: Fraction) -> tuple[Fraction, str]:
    """``at`` rounded up to the microsecond (ffmpeg's -ss resolution), exact as text."""
    micro = -((-at * 1_000_000) // 1)  # ceil
    seconds, rest = divmod(int(micro), 1_000_000)
    return Fraction(int(micro), 1_000_000), f"{seconds}.{rest:06d}"


def _render(
    path: Path,
    demuxer: str,
    picks: list[_Pick],
    work: Path,
    max_size: int,
    deadline: _Deadline,
    name: str = "r",
) -> list[tuple[Fraction, Path] | None]:
    """Decode each pick at full size into ``work``; return (real time, image) per pick."""
    outputs = []
    seeks = []
    for i, pick in enumerate(picks):
        if pick.on_keyframe:
            # rounding up keeps the seek on this keyframe; -noaccurate_seek keeps ffmpeg
            # from dropping it for starting a microsecond early. No -skip_frame here: with
            # B-frames the decoder holds its first picture until it has decoded the reorder
            # depth's worth of frames, and with non-keyframes skipped that meant reading on
            # to the next keyframes (hundreds of packets per pick; measured 2.7x slower).
            # One decoder thread: frame threads add their own delay of several packets.
            ss, text = _seek_arg(pick.at)
            inp = _input(path, demuxer, ss=text, noaccurate_seek=None, threads=1)
        else:
            ss, text = _seek_arg(max(Fraction(0), pick.at))
            inp = _input(path, demuxer, ss=text)
        seeks.append(ss)
        video = (
            inp["v:0"]
            .filter("trim", end_frame=1)
            .filter("showinfo", checksum=0)
            .filter("scale", **_scale_dims(max_size), flags="bicubic")
        )
        outputs.append(
            video.output(
                str(work / f"{name}_{i:04d}.ppm"),
                **{"frames:v": 1, "update": 1, "fps_mode": "passthrough", "c:v": "ppm"},
                **({"loglevel": "info"} if i == 0 else {}),
            )
        )
    args = ffmpeg.merge_outputs(*outputs).compile()
    info = _Showinfo()
    _, stderr = _run.run(args, timeout=deadline.left())
    for line in stderr.splitlines():
        info.line(line)
    instances = sorted(info.timebase)
    result: list[tuple[Fraction, Path] | None] = []
    for i, ss in enumerate(seeks):
        dst = work / f"{name}_{i:04d}.ppm"
        rel = info.seconds(instances[i], 0) if i < len(instances) else None
        result.append((ss + rel, dst) if rel is not None and dst.exists() else None)
    return result


RENDER_PROCESSES = min(2, os.cpu_count() or 1)


def _render_all(
    path: Path,
    demuxer: str,
    picks: list[_Pick],
    work: Path,
    max_size: int,
    deadline: _Deadline,
) -> list[tuple[Fraction, Path] | None]:
    """``_render`` in up to RENDER_PROCESSES ffmpeg processes at once (contiguous shares of
    the picks): each seek decodes with one thread, so a second process uses the core the
    first leaves idle. Results keep the picks' order."""
    parts = min(RENDER_PROCESSES, max(1, len(picks) // 4))
    if parts == 1:
        return _render(path, demuxer, picks, work, max_size, deadline)
    size = -(-len(picks) // parts)
    shares = [picks[i : i + size] for i in range(0, len(picks), size)]
    with ThreadPoolExecutor(len(shares), thread_name_prefix="kf-render") as pool:
        futures = [
            pool.submit(_render, path, demuxer, share, work, max_size, deadline, f"r{j}")
            for j, share in enumerate(shares)
        ]
        results = [f.result() for f in futures]
    return [got for part in results for got in part]


def _scale_dims(max_size: int) -> dict[str, str]:
    """The long side at most ``max_size`` (never enlarged), the other even, aspect kept."""
    m = int(max_size)
    return {"w": f"if(gte(iw,ih),min(iw,{m}),-2)", "h": f"if(gte(iw,ih),-2,min(ih,{m}))"}


def extract_keyframes(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    min_interval: float = 30.0,
    phash_threshold: int = 10,
    diff_threshold: float = 40.0,
    max_count: int = 60,
    max_size: int = 1280,
    timeout: float = 600,
    probe_info: dict[str, Any] | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[Keyframe]:
    """Extract deduplicated keyframes of ``path`` into ``out_dir`` as ``kf_0000.jpg`` ...

    ``phash_threshold`` < 0 and ``diff_threshold`` < 0 turn each dedup test off (both off:
    every keyframe is kept). ``min_interval`` <= 0 turns coverage off. Raises
    :class:`VideoError` on failure or when ``timeout`` seconds (total) pass; ffmpeg is
    killed then.
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
    duration = float(info["duration"] or 0.0)
    report = progress or (lambda _fraction: None)
    report(0.0)
    work = Path(tempfile.mkdtemp(prefix=".kf-", dir=out))
    try:
        scan = _scan(
            src,
            demuxer,
            deadline,
            phash_threshold=phash_threshold,
            diff_threshold=diff_threshold,
            duration=duration,
            report=lambda f: report(0.6 * f),
        )
        report(0.6)
        picks = _thin(_coverage(scan, duration, min_interval), max_count)
        rendered = _render_all(src, demuxer, picks, work, max_size, deadline)
        report(0.8)
        chosen: list[tuple[Fraction, Path, str]] = []
        for pick, got in zip(picks, rendered, strict=True):
            if got is None:
                if not chosen and pick.source == "keyframe":
                    raise VideoError(f"ffmpeg could not decode the frame at {float(pick.at):g} s")
                continue  # a coverage frame past the last decodable one
            at, image = got
            if chosen and at <= chosen[-1][0]:
                continue  # a seek landed on a frame already taken
            chosen.append((at, image, pick.source))
        result = []
        # JPEG encoding, fsync and hashing release the GIL: two frames at a time
        with ThreadPoolExecutor(RENDER_PROCESSES, thread_name_prefix="kf-publish") as pool:
            futures = [
                pool.submit(_publish, at, image, source, out, i)
                for i, (at, image, source) in enumerate(chosen)
            ]
            for i, future in enumerate(futures):
                result.append(future.result())
                report(0.8 + 0.2 * (i + 1) / len(chosen))
        for stale in _stale_outputs(out, len(result)):
            stale.unlink(missing_ok=True)
        report(1.0)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _publish(at: Fraction, raw: Path, source: str, out: Path, index: int) -> Keyframe:
    im = open_image(raw)
    dst = save_jpeg(im, out / f"kf_{index:04d}.jpg")
    data = dst.read_bytes()
    return Keyframe(
        timestamp=round(float(at), 6),
        path=dst,
        width=im.width,
        height=im.height,
        sha256=hashlib.sha256(data).hexdigest(),
        phash=phash_hex(open_image(dst)),
        source=source,
    )


def _stale_outputs(out: Path, count: int) -> list[Path]:
    """kf_NNNN.jpg files from an earlier run with more frames (keeps re-runs idempotent)."""
    stale = []
    for p in out.glob("kf_*.jpg"):
        stem = p.stem[3:]
        if stem.isdigit() and int(stem) >= count:
            stale.append(p)
    return stale
