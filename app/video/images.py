"""Pillow helpers: thumbnails, posters and contact sheets, all written atomically.

Images are opened with a pixel limit, and Pillow's DecompressionBombWarning is turned
into an error, so a tiny file that claims to be enormous is refused before decoding.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Protocol

from PIL import Image, ImageDraw, ImageFont, ImageStat

from app.video.errors import VideoError

MAX_IMAGE_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
JPEG_QUALITY = 85


class Frame(Protocol):
    """Anything with a timestamp and a path (a :class:`~app.video.keyframes.Keyframe`)."""

    @property
    def timestamp(self) -> float: ...

    @property
    def path(self) -> Path: ...


def open_image(
    src: str | os.PathLike[str] | IO[bytes], *, max_pixels: int | None = None
) -> Image.Image:
    """Open and fully load ``src`` (a path or a binary file) as RGB, refusing images above
    the pixel limit."""
    limit = max_pixels or MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(src) as im:
                width, height = im.size
                if width * height > limit:
                    raise VideoError(
                        f"image too large ({width}x{height} pixels, the limit is {limit})"
                    )
                im.load()
                return im.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise VideoError(f"image too large ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise VideoError(f"the image could not be read ({exc})") from exc


def save_jpeg(im: Image.Image, dst: str | os.PathLike[str], *, quality: int = JPEG_QUALITY) -> Path:
    """Write ``im`` as JPEG to ``dst`` atomically (temp file, fsync, rename)."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            im.convert("RGB").save(fh, format="JPEG", quality=quality, optimize=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def _resize_to_width(im: Image.Image, width: int) -> Image.Image:
    height = max(1, round(im.height * width / im.width))
    return im.resize((width, height), Image.Resampling.LANCZOS)


def make_thumbnail(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    width: int = 320,
    *,
    max_pixels: int | None = None,
) -> Path:
    """Write a JPEG ``width`` pixels wide (aspect kept) made from the image ``src``."""
    im = open_image(src, max_pixels=max_pixels)
    return save_jpeg(_resize_to_width(im, width), dst)


def _variety(im: Image.Image) -> float:
    small = im.convert("L").resize((64, max(1, round(64 * im.height / im.width))))
    return float(ImageStat.Stat(small).stddev[0])


def make_poster(
    keyframes: Sequence[Frame], dst: str | os.PathLike[str], *, max_pixels: int | None = None
) -> Path:
    """Write the poster: the most varied of the first eight keyframes (skips black fades).

    Ties go to the earliest frame.
    """
    if not keyframes:
        raise VideoError("no keyframes to make a poster from")
    best: Image.Image | None = None
    best_score = -1.0
    for frame in keyframes[:8]:
        im = open_image(frame.path, max_pixels=max_pixels)
        score = _variety(im)
        if score > best_score + 1.0:
            best, best_score = im, score
    assert best is not None
    return save_jpeg(best, dst)


def format_timestamp(seconds: float) -> str:
    """``mm:ss.s`` (minutes keep counting past 59)."""
    tenths = round(max(0.0, seconds) * 10)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError):  # pragma: no cover - Pillow built without FreeType
        return ImageFont.load_default()


def make_contact_sheet(
    keyframes: Sequence[Frame],
    dst: str | os.PathLike[str],
    columns: int = 4,
    thumb_width: int = 320,
    *,
    max_pixels: int | None = None,
) -> Path:
    """Write a grid of keyframes, each labelled with its timestamp as ``mm:ss.s``."""
    if not keyframes:
        raise VideoError("no keyframes to make a contact sheet from")
    columns = max(1, min(columns, len(keyframes)))
    gap = 4
    thumbs = [
        _resize_to_width(open_image(f.path, max_pixels=max_pixels), thumb_width) for f in keyframes
    ]
    rows = [thumbs[i : i + columns] for i in range(0, len(thumbs), columns)]
    row_heights = [max(t.height for t in row) for row in rows]
    sheet_w = columns * thumb_width + (columns + 1) * gap
    sheet_h = sum(row_heights) + (len(rows) + 1) * gap
    if sheet_w * sheet_h > (max_pixels or MAX_IMAGE_PIXELS):
        raise VideoError(f"image too large (contact sheet would be {sheet_w}x{sheet_h})")
    sheet = Image.new("RGB", (sheet_w, sheet_h), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = _font(max(10, thumb_width // 16))
    y = gap
    index = 0
    for row, row_h in zip(rows, row_heights, strict=True):
        x = gap
        for thumb in row:
            sheet.paste(thumb, (x, y))
            label = format_timestamp(keyframes[index].timestamp)
            left, top, right, bottom = draw.textbbox((x + 4, y + 4), label, font=font)
            draw.rectangle((left - 3, top - 3, right + 3, bottom + 3), fill=(0, 0, 0))
            draw.text((x + 4, y + 4), label, fill=(255, 255, 255), font=font)
            x += thumb_width + gap
            index += 1
        y += row_h + gap
    return save_jpeg(sheet, dst)
