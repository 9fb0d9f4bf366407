"""Thumbnails, posters, contact sheets and the decompression-bomb guard."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.video import (
    Keyframe,
    VideoError,
    extract_keyframes,
    format_timestamp,
    make_contact_sheet,
    make_poster,
    make_thumbnail,
    open_image,
)


@pytest.fixture(scope="module")
def frames(phone_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Keyframe]:
    return extract_keyframes(
        phone_clip, tmp_path_factory.mktemp("kf"), phash_threshold=-1, diff_threshold=-1
    )


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = b"IDAT" + zlib.compress(b"\x00" * 16)
    body += struct.pack(">I", len(idat) - 4) + idat + struct.pack(">I", zlib.crc32(idat))
    iend = b"IEND"
    body += struct.pack(">I", 0) + iend + struct.pack(">I", zlib.crc32(iend))
    return b"\x89PNG\r\n\x1a\n" + body


def test_thumbnail_is_320_wide(frames: list[Keyframe], tmp_path: Path) -> None:
    dst = make_thumbnail(frames[0].path, tmp_path / "thumb.jpg")
    with Image.open(dst) as im:
        assert im.format == "JPEG" and im.size == (320, 240)
    small = make_thumbnail(frames[0].path, tmp_path / "small.jpg", width=100)
    with Image.open(small) as im:
        assert im.size == (100, 75)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_poster_skips_flat_first_frame(frames: list[Keyframe], tmp_path: Path) -> None:
    black = tmp_path / "black.jpg"
    Image.new("RGB", (320, 240)).save(black)
    flat = Keyframe(0.0, black, 320, 240, "0" * 64, "0" * 16, "keyframe")
    dst = make_poster([flat, *frames], tmp_path / "poster.jpg")
    with Image.open(dst) as im:
        assert im.size == (320, 240)
        assert im.convert("L").getextrema()[1] > 100  # not the black frame


def test_contact_sheet(frames: list[Keyframe], tmp_path: Path) -> None:
    dst = make_contact_sheet(frames, tmp_path / "sheet.jpg", columns=4, thumb_width=160)
    with Image.open(dst) as im:
        assert im.width > 4 * 160 and im.height > 2 * 120  # 6 frames -> 2 rows of 4 columns
        # the label box top-left of the second tile is black with white text
        tile = im.crop((4 + 160 + 4, 4, 4 + 160 + 4 + 60, 4 + 24)).convert("L")
        low, high = tile.getextrema()
        assert low < 40 and high > 200


def test_format_timestamp() -> None:
    assert format_timestamp(0) == "00:00.0"
    assert format_timestamp(5.04) == "00:05.0"
    assert format_timestamp(65.26) == "01:05.3"
    assert format_timestamp(3725.0) == "62:05.0"


def test_bomb_refused_with_custom_limit(frames: list[Keyframe], tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="image too large"):
        make_thumbnail(frames[0].path, tmp_path / "t.jpg", max_pixels=10_000)


def test_bomb_refused_by_pillow_guard(tmp_path: Path) -> None:
    src = tmp_path / "bomb.png"
    src.write_bytes(_png_claiming(100_000, 100_000))
    with pytest.raises(VideoError, match="image too large"):
        open_image(src)
    with pytest.raises(VideoError, match="image too large"):
        make_thumbnail(src, tmp_path / "t.jpg")
    assert not (tmp_path / "t.jpg").exists()


def test_bomb_warning_band_is_an_error(tmp_path: Path) -> None:
    # between MAX_IMAGE_PIXELS and twice that, Pillow only warns; we refuse
    src = tmp_path / "big.png"
    src.write_bytes(_png_claiming(8_000, 8_000))  # 64 MP > 50 MP limit
    with pytest.raises(VideoError, match="image too large"):
        open_image(src)


def test_unreadable_image(tmp_path: Path) -> None:
    src = tmp_path / "junk.jpg"
    src.write_bytes(b"not an image")
    with pytest.raises(VideoError, match="could not be read"):
        make_thumbnail(src, tmp_path / "t.jpg")


def test_empty_inputs(tmp_path: Path) -> None:
    with pytest.raises(VideoError):
        make_poster([], tmp_path / "p.jpg")
    with pytest.raises(VideoError):
        make_contact_sheet([], tmp_path / "s.jpg")
