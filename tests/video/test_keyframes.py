"""extract_keyframes() on real clips: pts timestamps, dedup, coverage, rotation, limits."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

import numpy as np
import psutil
import pytest
from PIL import Image

from app.video import Keyframe, VideoError, extract_keyframes, hamming, phash_hex, probe


def _assert_valid(frames: list[Keyframe], out: Path) -> None:
    times = [f.timestamp for f in frames]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert [f.path.name for f in frames] == [f"kf_{i:04d}.jpg" for i in range(len(frames))]
    for f in frames:
        assert f.path.parent == out
        assert hashlib.sha256(f.path.read_bytes()).hexdigest() == f.sha256
        with Image.open(f.path) as im:
            assert im.format == "JPEG"
            assert im.size == (f.width, f.height)
            assert phash_hex(im) == f.phash
        assert len(f.phash) == 16
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temp files left behind"


def test_phone_clip_raw_keyframes_match_pts(phone_clip: Path, tmp_path: Path) -> None:
    seen: list[float] = []
    frames = extract_keyframes(
        phone_clip, tmp_path, phash_threshold=-1, diff_threshold=-1, progress=seen.append
    )
    _assert_valid(frames, tmp_path)
    assert [f.timestamp for f in frames] == pytest.approx([0, 1, 2, 3, 4, 5], abs=0.05)
    assert {f.source for f in frames} == {"keyframe"}
    assert (frames[0].width, frames[0].height) == (320, 240)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_phone_clip_dedups_static_bars(phone_clip: Path, tmp_path: Path) -> None:
    frames = extract_keyframes(phone_clip, tmp_path)
    times = [round(f.timestamp) for f in frames]
    assert 2 in times and 3 not in times  # the second bars keyframe is a duplicate
    assert times[0] == 0
    for a, b in zip(frames, frames[1:], strict=False):
        assert hamming(a.phash, b.phash) > 10


def test_static_clip_collapses_to_one_frame(static_clip: Path, tmp_path: Path) -> None:
    frames = extract_keyframes(static_clip, tmp_path)
    assert len(frames) == 1 and frames[0].timestamp == 0.0


def test_vfr_timestamps_come_from_pts(vfr_clip: Path, tmp_path: Path) -> None:
    frames = extract_keyframes(vfr_clip, tmp_path, phash_threshold=-1, diff_threshold=-1)
    # keyframe every 5 frames: 0..25 at 30 fps, then frames 30, 35 at 10 fps
    expected = [0, 5 / 30, 10 / 30, 15 / 30, 20 / 30, 25 / 30, 1.0, 1.5]
    assert [f.timestamp for f in frames] == pytest.approx(expected, abs=0.01)


def test_long_gop_gets_coverage_frames(long_gop_clip: Path, tmp_path: Path) -> None:
    info = probe(long_gop_clip)
    frames = extract_keyframes(long_gop_clip, tmp_path, min_interval=4.0, probe_info=info)
    _assert_valid(frames, tmp_path)
    assert frames[0].source == "keyframe" and frames[0].timestamp == 0.0
    assert [f.source for f in frames[1:]] == ["coverage"] * (len(frames) - 1)
    bounds = [f.timestamp for f in frames] + [info["duration"]]
    gaps = [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
    assert max(gaps) <= 4.0 + 0.1
    assert [f.timestamp for f in frames] == pytest.approx([0, 4, 8], abs=0.1)


def test_max_count_thins_evenly(phone_clip: Path, tmp_path: Path) -> None:
    frames = extract_keyframes(
        phone_clip, tmp_path, phash_threshold=-1, diff_threshold=-1, max_count=3
    )
    assert len(frames) == 3
    assert [f.timestamp for f in frames] == pytest.approx([0, 2, 5], abs=0.05)
    assert sorted(p.name for p in tmp_path.glob("kf_*.jpg")) == [f.path.name for f in frames]


def test_rerun_is_idempotent(phone_clip: Path, tmp_path: Path) -> None:
    first = extract_keyframes(phone_clip, tmp_path, phash_threshold=-1, diff_threshold=-1)
    again = extract_keyframes(
        phone_clip, tmp_path, phash_threshold=-1, diff_threshold=-1, max_count=2
    )
    assert len(first) == 6 and len(again) == 2
    assert sorted(p.name for p in tmp_path.glob("kf_*.jpg")) == ["kf_0000.jpg", "kf_0001.jpg"]
    assert again[0].sha256 == first[0].sha256


def test_max_size_limits_long_side(phone_clip: Path, tmp_path: Path) -> None:
    frames = extract_keyframes(
        phone_clip, tmp_path, max_size=100, phash_threshold=-1, diff_threshold=-1
    )
    assert all(max(f.width, f.height) == 100 for f in frames)
    assert all(f.height in (74, 76) for f in frames)  # 320x240 -> 100x75 rounded to even


def test_rotated_keyframes_are_portrait_and_match_rotation(
    rotated_clip: Path, tmp_path: Path
) -> None:
    info = probe(rotated_clip)
    frames = extract_keyframes(rotated_clip, tmp_path)
    assert (frames[0].width, frames[0].height) == (240, 320)
    # the white square sat in the coded top-left corner; turning the picture clockwise by
    # info["rotation"] degrees must put it where ffmpeg's autorotate put it
    corner = {90: (230, 10), 270: (10, 310)}[info["rotation"]]
    with Image.open(frames[0].path) as im:
        gray = im.convert("L")
        assert gray.getpixel(corner) > 200
        assert gray.getpixel((230, 310)) < 50


def test_timeout_raises_video_error(phone_clip: Path, tmp_path: Path) -> None:
    info = probe(phone_clip)
    with pytest.raises(VideoError, match="longer than"):
        extract_keyframes(phone_clip, tmp_path, timeout=0.001, probe_info=info)
    assert not list(tmp_path.glob("kf_*")) and not list(tmp_path.glob(".kf-*"))


def test_other_container_keyframes(remuxed: dict[str, Path], tmp_path: Path) -> None:
    frames = extract_keyframes(remuxed["mpegts"], tmp_path, phash_threshold=-1, diff_threshold=-1)
    assert len(frames) == 6
    # counted from the file's start (mpegts starts at 1.4 s), one second apart
    spacing = [b.timestamp - a.timestamp for a, b in zip(frames, frames[1:], strict=False)]
    assert spacing == pytest.approx([1.0] * 5, abs=0.05)


def test_hamming() -> None:
    assert hamming("ffff000000000000", "ffff000000000000") == 0
    assert hamming("0000000000000000", "000000000000000f") == 4
    with pytest.raises(ValueError):
        hamming("ff", "fff")


def test_thresholds_set_how_many_frames_are_kept(phone_clip: Path, tmp_path: Path) -> None:
    def count(**kwargs: float) -> list[float]:
        out = tmp_path / "-".join(f"{k}{v}" for k, v in kwargs.items())
        frames = extract_keyframes(phone_clip, out, min_interval=0, **kwargs)  # type: ignore[arg-type]
        return [round(f.timestamp) for f in frames]

    assert count(phash_threshold=-1, diff_threshold=-1) == [0, 1, 2, 3, 4, 5]
    # the thumbnail difference drops moving frames inside a shot, keeps the cuts at 2 and 4
    kept = count(phash_threshold=-1, diff_threshold=40)
    assert kept[:3] == [0, 2, 4] and 1 not in kept and 3 not in kept
    assert count(phash_threshold=-1, diff_threshold=255) == [0]
    # pHash alone: the static bars (2 -> 3) are identical, the moving shots are not
    assert 3 not in count(phash_threshold=10, diff_threshold=-1)
    assert count(phash_threshold=64, diff_threshold=-1) == [0]


def test_coverage_takes_back_dropped_keyframes(static_clip: Path, tmp_path: Path) -> None:
    # all four keyframes (0, 1, 2, 3 s) look the same; a 1.5 s interval needs three back
    frames = extract_keyframes(static_clip, tmp_path, min_interval=1.5)
    _assert_valid(frames, tmp_path)
    assert [f.timestamp for f in frames] == [0.0, 1.0, 2.0, 3.0]  # exact keyframe pts
    assert [f.source for f in frames] == ["keyframe", "coverage", "coverage", "coverage"]


@pytest.mark.parametrize("container", ["matroska", "mpegts", "flv", "avi"])
def test_seeks_land_on_the_same_frames_in_every_container(
    phone_clip: Path, remuxed: dict[str, Path], container: str, tmp_path: Path
) -> None:
    mp4 = extract_keyframes(phone_clip, tmp_path / "mp4")
    other = extract_keyframes(remuxed[container], tmp_path / container)
    # from the second frame on, the same spacing as in the mp4 (AVI has no pts: ffmpeg's
    # copy into it gives every frame after the first one frame's delay, ffprobe agrees)
    assert [f.timestamp - other[1].timestamp for f in other[1:]] == pytest.approx(
        [f.timestamp - mp4[1].timestamp for f in mp4[1:]], abs=0.002
    )
    if container != "avi":  # one constant offset (the audio starts first)
        shift = other[0].timestamp - mp4[0].timestamp
        assert [f.timestamp - shift for f in other] == pytest.approx(
            [f.timestamp for f in mp4], abs=0.002
        )
    for a, b in zip(mp4, other, strict=True):
        assert hamming(a.phash, b.phash) <= 4  # the same picture (JPEG noise aside)


def test_corrupt_video_gives_a_clear_error(
    phone_clip: Path, moov_at_end_clip: Path, tmp_path: Path
) -> None:
    with pytest.raises(VideoError):
        extract_keyframes(moov_at_end_clip, tmp_path / "a")
    # a probe that succeeded, then a file that is no longer a video: ffmpeg's own words
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(phone_clip.read_bytes()[:48] + bytes(range(256)) * 400)
    with pytest.raises(VideoError) as caught:
        extract_keyframes(garbage, tmp_path / "b", probe_info=probe(phone_clip))
    assert caught.value.message and caught.value.stderr_tail
    assert not list((tmp_path / "b").iterdir())


def _ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.name() == "ffmpeg"]


def test_deadline_kills_a_stalled_ffmpeg(phone_clip: Path, tmp_path: Path) -> None:
    """A source that stops delivering bytes: ffmpeg blocks, the deadline must kill it."""
    fifo = tmp_path / "stalled.mp4"
    os.mkfifo(fifo)
    release = threading.Event()

    def writer() -> None:
        with open(fifo, "wb") as fh:
            fh.write(phone_clip.read_bytes()[:65536])
            fh.flush()
            release.wait(60)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        with pytest.raises(VideoError, match="longer than"):
            extract_keyframes(fifo, tmp_path / "kf", timeout=2, probe_info=probe(phone_clip))
        assert _ffmpeg_children() == []
    finally:
        release.set()
        thread.join(5)
    assert not list((tmp_path / "kf").iterdir())


def test_rendering_in_two_processes_gives_the_same_frames_in_order(
    phone_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.video.keyframes import render

    def run(processes: int) -> list[tuple[float, str, str]]:
        monkeypatch.setattr(render, "RENDER_PROCESSES", processes)
        out = tmp_path / str(processes)
        # every keyframe plus coverage frames every 0.4 s: enough picks to split the render
        frames = extract_keyframes(
            phone_clip, out, phash_threshold=-1, diff_threshold=-1, min_interval=0.4
        )
        _assert_valid(frames, out)
        return [(f.timestamp, f.sha256, f.source) for f in frames]

    one, two = run(1), run(2)
    assert len(one) >= 12 and {s for _, _, s in one} == {"keyframe", "coverage"}
    assert two == one


# --- frames taken from the scan (captured) or decoded again while it runs (seeks) ---


def _extract(clip: Path, out: Path, **options: object) -> list[tuple[float, str, str, int, int]]:
    frames = extract_keyframes(clip, out, **options)  # type: ignore[arg-type]
    _assert_valid(frames, out)
    return [(f.timestamp, f.sha256, f.source, f.width, f.height) for f in frames]


@pytest.fixture
def capture_every_keyframe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test clips have 1-s GOPs: have the scan send every keyframe's picture."""
    from app.video.keyframes import capture

    monkeypatch.setattr(capture, "CAPTURE_GAP", 0.0)


