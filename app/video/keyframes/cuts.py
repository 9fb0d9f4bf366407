"""Cuts the encoder gave no keyframe, found from the packet sizes alone (package docstring,
4), and the frames decoded there."""

from __future__ import annotations

import bisect
import collections
import contextlib
import statistics
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image

from app.video import _run
from app.video.images import open_image
from app.video.keyframes.frames import Deadline
from app.video.keyframes.render import render_picks
from app.video.keyframes.scan import Scan
from app.video.keyframes.selection import Pick
from app.video.keyframes.similarity import THUMB, Thumb, is_near_duplicate, make_thumb

# Cuts the encoder gave no keyframe (module docstring, 4). The window is the recall
# window of the benchmark: a kept frame within 2 s after a cut shows the new shot.
CUT_WINDOW = 2.0
CUT_KEY_SHARE = 0.5
CUT_JUMP = 2.0
CUT_HISTORY = 16
CUT_MAX = 20  # frames decoded for cuts per clip, at most


@dataclass(frozen=True)
class Packet:
    at: Fraction  # seconds from the file's start
    size: int
    key: bool


def video_packets(
    path: Path, demuxer: str, timeout: float, origin: Fraction = Fraction(0)
) -> list[Packet]:
    """The first video stream's packets in decode order (demuxed, never decoded)."""
    args = [
        "ffprobe", "-v", "error", "-protocol_whitelist", "file", "-f", demuxer,
        "-select_streams", "v:0", "-show_entries", "packet=pts_time,size,flags",
        "-of", "csv=p=0", f"file:{path}",
    ]  # fmt: skip
    out, _ = _run.run(args, timeout=timeout)
    packets = []
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split(",")
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        with contextlib.suppress(ValueError, ZeroDivisionError):  # N/A: no pts
            packets.append(Packet(Fraction(parts[0]) - origin, int(parts[1]), "K" in parts[2]))
    return packets


def hidden_cuts(
    packets: list[Packet],
    *,
    window: float = CUT_WINDOW,
    key_share: float = CUT_KEY_SHARE,
    jump: float = CUT_JUMP,
    history: int = CUT_HISTORY,
) -> list[Fraction]:
    """Times of frames that look like the first of a new shot although the encoder made
    them no keyframe, where no keyframe follows within ``window`` seconds; one per window."""
    found: list[Fraction] = []
    recent: collections.deque[int] = collections.deque(maxlen=history)
    key_size = 0
    for p in packets:  # decode order: each frame after its GOP's keyframe
        if p.key:
            key_size = p.size
            continue
        if (
            key_size
            and len(recent) >= 4
            and p.size >= key_share * key_size
            and p.size >= jump * statistics.median(recent)
        ):
            found.append(p.at)
        recent.append(p.size)
    keys = sorted(p.at for p in packets if p.key)
    out: list[Fraction] = []
    step = Fraction(window)
    for at in sorted(found):
        if out and at - out[-1] < step:
            continue  # the same cut (its B-frames), or one shot too short to matter
        i = bisect.bisect_left(keys, at)
        if i < len(keys) and keys[i] <= at + step:
            continue  # a keyframe shows this shot soon enough
        out.append(at)
    return out


def cut_frames(
    path: Path,
    demuxer: str,
    work: Path,
    max_size: int,
    deadline: Deadline,
    origin: Fraction,
) -> list[tuple[Fraction, Path, Thumb]]:
    """Decode the frame at each hidden cut (by seeking); with its thumbnail."""
    cuts = hidden_cuts(video_packets(path, demuxer, deadline.left(), origin))[:CUT_MAX]
    if not cuts:
        return []
    picks = [Pick(at, "cut", False) for at in cuts]
    found = []
    rendered = render_picks(
        path, demuxer, picks, work, max_size, deadline, "cut", origin=origin, refs_only=True
    )
    for got in rendered:
        if got is not None:
            at, image = got
            with open_image(image) as im:
                small = im.resize((THUMB, THUMB), Image.Resampling.BOX)  # already RGB
            found.append((at, image, make_thumb(small.tobytes())))
    return found


def new_cuts(
    scan: Scan,
    frames: list[tuple[Fraction, Path, Thumb]],
    phash_threshold: int,
    diff_threshold: float,
) -> list[tuple[Fraction, Path]]:
    """The cut frames that are no near-duplicate of the kept keyframe before them."""
    kept_times = [scan.times[i] for i in scan.kept]
    out = []
    for at, image, thumb in frames:
        i = bisect.bisect_right(kept_times, at) - 1
        if i >= 0 and kept_times[i] == at:
            continue  # the seek landed on a kept keyframe
        if i >= 0 and is_near_duplicate(scan.thumbs[i], thumb, phash_threshold, diff_threshold):
            continue
        out.append((at, image))
    return out
