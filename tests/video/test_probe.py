"""probe() and sniff_container() on real clips made with ffmpeg."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.video import CorruptVideo, UnsupportedVideo, VideoError, probe, sniff_container
from app.video.probe import is_variable_frame_rate, rotation_of
from tests.media import GPS


def test_phone_clip_fields(phone_clip: Path) -> None:
    info = probe(phone_clip)
    json.dumps(info)  # JSON-serialisable
    assert "mp4" in info["container"].split(",")
    assert info["duration"] == pytest.approx(6.0, abs=0.1)
    assert info["size"] == phone_clip.stat().st_size
    assert isinstance(info["bitrate"], int) and info["bitrate"] > 0
    assert (info["video_codec"], info["audio_codec"]) == ("h264", "aac")
    assert (info["width"], info["height"]) == (320, 240)
    assert (info["coded_width"], info["coded_height"]) == (320, 240)
    assert info["rotation"] == 0
    assert info["frame_rate"] == pytest.approx(30.0)
    assert info["variable_frame_rate"] is False
    assert info["creation_time"].startswith("2024-03-01T10:00:00")
    assert info["encoder"].startswith("Lavf")
    assert info["gps"] == GPS
    assert (info["device_make"], info["device_model"]) == ("Apple", "iPhone 12")
    assert info["sensitive_fields"] == ["gps", "device_make", "device_model"]


def test_rotated_clip_has_portrait_display(rotated_clip: Path) -> None:
    info = probe(rotated_clip)
    assert info["rotation"] in (90, 270)
    assert (info["coded_width"], info["coded_height"]) == (320, 240)
    assert (info["width"], info["height"]) == (240, 320)


def test_rotation_sign_conventions() -> None:
    # display matrix (counter-clockwise) is negated; the legacy tag is clockwise
    assert rotation_of({"side_data_list": [{"rotation": -90}]}) == 90
    assert rotation_of({"side_data_list": [{"rotation": 90}]}) == 270
    assert rotation_of({"side_data_list": [{"rotation": 180}]}) == 180
    assert rotation_of({"tags": {"rotate": "90"}}) == 90
    assert rotation_of({"tags": {"rotate": "-90"}}) == 270
    assert rotation_of({}) == 0


def test_vfr_detected(vfr_clip: Path) -> None:
    info = probe(vfr_clip)
    assert info["variable_frame_rate"] is True
    assert info["frame_rate"] == pytest.approx(40 / 1.9, rel=0.05)
    assert info["audio_codec"] is None
    assert info["gps"] is None and info["device_make"] is None


def test_vfr_rule() -> None:
    assert is_variable_frame_rate(30.0, 30.0) is False
    assert is_variable_frame_rate(30.0, 29.9) is False
    assert is_variable_frame_rate(30.0, 21.0) is True
    assert is_variable_frame_rate(None, 30.0) is False


@pytest.mark.parametrize("name", ["matroska", "mpegts", "flv", "avi", "webm"])
def test_other_containers(remuxed: dict[str, Path], name: str) -> None:
    path = remuxed[name]
    expected = "matroska" if name == "webm" else name
    assert sniff_container(path) == expected
    info = probe(path)
    assert info["duration"] > 0.5
    assert info["width"] in (160, 320)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\xff\xd8\xff\xe0" + bytes(100), "this file is a JPEG image, not a video"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "this file is a PNG image, not a video"),
        (b"GIF89a" + bytes(100), "this file is a GIF image, not a video"),
        (b"%PDF-1.7\n", "this file is a PDF document, not a video"),
        (b"hello, this is just a note\n", "this file is text, not a video"),
        ("سلام، این یک متن است\n".encode(), "this file is text, not a video"),
        (b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n", "playlists (HLS/concat) are not accepted"),
        (b"\xef\xbb\xbf#EXTM3U\n", "playlists (HLS/concat) are not accepted"),
        (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "playlists (HLS/concat) are not accepted"),
        (b"file 'a.mp4'\nfile 'b.mp4'\n", "playlists (HLS/concat) are not accepted"),
        (bytes(range(256)) * 4, "the file type is not recognised as a video (unknown format)"),
    ],
)
def test_sniff_refuses(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "upload.mp4"
    path.write_bytes(data)
    with pytest.raises(UnsupportedVideo) as err:
        sniff_container(path)
    assert str(err.value) == message
    with pytest.raises(
        UnsupportedVideo, match="^" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        probe(path)


def test_sniff_magic(tmp_path: Path) -> None:
    cases = {
        b"\x00\x00\x00\x14ftypqt  ": "mp4",
        b"\x00\x00\x00\x08wide\x00\x00\x00\x08mdat": "mp4",
        b"\x1a\x45\xdf\xa3\x01": "matroska",
        b"RIFF\x00\x00\x00\x00AVI LIST": "avi",
        b"FLV\x01\x05": "flv",
        (b"\x47" + bytes(187)) * 3: "mpegts",
    }
    for data, expected in cases.items():
        path = tmp_path / "x.bin"
        path.write_bytes(data)
        assert sniff_container(path) == expected


def test_jpeg_named_mp4(jpeg_file: Path) -> None:
    with pytest.raises(UnsupportedVideo, match="this file is a JPEG image, not a video"):
        probe(jpeg_file)


def test_truncated_mp4_moov_at_end(moov_at_end_clip: Path) -> None:
    with pytest.raises(CorruptVideo, match=r"truncated or corrupt \(moov atom not found\)"):
        probe(moov_at_end_clip)


def test_truncated_faststart_mp4(faststart_truncated_clip: Path) -> None:
    with pytest.raises(CorruptVideo, match="truncated or corrupt.*'mdat' box runs past the end"):
        probe(faststart_truncated_clip)


def test_truncated_matroska_still_probes_or_fails_clearly(
    remuxed: dict[str, Path], tmp_path: Path
) -> None:
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(remuxed["matroska"].read_bytes()[:200])
    with pytest.raises(VideoError) as err:
        probe(cut)
    assert err.value.message
    assert isinstance(err.value.stderr_tail, str)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    from tests.media import ffmpeg

    path = tmp_path / "voice.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(path))
    with pytest.raises(VideoError, match="^no video stream found$") as err:
        probe(path)
    assert not isinstance(err.value, UnsupportedVideo)


def test_timeout_raises_video_error(phone_clip: Path) -> None:
    with pytest.raises(VideoError, match="longer than"):
        probe(phone_clip, timeout=0.0001)


@pytest.mark.parametrize("name", ["matroska", "webm", "avi", "mpegts", "flv"])
def test_a_file_cut_at_half_its_length_is_accepted_with_a_truncated_warning(
    remuxed: dict[str, Path], tmp_path: Path, name: str
) -> None:
    """A partial file can still be evidence: it probes, and says it is cut off (Matroska,
    WebM and FLV even keep their full declared duration)."""
    intact = probe(remuxed[name])
    assert intact["truncated"] is False and intact["truncated_detail"] is None
    data = remuxed[name].read_bytes()
    half = tmp_path / f"half{remuxed[name].suffix}"
    half.write_bytes(data[: len(data) // 2])
    info = probe(half)
    assert info["duration"] > 0 and info["video_codec"] == intact["video_codec"]
    assert info["truncated"] is True, info
    assert info["truncated_detail"].startswith("the file is cut off: "), info


def test_an_flv_cut_between_two_tags_is_told_by_its_declared_duration(
    remuxed: dict[str, Path], tmp_path: Path
) -> None:
    data = remuxed["flv"].read_bytes()
    pos = int.from_bytes(data[5:9], "big") + 4
    while pos < len(data) // 2:  # walk whole tags to the first boundary past the middle
        pos += 11 + int.from_bytes(data[pos + 1 : pos + 4], "big") + 4
    cut = tmp_path / "cut.flv"
    cut.write_bytes(data[:pos])
    info = probe(cut)
    assert info["truncated"] is True and "the file declares 6.0 s" in info["truncated_detail"]


def test_mpegts_cut_inside_a_packet(remuxed: dict[str, Path], tmp_path: Path) -> None:
    data = remuxed["mpegts"].read_bytes()
    cut = tmp_path / "cut.ts"
    cut.write_bytes(data[: 188 * 100 + 77])
    assert "last transport packet has 77 of 188 bytes" in probe(cut)["truncated_detail"]


def test_avi_cut_inside_its_riff_chunk(remuxed: dict[str, Path], tmp_path: Path) -> None:
    data = remuxed["avi"].read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) - 1000])
    assert probe(cut)["truncated_detail"] == (
        "the file is cut off: its RIFF 'AVI' chunk runs 1,000 bytes past its end"
    )
