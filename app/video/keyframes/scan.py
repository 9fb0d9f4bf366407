"""The scan: one ffmpeg decoding keyframes only, each shrunk to a thumbnail and judged as it
arrives; :class:`Online` finishes the kept frames while the scan still runs (package
docstring, 1 and 2)."""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg

from app.video import _run
from app.video.errors import VideoError
from app.video.keyframes import capture as capture_mod
from app.video.keyframes.capture import RawFormat
from app.video.keyframes.frames import Deadline, Keyframe, ffmpeg_input, settle
from app.video.keyframes.showinfo import Showinfo
from app.video.keyframes.similarity import THUMB, THUMB_BYTES, Thumb, is_near_duplicate, make_thumb


@dataclass
class Scan:
    times: list[Fraction]  # every keyframe, in decode order
    kept: list[int]  # indexes into times
    thumbs: list[Thumb]  # of the kept ones


class Online:
    """Finishes the frames the scan keeps while the scan is still running.

    A frame is handled once its thumbnail verdict and its time (showinfo, on stderr) have
    arrived, in frame order. A kept frame goes at once to ``seek``, or, when the scan sends
    its raw picture (``CAPTURE_GAP``, app/video/keyframes/capture.py), to ``capture`` as soon
    as the picture is there
    (ffmpeg writes each picture out only when the next sent one reaches it, so pictures
    lag). The last dropped frame is held back and taken when the next frame shows that
    coverage will take it (it is more than ``step`` after the last taken one), as
    :func:`coverage` does afterwards. Pictures of frames nobody takes are let go on
    arrival; at most ``in_flight`` pictures wait for the converter, so memory stays
    bounded: the scan waits instead.
    """

    def __init__(
        self,
        info: Showinfo,
        step: Fraction | None,
        capture: Callable[[int, Fraction, bytearray, Thumb], Future[Keyframe]] | None,
        seek: Callable[[int, Fraction], Future[Keyframe]],
        in_flight: int,
    ) -> None:
        self.info, self.step, self.capture, self.seek = info, step, capture, seek
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(in_flight)
        self._verdicts: list[tuple[bool, Thumb]] = []
        self._next = 0
        self._last: Fraction | None = None
        self._spare: tuple[int, Fraction, Thumb] | None = None
        self._expected: collections.deque[int] = collections.deque()  # sent, not yet here
        self._pictures: dict[int, bytearray] = {}  # the spare's, if it came
        self._arrived: collections.deque[bytearray] = collections.deque()  # not yet paired
        self._waiting: dict[int, tuple[Fraction, Thumb, Future[Keyframe]]] = {}
        self.done: dict[int, Future[Keyframe]] = {}

    def verdict(self, kept: bool, thumb: Thumb) -> None:
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
        :func:`run_scan` (``eq(n,0)+gte(t-prev_t,CAPTURE_GAP)``), computed the same way
        (in double precision, ``t`` = pts x time base)."""
        if self.capture is None:
            return False
        if n == 0:
            return True
        instance = self.info.only()
        here, before = self.info.raw(instance, n), self.info.raw(instance, n - 1)
        if here is None or before is None:
            return False
        q = here[1].numerator / here[1].denominator
        return float(here[0]) * q - float(before[0]) * q >= capture_mod.CAPTURE_GAP

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

    def _take(self, n: int, at: Fraction, thumb: Thumb) -> None:
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
        thumb: Thumb,
        future: Future[Keyframe] | None,
    ) -> None:
        assert self.capture is not None
        self._slots.acquire()  # only pictures take memory
        done = self.capture(n, at, raw, thumb)
        done.add_done_callback(lambda _f: self._slots.release())
        if future is None:
            self.done[n] = done
        else:
            done.add_done_callback(functools.partial(settle, future))


def run_scan(
    path: Path,
    demuxer: str,
    deadline: Deadline,
    *,
    phash_threshold: int,
    diff_threshold: float,
    duration: float,
    report: Callable[[float], None],
    online: Online | None = None,
    raw: RawFormat | None = None,
    origin: Fraction = Fraction(0),
) -> Scan:
    info = online.info if online else Showinfo(origin)
    kept: list[int] = []
    kept_thumbs: list[Thumb] = []
    last: list[Thumb] = []
    seen = 0

    def on_record(record: bytearray) -> None:
        nonlocal seen
        thumb = make_thumb(record)
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

    video = ffmpeg_input(path, demuxer, skip_frame="nokey")["v:0"]
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
            full.filter("select", f"eq(n,0)+gte(t-prev_t,{capture_mod.CAPTURE_GAP})")
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
        record_size=THUMB_BYTES,
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
    return Scan([t for t in times if t is not None], kept, kept_thumbs)