@pytest.mark.usefixtures("capture_every_keyframe")
def test_frames_from_the_scan_are_the_frames_a_seek_decodes(
    phone_clip: Path, rotated_clip: Path, tmp_path: Path
) -> None:
    """Same times, same pixels (so the same JPEG bytes), rotation included."""
    for clip in (phone_clip, rotated_clip):
        for options in ({}, {"phash_threshold": -1, "diff_threshold": -1, "min_interval": 0.4}):
            captured = _extract(clip, tmp_path / f"{clip.stem}-c-{len(options)}", **options)
            again = _extract(
                clip, tmp_path / f"{clip.stem}-s-{len(options)}", capture=False, **options
            )
            assert captured == again


def test_the_scan_sends_pictures_only_after_long_gaps(
    phone_clip: Path, long_gop_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1-s GOPs: only the first frame's picture is captured, the rest are seeks (both
    while the scan runs). The long-GOP clip: its keyframe is captured."""
    from app.video.keyframes import capture

    captured: list[float] = []
    real_put = capture.Converter.put

    def put(self: capture.Converter, n: int, at: Any, *args: Any) -> Any:
        captured.append(float(at))
        return real_put(self, n, at, *args)

    monkeypatch.setattr(capture.Converter, "put", put)
    frames = extract_keyframes(phone_clip, tmp_path / "p", phash_threshold=-1, diff_threshold=-1)
    assert len(frames) == 6 and captured == [0.0]
    captured.clear()
    extract_keyframes(long_gop_clip, tmp_path / "l")
    assert captured == [0.0]


@pytest.mark.usefixtures("capture_every_keyframe")
@pytest.mark.parametrize("name", ["bt709", "fullrange", "10bit", "444"])
def test_captured_colours_match_in_every_pixel_format(
    name: str, colour_clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The raw input is given the stream's range and matrix, so 8-bit pictures come out
    bit for bit as a seek decodes them. 10-bit ones may differ by a level or so (the
    10- to 8-bit dither); a wrong range or matrix would shift whole bars by 10-40."""
    from app.video.keyframes import capture

    clip = colour_clips[name]
    started: list[str] = []
    real = capture.Converter

    def converter(fmt: capture.RawFormat, *args: Any) -> capture.Converter:
        started.append(fmt.pix_fmt)
        return real(fmt, *args)

    monkeypatch.setattr(capture, "Converter", converter)
    captured = extract_keyframes(clip, tmp_path / "c", phash_threshold=-1, diff_threshold=-1)
    again = extract_keyframes(
        clip, tmp_path / "s", phash_threshold=-1, diff_threshold=-1, capture=False
    )
    assert started == ([] if name == "444" else [probe(clip)["pix_fmt"]])
    assert [f.timestamp for f in captured] == [f.timestamp for f in again] == [0, 1, 2, 3]
    for a, b in zip(captured, again, strict=True):
        if name != "10bit":
            assert a.sha256 == b.sha256
        with Image.open(a.path) as x, Image.open(b.path) as y:
            diff = np.abs(np.asarray(x, dtype=np.int16) - np.asarray(y, dtype=np.int16))
        assert float(diff.mean()) < 2.0


