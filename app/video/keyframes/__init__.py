"""Keyframe extraction: one scan of keyframes only; the kept frames are finished meanwhile.

1. **Scan** (one ffmpeg process): decode keyframes only (``-skip_frame nokey``), turned to
   display orientation (autorotate), each shrunk by ffmpeg to a 32x32 RGB thumbnail and
   piped as raw video. Python reads the pipe as it arrives and decides, frame by frame,
   whether a keyframe is a near-duplicate of the last one kept. Times come from the
   ``pts`` that ``showinfo`` prints for each frame, times the filter's time base (never
   index / fps, and never the rounded ``pts_time``), so variable-frame-rate clips get
   true times.
2. **Finishing, while the scan runs** (:class:`_Online`; the keyframes-only decode keeps
   about one core busy, this uses the other): each kept frame, and each dropped frame
   that coverage (3) will take back, is turned into a JPEG of at most ``max_size``
   pixels at once, one of two ways:

   - **captured**: where the keyframe before it is at least :data:`CAPTURE_GAP` earlier
     (long GOPs: few keyframes, each dear to decode again), the scan's decoder output is
     split and the picture also leaves ffmpeg raw through a second pipe (8- and 10-bit
     4:2:0 streams). One long-lived ffmpeg (:class:`_Converter`) scales it and converts
     its colours with the stream's range and matrix: the same pixels a seek gives. Each
     picture is checked against the scan's thumbnail of the same frame, so a frame can
     never be filed under another frame's time;
   - **sought**: the others are decoded again, each through an input-side seek to its
     exact pts, a few per ffmpeg run (:class:`_Seeker`). With short GOPs that costs less
     than piping every keyframe's picture out of the scan.
3. **Coverage**: where kept frames are more than ``min_interval`` apart, a dropped
   keyframe inside the gap is taken back; only where the clip has no keyframe in the gap
   (a long GOP) is a frame decoded at that time with an input-side seek, after the scan,
   as is any frame whose finishing failed (:func:`_render`).

4. **Cuts without a keyframe**: encoders usually start a new GOP at a cut, but not always
   (x264 let a cut into noise pass; edited compilations often use fixed long GOPs). As
   soon as the scan meets two keyframes more than :data:`CUT_WINDOW` apart (or, after
   the scan, when the last keyframe is that far from the end), a thread lists
   the video's packets (ffprobe, no decoding: each one's time, size and key flag) and
   looks for a frame that is no keyframe but coded like one: at least
   :data:`CUT_KEY_SHARE` of the size of its GOP's keyframe and :data:`CUT_JUMP` times the
   median of the :data:`CUT_HISTORY` frames before it (inside one shot a predicted frame
   is a small fraction of its keyframe; B-frames smaller still). Where no keyframe follows
   within :data:`CUT_WINDOW`, the frame there is decoded by seeking, meanwhile, and kept
   (source ``"cut"``) unless it is a near-duplicate of the kept frame before it. Short
   GOPs never start the thread: their keyframes already come within the window.

Near-duplicates: a keyframe is dropped when, compared with the last kept frame, its
64-bit pHash is within ``phash_threshold`` bits **or** its 32x32 thumbnail differs by at
most ``diff_threshold`` on average (mean absolute difference per channel, 0-255). pHash
alone cannot tell motion inside a shot from a cut: on the benchmark clips neighbouring
keyframes of one moving shot are 18-40 bits apart and cuts 26-36 bits, while the
thumbnail difference is at most ~30 inside a shot (bar a fast zoom) and at least ~64 at a
cut. A negative threshold turns that test off.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import functools
import hashlib
import os
import queue
import re
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

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
    source: str  # "keyframe" | "coverage" | "cut"


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
    """Collects showinfo's per-frame ``pts`` and time base from stderr (thread-safe).

    ffmpeg runs with ``-copyts``, so pts are the file's own; times are given from
    ``origin``, the file's start (the probe's ``start_time``): where ffmpeg itself shifts
    timestamps depends on the outputs and on seeking, and it shifted the first frame of
    MPEG-TS and AVI files differently from the rest.
    """

    def __init__(
        self,
        origin: Fraction = Fraction(0),
        *,
        gap: Fraction | None = None,
        on_gap: Callable[[], None] | None = None,
    ) -> None:
        self.origin = origin
        self._lock = threading.Lock()
        self.pts: dict[int, list[int]] = {}
        self.timebase: dict[int, Fraction] = {}
        self._gap, self._on_gap = gap, on_gap  # called once two frames are > gap apart

    def line(self, text: str) -> None:
        if "Parsed_showinfo_" not in text:
            return
        wide = False
        with self._lock:
            if m := _SHOWINFO.search(text):
                values = self.pts.setdefault(int(m.group(1)), [])
                values.append(int(m.group(3)))
                tb = self.timebase.get(int(m.group(1)))
                if self._on_gap and self._gap is not None and tb and len(values) > 1:
                    wide = (values[-1] - values[-2]) * tb > self._gap
            elif m := _TIMEBASE.search(text):
                self.timebase[int(m.group(1))] = Fraction(int(m.group(2)), int(m.group(3)))
        if wide and self._on_gap:
            on_gap, self._on_gap = self._on_gap, None
            on_gap()

    def seconds(self, instance: int, index: int) -> Fraction | None:
        with self._lock:
            values = self.pts.get(instance, [])
            tb = self.timebase.get(instance)
            if tb is None or index >= len(values):
                return None
            return values[index] * tb - self.origin

    def raw(self, instance: int, index: int) -> tuple[int, Fraction] | None:
        """The ``pts`` integer and time base of one frame."""
        with self._lock:
            values = self.pts.get(instance, [])
            tb = self.timebase.get(instance)
            return (values[index], tb) if tb is not None and index < len(values) else None

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
            return values[-1] * tb - self.origin if values else None


@dataclass
class _Thumb:
    pixels: np.ndarray  # THUMB x THUMB x 3, int16
    phash: int


def _thumb(record: bytes | bytearray) -> _Thumb:
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
    thumbs: list[_Thumb]  # of the kept ones


# Pixel formats whose raw pictures the scan hands over (bytes per sample); other streams
# get every chosen frame through the render's seeks.
_CAPTURE_FORMATS = {"yuv420p": 1, "yuvj420p": 1, "yuv420p10le": 2}
_COLOUR_NAME = re.compile(r"^[a-z0-9]{1,24}$")
# mean difference (0-255) allowed between a captured picture shrunk to 32x32 and the
# scan's thumbnail of the same frame (measured: under 3; frames of different shots: 60+)
_CAPTURE_CHECK = 12.0


@dataclass(frozen=True)
class _RawFormat:
    """Layout and colour tags of the raw pictures the scan's second output carries."""

    pix_fmt: str
    width: int
    height: int
    color_range: str | None
    color_space: str | None

    @property
    def frame_bytes(self) -> int:
        chroma = -(-self.width // 2) * -(-self.height // 2)
        return (self.width * self.height + 2 * chroma) * _CAPTURE_FORMATS[self.pix_fmt]


def _raw_format(info: dict[str, Any]) -> _RawFormat | None:
    """The capture's format from the probe (display size), or None when not capturable."""
    pix_fmt, width, height = info.get("pix_fmt"), info.get("width"), info.get("height")
    if pix_fmt not in _CAPTURE_FORMATS or not width or not height:
        return None

    def tag(value: Any) -> str | None:
        ok = isinstance(value, str) and _COLOUR_NAME.match(value) and value != "unknown"
        return value if ok else None

    return _RawFormat(
        str(pix_fmt), int(width), int(height), tag(info.get("color_range")),
        tag(info.get("color_space")),
    )  # fmt: skip


# A keyframe's raw picture leaves the scan only when the keyframe before it is at least
# this many seconds earlier (and for the first frame). Long GOPs have few keyframes, each
# dear to decode again (long B-frame chains, big frames); short GOPs have many, where
# piping every picture costs the scan more than seeking to the few that are kept.
CAPTURE_GAP = 2.0
# The frames kept without a picture are decoded again by seeking in runs of this many.
SEEK_BATCH = 4

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


def _cut_frames(
    path: Path,
    demuxer: str,
    work: Path,
    max_size: int,
    deadline: _Deadline,
    origin: Fraction,
) -> list[tuple[Fraction, Path, _Thumb]]:
    """Decode the frame at each hidden cut (by seeking); with its thumbnail."""
    cuts = hidden_cuts(video_packets(path, demuxer, deadline.left(), origin))[:CUT_MAX]
    if not cuts:
        return []
    picks = [_Pick(at, "cut", False) for at in cuts]
    found = []
    rendered = _render(
        path, demuxer, picks, work, max_size, deadline, "cut", origin=origin, refs_only=True
    )
    for got in rendered:
        if got is not None:
            at, image = got
            with open_image(image) as im:
                small = im.resize((THUMB, THUMB), Image.Resampling.BOX)  # already RGB
            found.append((at, image, _thumb(small.tobytes())))
    return found


def _new_cuts(
    scan: _Scan,
    frames: list[tuple[Fraction, Path, _Thumb]],
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


class _Online:
    """Finishes the frames the scan keeps while the scan is still running.

    A frame is handled once its thumbnail verdict and its time (showinfo, on stderr) have
    arrived, in frame order. A kept frame goes at once to ``seek``, or, when the scan sends
    its raw picture (:data:`CAPTURE_GAP`), to ``capture`` as soon as the picture is there
    (ffmpeg writes each picture out only when the next sent one reaches it, so pictures
    lag). The last dropped frame is held back and taken when the next frame shows that
    coverage will take it (it is more than ``step`` after the last taken one), as
    :func:`_coverage` does afterwards. Pictures of frames nobody takes are let go on
    arrival; at most ``in_flight`` pictures wait for the converter, so memory stays
    bounded: the scan waits instead.
    """

    def __init__(
        self,
        info: _Showinfo,
        step: Fraction | None,
        capture: Callable[[int, Fraction, bytearray, _Thumb], Future[Keyframe]] | None,
        seek: Callable[[int, Fraction], Future[Keyframe]],
        in_flight: int,
    ) -> None:
        self.info, self.step, self.capture, self.seek = info, step, capture, seek
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(in_flight)
        self._verdicts: list[tuple[bool, _Thumb]] = []
        self._next = 0
        self._last: Fraction | None = None
        self._spare: tuple[int, Fraction, _Thumb] | None = None
        self._expected: collections.deque[int] = collections.deque()  # sent, not yet here
        self._pictures: dict[int, bytearray] = {}  # the spare's, if it came
        self._arrived: collections.deque[bytearray] = collections.deque()  # not yet paired
        self._waiting: dict[int, tuple[Fraction, _Thumb, Future[Keyframe]]] = {}
        self.done: dict[int, Future[Keyframe]] = {}

    def verdict(self, kept: bool, thumb: _Thumb) -> None:
        with self._lock:
            self._verdicts.append((kept, thumb))
            self._advance()

    def picture(self, raw: bytearray) -> None:
        with self._lock:
            self._arrived.append(raw)
            self._advance()

    def _pair(self) -> None:
        """Match arrived pictures with the sent frames, in order (a picture can come
        before its frame's time has been read from stderr)."""
        while self._expected and self._arrived:
            n, raw = self._expected.popleft(), self._arrived.popleft()
            if n in self._waiting:
                at, thumb, future = self._waiting.pop(n)
                self._capture(n, at, raw, thumb, future)
            elif self._spare is not None and self._spare[0] == n:
                self._pictures[n] = raw

    def line(self, text: str) -> None:
        self.info.line(text)
        if "Parsed_showinfo_" in text:
            with self._lock:
                self._advance()

    def finish(self, end: Fraction) -> bool:
        """After the scan: the last spare if coverage needs it. False if the outputs
        did not line up (then nothing taken here is used)."""
        with self._lock:
            self._advance()
            spare, last, step = self._spare, self._last, self.step
            if spare and last is not None and step and max(end, last) - last > step:
                self._take(*spare)
            aligned = (
                self._next == len(self._verdicts)
                and not self._expected
                and not self._arrived
                and not self._waiting
            )
            for _, _, future in self._waiting.values():
                future.set_exception(VideoError("the scan did not send that frame's picture"))
            self._waiting.clear()
            self._spare = None
            self._pictures.clear()
            self._arrived.clear()
            return aligned

    def _sent(self, n: int) -> bool:
        """Whether the scan sends frame ``n``'s picture: the select expression of
        :func:`_scan` (``eq(n,0)+gte(t-prev_t,CAPTURE_GAP)``), computed the same way (in
        double precision, ``t`` = pts x time base)."""
        if self.capture is None:
            return False
        if n == 0:
            return True
        instance = self.info.only()
        here, before = self.info.raw(instance, n), self.info.raw(instance, n - 1)
        if here is None or before is None:
            return False
        q = here[1].numerator / here[1].denominator
        return float(here[0]) * q - float(before[0]) * q >= CAPTURE_GAP

    def _advance(self) -> None:
        instance = self.info.only()
        while self._next < len(self._verdicts):
            n = self._next
            at = self.info.seconds(instance, n)
            if at is None:
                break
            if self._sent(n):
                self._expected.append(n)
            kept, thumb = self._verdicts[n]
            self._next += 1
            spare, self._spare = self._spare, None
            if spare and self._last is not None and self.step and at - self._last > self.step:
                self._take(*spare)
            elif spare:
                self._pictures.pop(spare[0], None)
            if kept:
                self._take(n, at, thumb)
            elif self.step is not None:
                self._spare = (n, at, thumb)
            self._pair()
        self._pair()

    def _take(self, n: int, at: Fraction, thumb: _Thumb) -> None:
        self._last = at
        if n in self._pictures:
            self._capture(n, at, self._pictures.pop(n), thumb, None)
        elif n in self._expected:
            future: Future[Keyframe] = Future()
            self._waiting[n] = (at, thumb, future)
            self.done[n] = future
        else:
            self.done[n] = self.seek(n, at)

    def _capture(
        self,
        n: int,
        at: Fraction,
        raw: bytearray,
        thumb: _Thumb,
        future: Future[Keyframe] | None,
    ) -> None:
        assert self.capture is not None
        self._slots.acquire()  # only pictures take memory
        done = self.capture(n, at, raw, thumb)
        done.add_done_callback(lambda _f: self._slots.release())
        if future is None:
            self.done[n] = done
        else:
            done.add_done_callback(functools.partial(_settle, future))


def _scan(
    path: Path,
    demuxer: str,
    deadline: _Deadline,
    *,
    phash_threshold: int,
    diff_threshold: float,
    duration: float,
    report: Callable[[float], None],
    online: _Online | None = None,
    raw: _RawFormat | None = None,
    origin: Fraction = Fraction(0),
) -> _Scan:
    info = online.info if online else _Showinfo(origin)
    kept: list[int] = []
    kept_thumbs: list[_Thumb] = []
    last: list[_Thumb] = []
    seen = 0

    def on_record(record: bytearray) -> None:
        nonlocal seen
        thumb = _thumb(record)
        keep = not last or not is_near_duplicate(last[0], thumb, phash_threshold, diff_threshold)
        if keep:
            kept.append(seen)
            kept_thumbs.append(thumb)
            last[:] = [thumb]
        seen += 1
        if online:
            online.verdict(keep, thumb)
        at = info.latest()
        if at is not None and duration > 0:
            report(min(1.0, max(0.0, float(at) / duration)))

    video = _input(path, demuxer, skip_frame="nokey")["v:0"]
    side = None
    if online and raw:
        split = video.filter_multi_output("split")
        video, full = split[0], split[1]
    thumbs = video.filter("scale", THUMB, THUMB, flags="area").filter("showinfo", checksum=0)
    outputs = [
        thumbs.output(
            "pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough", loglevel="info"
        )
    ]
    if online and raw:
        side = _run.side_pipe(raw.frame_bytes, online.picture)
        outputs.append(
            full.filter("select", f"eq(n,0)+gte(t-prev_t,{CAPTURE_GAP})")
            .filter("scale", raw.width, raw.height)  # a no-op at the probed size
            .output(
                f"pipe:{side.write_fd}",
                format="rawvideo",
                pix_fmt=raw.pix_fmt,
                fps_mode="passthrough",
            )
        )
    text = _run.stream(
        ffmpeg.merge_outputs(*outputs).global_args("-copyts").compile(),
        record_size=_THUMB_BYTES,
        timeout=deadline.left(),
        on_record=on_record,
        on_stderr_line=online.line if online else info.line,
        side=side,
    )
    instance = info.only()
    times = [info.seconds(instance, i) for i in range(seen)]
    if not seen:
        raise VideoError("ffmpeg found no keyframes in the video", stderr_tail=text)
    if any(t is None for t in times):
        raise VideoError("ffmpeg did not report a timestamp for every keyframe", stderr_tail=text)
    return _Scan([t for t in times if t is not None], kept, kept_thumbs)


@dataclass
class _Pick:
    at: Fraction  # seconds on the scan's timeline
    source: str  # "keyframe" | "coverage" | "cut"
    on_keyframe: bool  # seek straight to this keyframe (else: decode up to ``at``)
    index: int | None = None  # the keyframe's index in the scan


def _coverage(scan: _Scan, duration: float, min_interval: float) -> list[_Pick]:
    """Kept keyframes plus enough extra frames that no gap exceeds ``min_interval``."""
    picks = [_Pick(scan.times[i], "keyframe", True, i) for i in scan.kept]
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
            inside = [i for i in spare if at < scan.times[i] <= at + step]
            if inside:  # a keyframe the dedup dropped covers the gap: no seek needed
                taken = max(inside, key=lambda i: scan.times[i])
                at = scan.times[taken]
                out.append(_Pick(at, "coverage", True, taken))
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


def _seek_arg(at: Fraction) -> str:
    """``at`` rounded up to the microsecond (ffmpeg's -ss resolution), exact as text."""
    micro = -((-at * 1_000_000) // 1)  # ceil
    seconds, rest = divmod(int(micro), 1_000_000)
    return f"{seconds}.{rest:06d}"


def _render(
    path: Path,
    demuxer: str,
    picks: list[_Pick],
    work: Path,
    max_size: int,
    deadline: _Deadline,
    name: str = "r",
    *,
    origin: Fraction = Fraction(0),
    refs_only: bool = False,
) -> list[tuple[Fraction, Path] | None]:
    """Decode each pick at full size into ``work``; return (real time, image) per pick.

    ``-ss`` is counted from the file's start (ffmpeg adds its start time), and with
    ``-copyts`` the frame keeps its own pts: its time is that minus ``origin``.
    ``refs_only``: a pick between keyframes is decoded skipping the frames nothing refers
    to (``-skip_frame noref``, one thread), so it lands on the first reference frame at or
    after its time; the same pixels at about half the CPU."""
    outputs = []
    for i, pick in enumerate(picks):
        if pick.on_keyframe:
            # rounding up keeps the seek on this keyframe; -noaccurate_seek keeps ffmpeg
            # from dropping it for starting a microsecond early. No -skip_frame here: with
            # B-frames the decoder holds its first picture until it has decoded the reorder
            # depth's worth of frames, and with non-keyframes skipped that meant reading on
            # to the next keyframes (hundreds of packets per pick; measured 2.7x slower).
            # One decoder thread: frame threads add their own delay of several packets.
            inp = _input(path, demuxer, ss=_seek_arg(pick.at), noaccurate_seek=None, threads=1)
        else:
            fast = {"skip_frame": "noref", "threads": 1} if refs_only else {}
            inp = _input(path, demuxer, ss=_seek_arg(max(Fraction(0), pick.at)), **fast)
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
    args = ffmpeg.merge_outputs(*outputs).global_args("-copyts").compile()
    info = _Showinfo(origin)
    _, stderr = _run.run(args, timeout=deadline.left())
    for line in stderr.splitlines():
        info.line(line)
    instances = sorted(info.timebase)
    result: list[tuple[Fraction, Path] | None] = []
    for i in range(len(picks)):
        dst = work / f"{name}_{i:04d}.ppm"
        at = info.seconds(instances[i], 0) if i < len(instances) else None
        result.append((at, dst) if at is not None and dst.exists() else None)
    return result


RENDER_PROCESSES = min(2, os.cpu_count() or 1)


def _render_all(
    path: Path,
    demuxer: str,
    picks: list[_Pick],
    work: Path,
    max_size: int,
    deadline: _Deadline,
    *,
    origin: Fraction = Fraction(0),
) -> list[tuple[Fraction, Path] | None]:
    """``_render`` in up to RENDER_PROCESSES ffmpeg processes at once (contiguous shares of
    the picks): each seek decodes with one thread, so a second process uses the core the
    first leaves idle. Results keep the picks' order."""
    parts = min(RENDER_PROCESSES, max(1, len(picks) // 4))
    if parts == 1:
        return _render(path, demuxer, picks, work, max_size, deadline, origin=origin)
    size = -(-len(picks) // parts)
    shares = [picks[i : i + size] for i in range(0, len(picks), size)]
    with ThreadPoolExecutor(len(shares), thread_name_prefix="kf-render") as pool:
        futures = [
            pool.submit(
                _render, path, demuxer, share, work, max_size, deadline, f"r{j}", origin=origin
            )
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
    capture: bool = True,
    cuts: bool = True,
) -> list[Keyframe]:
    """Extract deduplicated keyframes of ``path`` into ``out_dir`` as ``kf_0000.jpg`` ...

    ``phash_threshold`` < 0 and ``diff_threshold`` < 0 turn each dedup test off (both off:
    every keyframe is kept). ``min_interval`` <= 0 turns coverage off. ``capture=False``
    decodes every chosen frame again by seeking instead of taking any from the scan (the
    same frames; slower on long GOPs). ``cuts=False`` skips looking for cuts the encoder
    gave no keyframe (module docstring, 4). Raises :class:`VideoError` on failure or when
    ``timeout`` seconds (total) pass; ffmpeg is killed then.
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
    start = info["start_time"] if "start_time" in info else probe(src)["start_time"]
    origin = Fraction(start or 0)  # times count from the file's start, as players do
    report = progress or (lambda _fraction: None)
    report(0.0)
    work = Path(tempfile.mkdtemp(prefix=".kf-", dir=out))
    # JPEG encoding, fsync and hashing release the GIL; so do the ffmpeg runs waited on
    pool = ThreadPoolExecutor(RENDER_PROCESSES, thread_name_prefix="kf-publish")
    raw = _raw_format(info) if capture else None
    converter = _Converter(raw, work, max_size, deadline, pool) if raw else None
    seeker = _Seeker(src, demuxer, work, max_size, deadline, pool, origin)
    cut_pool = ThreadPoolExecutor(1, thread_name_prefix="kf-cuts")
    cut_job: list[Future[list[tuple[Fraction, Path, _Thumb]]]] = []

    def long_gop() -> None:  # from the scan's stderr reader, once
        cut_job.append(cut_pool.submit(_cut_frames, src, demuxer, work, max_size, deadline, origin))

    try:
        online = _Online(
            _Showinfo(origin, gap=Fraction(CUT_WINDOW), on_gap=long_gop if cuts else None),
            Fraction(min_interval) if min_interval > 0 else None,
            converter.put if converter else None,
            seeker.put,
            in_flight=2 * RENDER_PROCESSES,
        )
        scan = _scan(
            src,
            demuxer,
            deadline,
            phash_threshold=phash_threshold,
            diff_threshold=diff_threshold,
            duration=duration,
            report=lambda f: report(0.6 * f),
            online=online,
            raw=raw,
            origin=origin,
        )
        if cuts and not cut_job and duration - float(max(scan.times)) > CUT_WINDOW:
            long_gop()  # one long GOP at the end (or the only one)
        found = cut_job[0].result() if cut_job else []
        cut_images = dict(_new_cuts(scan, found, phash_threshold, diff_threshold))
        picks = _coverage(scan, duration, min_interval)
        picks += [_Pick(at, "cut", False) for at in cut_images]
        picks = _thin(sorted(picks, key=lambda p: p.at), max_count)
        aligned = online.finish(Fraction(duration))
        for worker in (converter, seeker):
            if worker is not None:
                worker.close()
        report(0.6)
        wanted = {p.index for p in picks if p.on_keyframe} if aligned else set()
        finished: dict[int, Keyframe] = {}
        for n, future in online.done.items():
            if n in wanted:
                with contextlib.suppress(VideoError):  # if so, decoded again below
                    finished[n] = future.result()
        rest = [
            p for p in picks if not (p.on_keyframe and p.index in finished) and p.source != "cut"
        ]
        rendered = iter(
            _render_all(src, demuxer, rest, work, max_size, deadline, origin=origin) if rest else []
        )
        report(0.8)
        chosen: list[tuple[Fraction, Path | Keyframe, str]] = []
        for pick in picks:
            got: tuple[Fraction, Path | Keyframe] | None
            if pick.on_keyframe and pick.index in finished:
                done = finished[pick.index]
                got = (Fraction(done.timestamp), done)
            elif pick.source == "cut":
                got = (pick.at, cut_images[pick.at])
            else:
                got = next(rendered)
            if got is None:
                if not chosen and pick.source == "keyframe":
                    raise VideoError(f"ffmpeg could not decode the frame at {float(pick.at):g} s")
                continue  # a coverage frame past the last decodable one
            at, image = got
            if chosen and at <= chosen[-1][0]:
                continue  # a seek landed on a frame already taken
            chosen.append((at, image, pick.source))
        futures = [
            pool.submit(_place, image, out / f"kf_{i:04d}.jpg", source)
            if isinstance(image, Keyframe)
            else pool.submit(_publish, at, image, out / f"kf_{i:04d}.jpg", source)
            for i, (at, image, source) in enumerate(chosen)
        ]
        result = []
        for i, future in enumerate(futures):
            result.append(future.result())
            report(0.8 + 0.2 * (i + 1) / len(chosen))
        for stale in _stale_outputs(out, len(result)):
            stale.unlink(missing_ok=True)
        report(1.0)
        return result
    finally:
        for worker in (converter, seeker):
            if worker is not None:
                worker.close()
        cut_pool.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(work, ignore_errors=True)


class _Seeker:
    """Decodes the frames the scan keeps again by seeking, while the scan goes on.

    One thread takes whatever frames have queued up and renders them in one ffmpeg run
    (:func:`_render`); the JPEGs are written on ``pool``.
    """

    def __init__(
        self,
        src: Path,
        demuxer: str,
        work: Path,
        max_size: int,
        deadline: _Deadline,
        pool: ThreadPoolExecutor,
        origin: Fraction,
    ) -> None:
        self.src, self.demuxer, self.work, self.origin = src, demuxer, work, origin
        self.max_size, self.deadline, self.pool = max_size, deadline, pool
        self._queue: queue.Queue[tuple[int, Fraction, Future[Keyframe]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="kf-seek", daemon=True)
        self._thread.start()

    def put(self, n: int, at: Fraction) -> Future[Keyframe]:
        future: Future[Keyframe] = Future()
        self._queue.put((n, at, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        batch: list[tuple[int, Fraction, Future[Keyframe]]] = []
        closing = False
        number = 0
        while not closing:
            item = self._queue.get()
            while item is not None:
                batch.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            closing = item is None
            # each ffmpeg run costs about 0.1 s of CPU before its first seek: wait for a few
            if batch and (closing or len(batch) >= SEEK_BATCH):
                self._render(batch, f"s{number}")
                batch, number = [], number + 1

    def _render(self, batch: list[tuple[int, Fraction, Future[Keyframe]]], name: str) -> None:
        picks = [_Pick(at, "keyframe", True, n) for n, at, _ in batch]
        error: Exception = VideoError("ffmpeg could not decode the frame")
        try:
            got = _render(
                self.src, self.demuxer, picks, self.work, self.max_size, self.deadline, name,
                origin=self.origin,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - those frames are decoded again later
            got, error = [None] * len(batch), exc
        for (n, _, future), result in zip(batch, got, strict=True):
            if result is None:
                future.set_exception(error)
                continue
            at, image = result
            done = self.pool.submit(_publish, at, image, self.work / f"c_{n:06d}.jpg", "keyframe")
            done.add_done_callback(functools.partial(_settle, future))


class _Converter:
    """One ffmpeg for the whole scan: raw pictures in on stdin, RGB at the stored size out.

    Pictures are scaled (bicubic, as the render does) and colour-converted as the stream
    declares them (``-color_range``/``-colorspace`` on the raw input), then written as
    JPEG on ``pool``. Each comes back as a Future, which fails when the picture does not
    look like the scan's thumbnail of the same frame (so a misaligned capture can never be
    filed under another time) or when ffmpeg fails.
    """

    def __init__(
        self,
        fmt: _RawFormat,
        work: Path,
        max_size: int,
        deadline: _Deadline,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.size = _fit(fmt.width, fmt.height, max_size)
        self.work, self.deadline, self.pool = work, deadline, pool
        colour = {"color_range": fmt.color_range, "colorspace": fmt.color_space}
        self.args = (
            ffmpeg.input(
                "pipe:0",
                f="rawvideo",
                pix_fmt=fmt.pix_fmt,
                s=f"{fmt.width}x{fmt.height}",
                protocol_whitelist="pipe",
                **{k: v for k, v in colour.items() if v},
            )
            .filter("scale", *self.size, flags="bicubic")
            .output("pipe:1", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
            .compile()
        )
        self._pictures: queue.Queue[bytearray | None] = queue.Queue()
        self._waiting: collections.deque[tuple[Fraction, _Thumb, Path, Future[Keyframe]]] = (
            collections.deque()
        )
        self._lock = threading.Lock()
        self._failed: Exception | None = None
        self._thread = threading.Thread(target=self._convert, name="kf-convert", daemon=True)
        self._thread.start()

    def put(self, n: int, at: Fraction, raw: bytearray, thumb: _Thumb) -> Future[Keyframe]:
        """Frame ``n``'s picture, to be written as ``c_<n>.jpg`` in ``work``."""
        dst = self.work / f"c_{n:06d}.jpg"
        future: Future[Keyframe] = Future()
        with self._lock:
            if self._failed is not None:
                future.set_exception(self._failed)
                return future
            self._waiting.append((at, thumb, dst, future))
            self._pictures.put(raw)
        return future

    def close(self) -> None:
        """No more pictures: wait until every one is converted (or has failed)."""
        self._pictures.put(None)
        self._thread.join()

    def _feed(self, stdin: IO[bytes]) -> None:
        while (raw := self._pictures.get()) is not None:
            stdin.write(raw)

    def _on_picture(self, rgb: bytearray) -> None:
        with self._lock:
            at, thumb, dst, future = self._waiting.popleft()
        im = Image.frombytes("RGB", self.size, rgb)
        small = np.asarray(im.resize((THUMB, THUMB), Image.Resampling.BOX), dtype=np.int16)
        if float(np.abs(small - thumb.pixels).mean()) > _CAPTURE_CHECK:
            future.set_exception(
                VideoError(f"the picture captured at {float(at):g} s does not match its frame")
            )
            return
        done = self.pool.submit(_publish, at, im, dst, "keyframe")
        done.add_done_callback(functools.partial(_settle, future))

    def _convert(self) -> None:
        error: Exception = VideoError("the capture converter had stopped")
        try:
            _run.stream(
                self.args,
                record_size=self.size[0] * self.size[1] * 3,
                timeout=self.deadline.left(),
                on_record=self._on_picture,
                feed=self._feed,
            )
        except Exception as exc:  # noqa: BLE001 - every waiting frame is decoded again instead
            error = exc
        finally:
            with self._lock:
                self._failed = error  # from now on put() fails at once
                left, self._waiting = list(self._waiting), collections.deque()
            for *_, future in left:
                future.set_exception(error)


def _settle(future: Future[Keyframe], done: Future[Keyframe]) -> None:
    if done.cancelled():
        future.cancel()
    elif (exc := done.exception()) is not None:
        future.set_exception(exc)
    else:
        future.set_result(done.result())


def _fit(width: int, height: int, max_size: int) -> tuple[int, int]:
    """The size :func:`_scale_dims` gives a ``width`` x ``height`` picture, as numbers
    (ffmpeg rounds the short side to the nearest even number)."""
    if width >= height:
        w = min(width, max_size)
        return w, max(2, (w * height + width) // (2 * width) * 2)
    h = min(height, max_size)
    return max(2, (h * width + height) // (2 * height) * 2), h


def _publish(at: Fraction, image: Image.Image | Path, dst: Path, source: str) -> Keyframe:
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


def _place(frame: Keyframe, dst: Path, source: str) -> Keyframe:
    """Move a JPEG finished during the scan to its final name."""
    os.replace(frame.path, dst)
    return replace(frame, path=dst, source=source)


def _stale_outputs(out: Path, count: int) -> list[Path]:
    """kf_NNNN.jpg files from an earlier run with more frames (keeps re-runs idempotent)."""
    stale = []
    for p in out.glob("kf_*.jpg"):
        stem = p.stem[3:]
        if stem.isdigit() and int(stem) >= count:
            stale.append(p)
    return stale
