"""Capture and colour conversion: the raw pictures the scan hands over for long GOPs, turned
into RGB at the stored size by one long-lived ffmpeg (package docstring, 2)."""

from __future__ import annotations

import collections
import functools
import queue
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import ffmpeg
import numpy as np
from PIL import Image

from app.video import _run
from app.video.errors import VideoError
from app.video.keyframes.frames import Deadline, Keyframe, fit, publish, settle
from app.video.keyframes.similarity import THUMB, Thumb

# Pixel formats whose raw pictures the scan hands over (bytes per sample); other streams
# get every chosen frame through the render's seeks.
CAPTURE_FORMATS = {"yuv420p": 1, "yuvj420p": 1, "yuv420p10le": 2}
COLOUR_NAME = re.compile(r"^[a-z0-9]{1,24}$")
# mean difference (0-255) allowed between a captured picture shrunk to 32x32 and the
# scan's thumbnail of the same frame (measured: under 3; frames of different shots: 60+)
CAPTURE_CHECK = 12.0


@dataclass(frozen=True)
class RawFormat:
    """Layout and colour tags of the raw pictures the scan's second output carries."""

    pix_fmt: str
    width: int
    height: int
    color_range: str | None
    color_space: str | None

    @property
    def frame_bytes(self) -> int:
        chroma = -(-self.width // 2) * -(-self.height // 2)
        return (self.width * self.height + 2 * chroma) * CAPTURE_FORMATS[self.pix_fmt]


def raw_format(info: dict[str, Any]) -> RawFormat | None:
    """The capture's format from the probe (display size), or None when not capturable."""
    pix_fmt, width, height = info.get("pix_fmt"), info.get("width"), info.get("height")
    if pix_fmt not in CAPTURE_FORMATS or not width or not height:
        return None

    def tag(value: Any) -> str | None:
        ok = isinstance(value, str) and COLOUR_NAME.match(value) and value != "unknown"
        return value if ok else None

    return RawFormat(
        str(pix_fmt), int(width), int(height), tag(info.get("color_range")),
        tag(info.get("color_space")),
    )  # fmt: skip


# A keyframe's raw picture leaves the scan only when the keyframe before it is at least
# this many seconds earlier (and for the first frame). Long GOPs have few keyframes, each
# dear to decode again (long B-frame chains, big frames); short GOPs have many, where
# piping every picture costs the scan more than seeking to the few that are kept.
CAPTURE_GAP = 2.0


class Converter:
    """One ffmpeg for the whole scan: raw pictures in on stdin, RGB at the stored size out.

    Pictures are scaled (bicubic, as the render does) and colour-converted as the stream
    declares them (``-color_range``/``-colorspace`` on the raw input), then written as
    JPEG on ``pool``. Each comes back as a Future, which fails when the picture does not
    look like the scan's thumbnail of the same frame (so a misaligned capture can never be
    filed under another time) or when ffmpeg fails.
    """

    def __init__(
        self,
        fmt: RawFormat,
        work: Path,
        max_size: int,
        deadline: Deadline,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.size = fit(fmt.width, fmt.height, max_size)
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
        self._waiting: collections.deque[tuple[Fraction, Thumb, Path, Future[Keyframe]]] = (
            collections.deque()
        )
        self._lock = threading.Lock()
        self._failed: Exception | None = None
        self._thread = threading.Thread(target=self._convert, name="kf-convert", daemon=True)
        self._thread.start()

    def put(self, n: int, at: Fraction, raw: bytearray, thumb: Thumb) -> Future[Keyframe]:
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
        if float(np.abs(small - thumb.pixels).mean()) > CAPTURE_CHECK:
            future.set_exception(
                VideoError(f"the picture captured at {float(at):g} s does not match its frame")
            )
            return
        done = self.pool.submit(publish, at, im, dst, "keyframe")
        done.add_done_callback(functools.partial(settle, future))

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
