"""Tiny real clips made with ffmpeg's lavfi sources, plus hostile files and a canary server."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.media import GPS, X264, ffmpeg


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def phone_clip(clips: Path) -> Path:
    """6 s: testsrc2 | smptehdbars | mandelbrot (2 s each), keyframe every 1 s, AAC, tags."""
    out = clips / "phone.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=2",
        "-f", "lavfi", "-i", "smptehdbars=s=320x240:r=30:d=2",
        "-f", "lavfi", "-i", "mandelbrot=s=320x240:r=30:end_pts=2:maxiter=48",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
        "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]",
        "-map", "[v]", "-map", "3:a", "-t", "6",
        *X264, "-g", "30", "-keyint_min", "30", "-c:a", "aac",
        "-metadata", f"location={GPS}",
        "-metadata", "com.apple.quicktime.make=Apple",
        "-metadata", "com.apple.quicktime.model=iPhone 12",
        "-metadata", "creation_time=2024-03-01T10:00:00Z",
        "-movflags", "use_metadata_tags",
        str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def box_clip(clips: Path) -> Path:
    """1 s black 320x240 with a white square in the top-left corner (orientation marker)."""
    out = clips / "box.mp4"
    ffmpeg(
        "-f", "lavfi",
        "-i", "color=black:s=320x240:r=30:d=1,drawbox=x=0:y=0:w=60:h=60:color=white:t=fill",
        *X264, str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def rotated_clip(clips: Path, box_clip: Path) -> Path:
    """The box clip with a 90-degree display matrix.

    This ffmpeg (5.1) has no ``-display_rotation``; the legacy ``rotate`` tag, applied
    while stream-copying, makes the mov muxer write the display matrix.
    """
    out = clips / "rotated.mp4"
    ffmpeg("-i", str(box_clip), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out))
    return out


@pytest.fixture(scope="session")
def vfr_clip(clips: Path) -> Path:
    """1 s at 30 fps then 1 s at 10 fps in one stream, keyframe every 5 frames."""
    out = clips / "vfr.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=1",
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1",
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]",
        "-fps_mode", "vfr", *X264, "-g", "5", "-keyint_min", "5", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def long_gop_clip(clips: Path) -> Path:
    """12 s of changing content with a single keyframe at 0."""
    out = clips / "longgop.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=15:d=12",
        *X264, "-g", "600", "-keyint_min", "600", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def hidden_cut_clip(clips: Path) -> Path:
    """10 s in one GOP (a single keyframe at 0, no scene-cut keyframes): 4 s of still
    colour bars, then a cut to 6 s of testsrc2 that the encoder codes as predicted frames."""
    out = clips / "hiddencut.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "smptehdbars=s=320x240:r=15:d=4",
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=15:d=6",
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-t", "10",
        *X264, "-g", "600", "-keyint_min", "600", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def static_clip(clips: Path) -> Path:
    """4 s of unchanging colour bars with a keyframe every second (all near-identical)."""
    out = clips / "static.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "smptehdbars=s=320x240:r=30:d=4",
        *X264, "-g", "30", "-keyint_min", "30", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def remuxed(clips: Path, phone_clip: Path) -> dict[str, Path]:
    """The phone clip stream-copied into the other accepted containers."""
    out: dict[str, Path] = {}
    for name, ext in (("matroska", "mkv"), ("mpegts", "ts"), ("flv", "flv"), ("avi", "avi")):
        dst = clips / f"phone.{ext}"
        extra = ["-bsf:v", "h264_mp4toannexb"] if ext in ("ts", "avi") else []
        ffmpeg("-i", str(phone_clip), "-c", "copy", *extra, str(dst))
        out[name] = dst
    webm = clips / "clip.webm"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1",
        "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "200k", str(webm),
    )  # fmt: skip
    out["webm"] = webm
    return out


@pytest.fixture(scope="session")
def moov_at_end_clip(clips: Path, phone_clip: Path) -> Path:
    """ffmpeg's default mp4 puts moov at the end; keep only the first half."""
    data = phone_clip.read_bytes()
    assert data.rfind(b"moov") > data.find(b"mdat"), "expected moov after mdat"
    out = clips / "truncated_moov_end.mp4"
    out.write_bytes(data[: len(data) // 2])
    return out


@pytest.fixture(scope="session")
def faststart_truncated_clip(clips: Path, phone_clip: Path) -> Path:
    """A faststart mp4 (moov first) cut in half: header intact, media data missing."""
    fast = clips / "faststart.mp4"
    ffmpeg("-i", str(phone_clip), "-c", "copy", "-movflags", "+faststart", str(fast))
    data = fast.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    out = clips / "truncated_faststart.mp4"
    out.write_bytes(data[: len(data) // 2])
    return out


@pytest.fixture(scope="session")
def jpeg_file(clips: Path) -> Path:
    out = clips / "photo.mp4"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(out, format="JPEG")
    return out


@pytest.fixture(scope="session")
def plain_avi(clips: Path) -> bytes:
    out = clips / "base.avi"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1", "-c:v", "mjpeg", str(out))
    return out.read_bytes()


@pytest.fixture(scope="session")
def colour_clips(clips: Path) -> dict[str, Path]:
    """Cuts between differently coloured sources in the pixel formats phones write: 8-bit
    limited range tagged BT.709, full range (yuvj420p), and 10-bit; plus 4:4:4, which the
    capture does not take (those frames are decoded again)."""
    made: dict[str, Path] = {}
    formats = {
        "bt709": ["-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_range", "tv"],
        "fullrange": ["-pix_fmt", "yuvj420p"],
        "10bit": ["-pix_fmt", "yuv420p10le"],
        "444": ["-pix_fmt", "yuv444p"],
    }
    for name, pix in formats.items():
        out = clips / f"colour-{name}.mp4"
        ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=2",
            "-f", "lavfi", "-i", "smptehdbars=s=320x240:r=30:d=2",
            "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-sc_threshold", "0",
            *pix, str(out),
        )  # fmt: skip
        made[name] = out
    return made
