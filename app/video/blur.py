"""Face blurring of a video or a still (the public derivatives of a flagged clip).

A pure function of files (no database). The video path: ffmpeg decodes the (already
metadata-free, unrotated) playback copy to raw RGB frames through a pipe; the detector
(app/video/faces.py) runs on the first frame, on every Nth frame and on both sides of a
scene cut; the frames in between wait in a small buffer until the next detection, and
then get the union of the boxes before and after them plus the boxes interpolated between
matched pairs, so a moving face never shows between two detections. Each box grows by a
margin and is blurred hard (pixelated, then a Gaussian blur); the manual regions
(relative boxes over a time range) are blurred on top. A second ffmpeg encodes the frames
with the playback copy's own x264 options and copies its audio back in; the caller makes
the final metadata-stripping pass (app/public/playback.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageFilter

from app.video import _run, faces
from app.video.errors import VideoError
from app.video.probe import probe

CUT_DIFF = 30.0  # mean absolute difference (0-255) of subsampled frames that marks a cut
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
X264 += ["-profile:v", "high"]

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
Detector = Callable[[np.ndarray], list[Box]]


@dataclass(frozen=True)
class Region:
    """A manual region: a box in relative units (0-1) over start..end seconds."""

    x: float
    y: float
    w: float
    h: float
    start: float
    end: float

    def box(self, width: int, height: int) -> Box:
        return (
            self.x * width,
            self.y * height,
            (self.x + self.w) * width,
            (self.y + self.h) * height,
        )


@dataclass(frozen=True)
class Options:
    every_n: int = 5
    threshold: float = 0.5
    margin: float = 0.25


def detector(threshold: float) -> Detector:
    def run(frame: np.ndarray) -> list[Box]:
        return [(f.x1, f.y1, f.x2, f.y2) for f in faces.detect(frame, threshold)]

    return run


def grow(box: Box, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    return (
        max(0, int(x1 - dx)),
        max(0, int(y1 - dy)),
        min(width, int(np.ceil(x2 + dx))),
        min(height, int(np.ceil(y2 + dy))),
    )


def blur_boxes(image: Image.Image, boxes: Sequence[tuple[int, int, int, int]]) -> Image.Image:
    """Pixelate, then Gaussian-blur each box in place; returns the image."""
    for x1, y1, x2, y2 in boxes:
        w, h = x2 - x1, y2 - y1
        if w < 2 or h < 2:
            continue
        part = image.crop((x1, y1, x2, y2))
        block = max(4, max(w, h) // 10)
        part = part.resize((max(1, w // block), max(1, h // block)), Image.Resampling.BOX)
        part = part.resize((w, h), Image.Resampling.NEAREST)
        part = part.filter(ImageFilter.GaussianBlur(radius=max(3, max(w, h) / 12)))
        image.paste(part, (x1, y1))
    return image


def _centre(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def between(before: list[Box], after: list[Box], f: float) -> list[Box]:
    """Boxes for a frame at fraction ``f`` between two detections: both sets, plus each
    box before moved towards its nearest box after (within twice its size)."""
    out = list(before) + list(after)
    for b in before:
        if not after:
            break
        cb = _centre(b)
        a = min(after, key=lambda x: (_centre(x)[0] - cb[0]) ** 2 + (_centre(x)[1] - cb[1]) ** 2)
        ca, size = _centre(a), max(b[2] - b[0], b[3] - b[1])
        if abs(ca[0] - cb[0]) <= 2 * size and abs(ca[1] - cb[1]) <= 2 * size:
            out.append(tuple(p + (q - p) * f for p, q in zip(b, a, strict=True)))  # type: ignore[arg-type]
    return out


class FrameBlurrer:
    """Receives frames in order and writes them, blurred, in the same order."""

    def __init__(
        self,
        width: int,
        height: int,
        fps: float,
        write: Callable[[bytes], object],
        *,
        detect: Detector,
        options: Options,
        regions: Sequence[Region] = (),
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.write, self.detect, self.options = write, detect, options
        self.regions = list(regions)
        self.count = 0
        self.detections = 0
        self.buffer: list[tuple[int, np.ndarray]] = []
        self.prev: list[Box] = []
        self.prev_index = 0
        self.last_small: np.ndarray | None = None

    def _emit(self, index: int, frame: np.ndarray, boxes: list[Box]) -> None:
        t = index / self.fps if self.fps else 0.0
        pixels = [grow(b, self.options.margin, self.width, self.height) for b in boxes]
        pixels += [
            grow(r.box(self.width, self.height), 0, self.width, self.height)
            for r in self.regions
            if r.start <= t <= r.end
        ]
        if pixels:
            frame = np.asarray(blur_boxes(Image.fromarray(frame), pixels))
        self.write(frame.tobytes())

    def _run_detector(self, frame: np.ndarray) -> list[Box]:
        self.detections += 1
        return self.detect(frame)

    def _flush(self, after: list[Box], after_index: int) -> None:
        span = max(1, after_index - self.prev_index)
        for index, frame in self.buffer:
            self._emit(index, frame, between(self.prev, after, (index - self.prev_index) / span))
        self.buffer.clear()

    def push(self, record: bytes | bytearray) -> None:
        frame = np.frombuffer(record, np.uint8).reshape(self.height, self.width, 3)
        index, self.count = self.count, self.count + 1
        small = frame[::16, ::16].astype(np.int16)
        cut = (
            self.last_small is not None and float(np.abs(small - self.last_small).mean()) > CUT_DIFF
        )
        self.last_small = small
        if index == 0 or cut or index - self.prev_index >= self.options.every_n:
            if cut and self.buffer:  # the old scene's last frame closes its segment
                last_index, last = self.buffer.pop()
                end = self._run_detector(last)
                self._flush(end, last_index)
                self._emit(last_index, last, end + self.prev)
                self.prev, self.prev_index = end, last_index
            found = self._run_detector(frame)
            if cut:
                self.prev = []  # a new scene: what was before does not carry over
                self.prev_index = index
            self._flush(found, index)
            self._emit(index, frame, found)
            self.prev, self.prev_index = found, index
        else:
            self.buffer.append((index, frame))

    def finish(self) -> None:
        if self.buffer:
            last_index, last = self.buffer.pop()
            end = self._run_detector(last)
            self._flush(end, last_index)
            self._emit(last_index, last, end + self.prev)


def _rate(fps: float) -> str:
    r = Fraction(fps).limit_denominator(1001)
    return f"{r.numerator}/{r.denominator}"


def blur_video(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    options: Options,
    regions: Sequence[Region] = (),
    timeout: float = 600,
    detect: Detector | None = None,
) -> FrameBlurrer:
    """Write a face-blurred H.264 MP4 of ``src`` (a playback copy) to ``dest``, with the
    audio of ``src`` copied. Raises ``VideoError`` when either ffmpeg fails."""
    src, dest = Path(src), Path(dest)
    info = probe(src, timeout=min(timeout, 60))
    width, height = int(info["width"]), int(info["height"])
    fps = float(info.get("frame_rate") or 25.0)
    rate = _rate(fps)
    has_audio = info.get("audio_codec") is not None
    decode = ["ffmpeg", "-protocol_whitelist", "file", "-i", str(src), "-map", "0:v:0"]
    decode += ["-an", "-sn", "-dn", "-vsync", "cfr", "-r", rate]
    decode += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    encode = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    encode += ["-s", f"{width}x{height}", "-framerate", rate]
    encode += ["-protocol_whitelist", "pipe", "-i", "pipe:0"]
    if has_audio:
        encode += ["-protocol_whitelist", "file", "-i", str(src), "-map", "1:a:0", "-c:a", "copy"]
    encode += ["-map", "0:v:0", *X264, "-f", "mp4", str(dest)]
    errors: list[BaseException] = []
    blurrer_box: list[FrameBlurrer] = []

    def feed(stdin: IO[bytes]) -> None:
        try:
            blurrer = FrameBlurrer(
                width,
                height,
                fps,
                stdin.write,
                detect=detect or detector(options.threshold),
                options=options,
                regions=regions,
            )
            blurrer_box.append(blurrer)
            _run.stream(
                decode, record_size=width * height * 3, timeout=timeout, on_record=blurrer.push
            )
            blurrer.finish()
        except BrokenPipeError:
            errors.append(VideoError("the blur encoder stopped reading frames"))
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    _run.stream(encode, record_size=1, timeout=timeout, on_record=lambda _: None, feed=feed)
    if errors:
        Path(dest).unlink(missing_ok=True)
        raise errors[0]
    if not blurrer_box or blurrer_box[0].count == 0:
        Path(dest).unlink(missing_ok=True)
        raise VideoError("the video had no frames to blur")
    return blurrer_box[0]


def blur_image(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    options: Options,
    regions: Sequence[Region] = (),
    at: float | None = None,
    detect: Detector | None = None,
) -> int:
    """Write a face-blurred JPEG of the image ``src`` to ``dest``; the manual regions whose
    range holds ``at`` (all of them when ``at`` is None) are blurred too. Returns the
    number of boxes blurred."""
    with Image.open(src) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    boxes = (detect or detector(options.threshold))(np.asarray(image))
    pixels = [grow(b, options.margin, width, height) for b in boxes]
    pixels += [
        grow(r.box(width, height), 0, width, height)
        for r in regions
        if at is None or r.start <= at <= r.end
    ]
    blur_boxes(image, pixels)
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    image.save(tmp, "JPEG", quality=85)
    os.replace(tmp, dest)
    return len(pixels)