@pytest.mark.usefixtures("capture_every_keyframe")
def test_a_capture_that_does_not_match_its_frame_is_decoded_again(
    phone_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pictures handed on one frame late must never be filed under the wrong time: the
    thumbnail check refuses them, and those frames are decoded again."""
    from app.video.keyframes import scan

    real_picture = scan.Online.picture
    previous: list[bytearray] = []

    def late(self: scan.Online, raw: bytearray) -> None:
        previous.append(raw)
        real_picture(self, previous[-2] if len(previous) > 1 else raw)

    expected = _extract(phone_clip, tmp_path / "s", capture=False)
    monkeypatch.setattr(scan.Online, "picture", late)
    assert _extract(phone_clip, tmp_path / "c") == expected
    assert len(previous) == 6  # every keyframe's picture went through the shift


@pytest.mark.usefixtures("capture_every_keyframe")
def test_a_converter_that_stops_early_leaves_the_rest_to_seeking(
    phone_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.video.keyframes import capture

    expected = _extract(phone_clip, tmp_path / "s", capture=False)
    fed: list[int] = []

    def one_picture_only(self: capture.Converter, stdin: IO[bytes]) -> None:
        raw = self._pictures.get()
        if raw is not None:
            stdin.write(raw)
            fed.append(len(raw))

    monkeypatch.setattr(capture.Converter, "_feed", one_picture_only)
    assert _extract(phone_clip, tmp_path / "c") == expected
    assert len(fed) == 1


@pytest.mark.parametrize("container", ["mp4", "matroska", "mpegts", "flv", "avi"])
def test_times_are_ffprobes_counted_from_the_files_start(
    phone_clip: Path, remuxed: dict[str, Path], container: str, tmp_path: Path
) -> None:
    """Scan, capture and seeks all give every keyframe the time ffprobe gives it, counted
    from the file's start as players count (before, ffmpeg's own shifting put the first
    frame of an MPEG-TS 23 ms off the rest)."""
    clip = phone_clip if container == "mp4" else remuxed[container]
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-skip_frame", "nokey", "-select_streams", "v:0",
         "-show_entries", "frame=best_effort_timestamp_time:format=start_time",
         "-of", "json", str(clip)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    data = json.loads(out)
    start = float(data["format"]["start_time"])
    expected = [float(f["best_effort_timestamp_time"]) - start for f in data["frames"]]
    for capture in (True, False):
        frames = extract_keyframes(
            clip, tmp_path / f"{capture}", phash_threshold=-1, diff_threshold=-1, capture=capture
        )
        assert [f.timestamp for f in frames] == pytest.approx(expected, abs=1e-6)


def test_a_cut_the_encoder_gave_no_keyframe_gets_a_frame(
    hidden_cut_clip: Path, tmp_path: Path
) -> None:
    """One GOP over a cut from still bars to testsrc2: the scan sees only the keyframe at
    0, the packet sizes show the cut at 4 s, and the frame there is decoded and kept."""
    frames = extract_keyframes(hidden_cut_clip, tmp_path / "cuts")
    _assert_valid(frames, tmp_path / "cuts")
    assert [(f.source, round(f.timestamp, 2)) for f in frames] == [("keyframe", 0), ("cut", 4)]
    assert hamming(frames[0].phash, frames[1].phash) > 10
    with Image.open(frames[1].path) as im:
        got = np.asarray(im.convert("RGB"), dtype=np.int16)

    def decoded(at: str) -> Any:
        ref = tmp_path / f"ref{at}.png"
        seek = [
            "ffmpeg",
            "-y",
            "-v",
            "error",
            "-ss",
            at,
            "-i",
            str(hidden_cut_clip),
            "-frames:v",
            "1",
        ]
        subprocess.run([*seek, str(ref)], check=True)
        with Image.open(ref) as im:
            return np.asarray(im.convert("RGB"), dtype=np.int16)

    # ffmpeg's own PNG of the frame at 4 s against our JPEG: compression and colour
    # conversion apart, the same picture; the bars just before the cut are far from it
    assert float(np.abs(got - decoded("4")).mean()) < 8
    assert float(np.abs(got - decoded("3.9")).mean()) > 40

    plain = extract_keyframes(hidden_cut_clip, tmp_path / "plain", cuts=False)
    assert [(f.source, f.timestamp) for f in plain] == [("keyframe", 0.0)]


def test_short_gops_never_list_packets(
    phone_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keyframes at most 2 s apart already show every cut in time: the packet listing is
    not even started (here it would fail the extraction)."""
    from app.video.keyframes import cuts

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise VideoError("the packets were listed")

    monkeypatch.setattr(cuts, "video_packets", refuse)
    frames = extract_keyframes(phone_clip, tmp_path)
    assert frames and {f.source for f in frames} == {"keyframe"}


def test_hidden_cuts_from_packet_sizes() -> None:
    from fractions import Fraction

    from app.video.keyframes import Packet, hidden_cuts

    def gop(start: float, sizes: list[int], key: int = 50_000) -> list[Packet]:
        frames = [Packet(Fraction(start), key, True)]
        return frames + [
            Packet(Fraction(start) + Fraction(i + 1, 30), s, False) for i, s in enumerate(sizes)
        ]

    # B/P alternation inside one shot: P-frames 5x the B-frames, far below the keyframe
    steady = gop(0, [2_000, 1_000, 1_000, 10_000] * 60)
    assert hidden_cuts(steady) == []
    # a predicted frame coded like a keyframe, 4 s into an 8 s GOP
    cut = gop(0, [2_000] * 119 + [40_000] + [2_000] * 120)
    assert hidden_cuts(cut) == [Fraction(120, 30)]
    # ... but a keyframe 1 s later shows the new shot anyway
    assert hidden_cuts(cut[:150] + gop(5, [2_000] * 30)) == []
    # a jump into noise (every frame big from then on) is one cut, not one per frame
    noise = gop(0, [2_000] * 60 + [45_000] * 180)
    assert hidden_cuts(noise) == [Fraction(61, 30)]
