"""Playlists and AVI-wrapped playlists must be refused without any file or network access."""

from __future__ import annotations

from pathlib import Path

import ffmpeg as ffmpeg_python
import pytest

from app.video import UnsupportedVideo, VideoError, _run, extract_keyframes, probe
from tests.media import avi_wrapped, gab2_avi, hls_playlist

Canary = tuple[int, list[str]]


@pytest.mark.parametrize("name", ["playlist.m3u8", "playlist.mp4", "playlist.avi"])
def test_hls_playlist_refused(tmp_path: Path, canary: Canary, name: str) -> None:
    port, hits = canary
    path = tmp_path / name
    path.write_bytes(hls_playlist(port))
    with pytest.raises(UnsupportedVideo, match="playlists \\(HLS/concat\\) are not accepted"):
        probe(path)
    with pytest.raises(UnsupportedVideo):
        extract_keyframes(path, tmp_path / "kf")
    assert hits == []


def test_ffconcat_refused(tmp_path: Path, canary: Canary) -> None:
    port, hits = canary
    path = tmp_path / "list.mp4"
    path.write_text(
        f"ffconcat version 1.0\nfile 'http://127.0.0.1:{port}/a.mp4'\nfile '/etc/passwd'\n"
    )
    with pytest.raises(UnsupportedVideo, match="playlists"):
        probe(path)
    assert hits == []


def test_avi_wrapped_playlist_refused(tmp_path: Path, canary: Canary) -> None:
    port, hits = canary
    path = tmp_path / "evil.avi"
    path.write_bytes(avi_wrapped(hls_playlist(port)))
    with pytest.raises(VideoError) as err:
        probe(path)
    assert "passwd" not in err.value.message
    assert hits == []


def test_whitelist_blocks_http_even_if_hls_demuxer_were_forced(
    tmp_path: Path, canary: Canary
) -> None:
    """Defence in depth: our runner's file-only whitelist stops the HLS demuxer's fetches."""
    port, hits = canary
    path = tmp_path / "seg.m3u8"
    path.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:{port}/x.ts\n"
        "#EXT-X-ENDLIST\n"
    )
    args = (
        ffmpeg_python.input(f"file:{path}", f="hls", protocol_whitelist="file")
        .output(str(tmp_path / "o.jpg"), **{"frames:v": 1})
        .compile()
    )
    with pytest.raises(VideoError) as err:
        _run.run(args, timeout=20)
    assert (
        "protocol" in err.value.stderr_tail.lower() or "not on whitelist" in err.value.stderr_tail
    )
    assert hits == []


def test_runner_refuses_calls_without_whitelist() -> None:
    with pytest.raises(ValueError, match="protocol_whitelist"):
        _run.run(["ffprobe", "-i", "x.mp4"], timeout=5)
    with pytest.raises(ValueError, match="only starts"):
        _run.run(["sh", "-c", "true"], timeout=5)


def test_gab2_avi_with_srt_is_a_normal_video(plain_avi: bytes, tmp_path: Path) -> None:
    """The crafted GAB2 stream is real: ffmpeg reads an SRT payload from it."""
    path = tmp_path / "subs.avi"
    srt = b"1\n00:00:00,000 --> 00:00:01,000\nhello\n\n"
    path.write_bytes(gab2_avi(plain_avi, srt))
    out, _ = _run.run(
        ["ffprobe", "-v", "error", "-protocol_whitelist", "file", "-f", "avi",
         "-show_streams", "-of", "json", "-i", f"file:{path}"],
        timeout=20,
    )  # fmt: skip
    assert b'"codec_name": "subrip"' in out
    assert probe(path)["video_codec"] == "mjpeg"


def test_gab2_avi_with_hls_playlist_refused(
    plain_avi: bytes, tmp_path: Path, canary: Canary
) -> None:
    port, hits = canary
    path = tmp_path / "gab2.avi"
    path.write_bytes(gab2_avi(plain_avi, hls_playlist(port)))
    with pytest.raises(UnsupportedVideo, match="hidden in this AVI's subtitle track"):
        probe(path)
    # and even if that check were skipped, the forced demuxer + file-only whitelist hold:
    from app.video.probe import _ffprobe

    data = _ffprobe(path.resolve(), "avi", 20)
    codecs = [s.get("codec_name") for s in data["streams"]]
    assert codecs[0] == "mjpeg" and "hls" not in codecs
    assert data["format"]["format_name"] == "avi"
    assert hits == []
