"""PDQ of one frame per second of a video, for the gaps between kept keyframes.

One ffmpeg pass decodes the video at 1 frame per second (``fps=1:round=up``: the frame
shown at 0 s, 1 s, 2 s, ...; ``round=down`` would emit the last frame *before* each tick,
0.9 s late at 10 fps, and mislabel every timestamp), area-averaged to
64x64 (the size PDQ reduces every image to; vPDQ lets ffmpeg do it too) and piped as raw
RGB. An area average is mirror-symmetric, which PDQ's own decimation (every other pixel
of a small frame) is not, so a mirrored copy gives the mirrored 64x64 and the dihedral
hashes match; each frame is hashed as it arrives, so memory stays at
one frame. Frames within half a second of a kept keyframe are skipped: that keyframe
already stands for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.video import _run
from app.video.pdq import PdqResult, pdq_rgb

SIDE = 64
RECORD = SIDE * SIDE * 3


@dataclass(frozen=True)
class SampledFrame:
    timestamp: float
    pdq: PdqResult


def hash_seconds(
    path: Path,
    *,
    skip_near: Sequence[float] = (),
    timeout: float,
    every: float = 1.0,
) -> list[SampledFrame]:
    """PDQ of a frame every ``every`` seconds, except those within ``every / 2`` of a
    timestamp in ``skip_near`` (the kept keyframes)."""
    near = np.asarray(sorted(skip_near), dtype=np.float64)
    frames: list[SampledFrame] = []
    count = 0

    def on_record(record: bytearray) -> None:
        nonlocal count
        at = count * every
        count += 1
        if near.size and float(np.min(np.abs(near - at))) < every / 2:
            return
        rgb = np.frombuffer(bytes(record), dtype=np.uint8).reshape(SIDE, SIDE, 3)
        frames.append(SampledFrame(at, pdq_rgb(rgb)))

    args = [
        "ffmpeg", "-loglevel", "error", "-protocol_whitelist", "file",
        "-i", f"file:{path}", "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", f"fps=1/{every:g}:round=up,scale={SIDE}:{SIDE}:flags=area",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ]  # fmt: skip
    _run.stream(args, record_size=RECORD, timeout=timeout, on_record=on_record)
    return frames
