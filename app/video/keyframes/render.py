"""Seek and render: decoding chosen frames again with input-side seeks, a few per ffmpeg run,
in up to two processes; :class:`Seeker` does it while the scan goes on."""

from __future__ import annotations

import functools
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import ffmpeg

from app.video import _run
from app.video.errors import VideoError
from app.video.keyframes.frames import Deadline, Keyframe, ffmpeg_input, publish, scale_dims, settle
from app.video.keyframes.selection import Pick
from app.video.keyframes.showinfo import Showinfo

# The frames kept without a picture are decoded again by seeking in runs of this many.
SEEK_BATCH = 4


def seek_arg(at: Fraction) -> str:
    """``at`` rounded up to the microsecond (ffmpeg's -ss resolution), exact as text."""
    micro = -((-at * 1_000_000) // 1)  # ceil
    seconds, rest = divmod(int(micro), 1_000_000)
    return f"{seconds}.{rest:06d}"


def render_picks(
    path: Path,
    demuxer: str,
    picks: list[Pick],
    work: Path,
    max_size: int,
    deadline: Deadline,
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
            inp = ffmpeg_input(path, demuxer, ss=seek_arg(pick.at), noaccurate_seek=None, threads=1)
        else:
            fast = {"skip_frame": "noref", "threads": 1} if refs_only else {}
            inp = ffmpeg_input(path, demuxer, ss=seek_arg(max(Fraction(0), pick.at)), **fast)
        video = (
            inp["v:0"]
            .filter("trim", end_frame=1)
            .filter("showinfo", checksum=0)
            .filter("scale", **scale_dims(max_size), flags="bicubic")
        )
        outputs.append(
            video.output(
                str(work / f"{name}_{i:04d}.ppm"),
                **{"frames:v": 1, "update": 1, "fps_mode": "passthrough", "c:v": "ppm"},
                **({"loglevel": "info"} if i == 0 else {}),
            )
        )
    args = ffmpeg.merge_outputs(*outputs).global_args("-copyts").compile()
    info = Showinfo(origin)
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


def render_all(
    path: Path,
    demuxer: str,
    picks: list[Pick],
    work: Path,
    max_size: int,
    deadline: Deadline,
    *,
    origin: Fraction = Fraction(0),
) -> list[tuple[Fraction, Path] | None]:
    """``render_picks`` in up to RENDER_PROCESSES ffmpeg processes at once (contiguous shares of
    the picks): each seek decodes with one thread, so a second process uses the core the
    first leaves idle. Results keep the picks' order."""
    parts = min(RENDER_PROCESSES, max(1, len(picks) // 4))
    if parts == 1:
        return render_picks(path, demuxer, picks, work, max_size, deadline, origin=origin)
    size = -(-len(picks) // parts)
    shares = [picks[i : i + size] for i in range(0, len(picks), size)]
    with ThreadPoolExecutor(len(shares), thread_name_prefix="kf-render") as pool:
        futures = [
            pool.submit(
                render_picks, path, demuxer, share, work, max_size, deadline, f"r{j}", origin=origin
            )
            for j, share in enumerate(shares)
        ]
        results = [f.result() for f in futures]
    return [got for part in results for got in part]


class Seeker:
    """Decodes the frames the scan keeps again by seeking, while the scan goes on.

    One thread takes whatever frames have queued up and renders them in one ffmpeg run
    (:func:`render_picks`); the JPEGs are written on ``pool``.
    """

    def __init__(
        self,
        src: Path,
        demuxer: str,
        work: Path,
        max_size: int,
        deadline: Deadline,
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
                self._batch(batch, f"s{number}")
                batch, number = [], number + 1

    def _batch(self, batch: list[tuple[int, Fraction, Future[Keyframe]]], name: str) -> None:
        picks = [Pick(at, "keyframe", True, n) for n, at, _ in batch]
        error: Exception = VideoError("ffmpeg could not decode the frame")
        try:
            got = render_picks(
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
            done = self.pool.submit(publish, at, image, self.work / f"c_{n:06d}.jpg", "keyframe")
            done.add_done_callback(functools.partial(settle, future))
