"""The public playback copy: H.264/AAC MP4, faststart, and no identifying metadata."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.public.playback import make_playback_copy
from app.video.errors import VideoError

TAGS = [
    "-metadata", "location=+35.6892+051.3890/",
    "-metadata", "location-eng=+35.6892+051.3890/",
    "-metadata", "com.apple.quicktime.location.ISO6709=+35.6892+051.3890+1200.000/",
    "-metadata", "com.apple.quicktime.make=CANARY-MAKE",
    "-metadata", "com.apple.quicktime.model=CANARY-MODEL",
    "-metadata", "make=CANARY-MAKE", "-metadata", "model=CANARY-MODEL",
    "-metadata", "creation_time=2019-11-16T10:00:00Z",
    "-metadata", "encoder=CANARY-ENCODER",
    "-metadata:s:v", "handler_name=CANARY-HANDLER",
]  # fmt: skip


def _make(path: Path, vcodec: list[str], acodec: list[str] | None, extra: list[str]) -> Path:
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
            "testsrc2=size=320x240:rate=25:duration=2"]  # fmt: skip
    if acodec is not None:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:duration=2"]
    args += vcodec + (acodec or []) + extra + [str(path)]
    subprocess.run(args, check=True, timeout=60)
    return path


def _probe(path: Path) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        ["ffprobe", "-v", "quiet", "-print_format", "json", "-show_format", "-show_streams",
         "-show_chapters", str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _assert_clean(path: Path) -> dict:  # type: ignore[type-arg]
    info = _probe(path)
    text = json.dumps(info)
    for leak in ("CANARY", "35.6892", "+051.3890", "2019-11-16", "Lavf", "Lavc"):
        assert leak not in text, f"{leak} survived: {text[:2000]}"
    assert not info.get("chapters")
    assert {s["codec_type"] for s in info["streams"]} <= {"video", "audio"}
    head = path.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (
        head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat")
    ), "faststart"
    return info


def test_h264_aac_original_is_stream_copied_and_stripped(tmp_path: Path) -> None:
    src = _make(
        tmp_path / "phone.mov",
        ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        ["-c:a", "aac"],
        [*TAGS, "-movflags", "use_metadata_tags"],
    )
    assert "CANARY" in json.dumps(_probe(src))  # the canaries really are in the original
    before = src.read_bytes()
    result = make_playback_copy(src, tmp_path / "out" / "playback.mp4", timeout=60)
    assert (result.video, result.audio) == ("copy", "copy")
    info = _assert_clean(result.path)
    codecs = sorted(s["codec_name"] for s in info["streams"])
    assert codecs == ["aac", "h264"]
    assert src.read_bytes() == before  # the original is untouched


def test_other_codecs_are_transcoded_to_h264_aac(tmp_path: Path) -> None:
    src = _make(
        tmp_path / "cam.mkv",
        ["-c:v", "mpeg4"],
        ["-c:a", "libopus"],
        ["-metadata", "title=CANARY-TITLE", "-metadata", "location=+35.6892+051.3890/"],
    )
    result = make_playback_copy(src, tmp_path / "playback.mp4", timeout=120)
    assert (result.video, result.audio) == ("transcode", "transcode")
    info = _assert_clean(result.path)
    assert sorted(s["codec_name"] for s in info["streams"]) == ["aac", "h264"]
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert video["pix_fmt"] == "yuv420p"


def test_video_without_audio(tmp_path: Path) -> None:
    src = _make(tmp_path / "silent.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], None, TAGS)
    result = make_playback_copy(src, tmp_path / "p.mp4", timeout=60)
    assert result.audio == "none"
    assert [s["codec_type"] for s in _assert_clean(result.path)["streams"]] == ["video"]


def test_a_broken_file_raises_and_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "broken.mp4"
    src.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200)
    with pytest.raises(VideoError):
        make_playback_copy(src, tmp_path / "out" / "p.mp4", timeout=30)
    assert not (tmp_path / "out" / "p.mp4").exists()
    assert not list((tmp_path / "out").glob(".*tmp")) if (tmp_path / "out").exists() else True


SEI_CANARY = "ZQXSEICANARY-GPS-35.6892"
PLANT_SEI = [
    "-bsf:v",
    f"h264_metadata=sei_user_data=086f3693-b7b3-4f2c-9653-21492feee5b8+{SEI_CANARY}",
]


def _frames(path: Path) -> int:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return int(out.stdout.split()[0])  # (MPEG-TS lists the stream under its program too)


def _decodes_cleanly(path: Path) -> bool:
    run = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return run.returncode == 0 and not run.stderr.strip()


@pytest.mark.parametrize("name", ["phone.mov", "broadcast.ts", "camera.mkv"])
def test_sei_user_data_of_a_copied_stream_is_not_in_the_copy(tmp_path: Path, name: str) -> None:
    """A canary in the H.264 stream's SEI user data (and x264's own options string there)
    survived the stream copy; now only slices and parameter sets are copied."""
    src = _make(
        tmp_path / name, ["-c:v", "libx264", "-pix_fmt", "yuv420p"], ["-c:a", "aac"], PLANT_SEI
    )
    original = src.read_bytes()
    assert SEI_CANARY.encode() in original and b"x264 - core" in original
    result = make_playback_copy(src, tmp_path / "playback.mp4", timeout=60)
    assert result.video == "copy"
    copy = result.path.read_bytes()
    assert SEI_CANARY.encode() not in copy and b"ZQXSEI" not in copy
    assert b"x264" not in copy and b"options:" not in copy
    assert _frames(result.path) == _frames(src) == 50 and _decodes_cleanly(result.path)
    assert src.read_bytes() == original


def test_a_transcoded_copy_carries_no_sei_of_our_own_encoder(tmp_path: Path) -> None:
    src = _make(tmp_path / "cam.avi", ["-c:v", "mpeg4"], None, [])
    result = make_playback_copy(src, tmp_path / "playback.mp4", timeout=120)
    assert result.video == "transcode"
    assert b"x264" not in result.path.read_bytes() and _decodes_cleanly(result.path)
