"""What every stage shares: the :class:`Keyframe` record, the deadline, ffmpeg's locked-down
input, the output size, and writing a frame as its final JPEG."""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import Future
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg
from PIL import Image

from app.storage import derivatives
from app.video.errors import VideoError
from app.video.images import open_image, save_jpeg
from app.video.keyframes.similarity import phash_hex


@dataclass(frozen=True)
class Keyframe:
    timestamp: float
    path: Path
    width: int
    height: int
    sha256: str
    phash: str
    source: str  # "keyframe" | "coverage" | "cut"


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise VideoError(f"keyframe extraction took longer than {self.total:g} seconds")
        return remaining


def ffmpeg_input(path: Path, demuxer: str, **extra: Any) -> Any:
    return ffmpeg.input(f"file:{path}", f=demuxer, protocol_whitelist="file", **extra)


def scale_dims(max_size: int) -> dict[str, str]:
    """The long side at most ``max_size`` (never enlarged), the other even, aspect kept."""
    m = int(max_size)
    return {"w": f"if(gte(iw,ih),min(iw,{m}),-2)", "h": f"if(gte(iw,ih),-2,min(ih,{m}))"}


def settle(future: Future[Keyframe], done: Future[Keyframe]) -> None:
    if done.cancelled():
        future.cancel()
    elif (exc := done.exception()) is not None:
        future.set_exception(exc)
    else:
        future.set_result(done.result())


def fit(width: int, height: int, max_size: int) -> tuple[int, int]:
    """The size :func:`scale_dims` gives a ``width`` x ``height`` picture, as numbers
    (ffmpeg rounds the short side to the nearest even number)."""
    if width >= height:
        w = min(width, max_size)
        return w, max(2, (w * height + width) // (2 * width) * 2)
    h = min(height, max_size)
    return max(2, (h * width + height) // (2 * height) * 2), h


def publish(at: Fraction, image: Image.Image | Path, dst: Path, source: str) -> Keyframe:
    """Write ``image`` (or the picture in that file) as the JPEG ``dst`` (atomically,
    fsynced) and describe it."""
    im = image if isinstance(image, Image.Image) else open_image(image)
    save_jpeg(im, dst)
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


def place(frame: Keyframe, dst: Path, source: str) -> Keyframe:
    """Move a JPEG finished during the scan to its final name."""
    os.replace(frame.path, dst)
    return replace(frame, path=dst, source=source)


def stale_outputs(out: Path, count: int) -> list[Path]:
    """Keyframe files from an earlier run with more frames (keeps re-runs idempotent)."""
    stale = []
    for p in out.glob(derivatives.KEYFRAME_GLOB):
        position = derivatives.keyframe_position(p.name)
        if position is not None and position >= count:
            stale.append(p)
    return stale
