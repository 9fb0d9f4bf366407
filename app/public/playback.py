"""The public playback copy: an H.264/AAC MP4 with faststart and no container metadata.

A pure function (no database, no web framework). The original is only read. Streams are
copied when the codecs allow (H.264 video without rotation, AAC audio) and transcoded
otherwise. Every piece of metadata that could identify a person, place or device is
dropped: global and per-stream tags (GPS ``location``, make, model, creation time,
encoder), chapters, data tracks (e.g. GoPro GPMF telemetry) and subtitles; ``+bitexact``
keeps ffmpeg from writing its own version strings. Inside the copied H.264 stream only
slices and parameter sets are kept (``H264_KEEP``): SEI user data carries free text
(x264 writes its options there, apps and cameras other things). Other video codecs,
HEVC included, are re-encoded, and the final pass is always an H.264 copy, so the same
filter also drops the SEI our own x264 encode writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from app.video import _run
from app.video.probe import DEMUXERS, probe, sniff_container

COPYABLE_VIDEO = {"h264"}
COPYABLE_AUDIO = {"aac"}
# The H.264 NAL units a copied stream keeps: slices (1, 5), parameter sets (7, 8) and
# access unit delimiters (9). Everything else goes: SEI (6: user data, where encoders and
# apps write free text and a canary survived; also timing and recovery-point hints that
# MP4 playback does not need), filler (12) and the reserved and unspecified types.
H264_KEEP = "filter_units=pass_types=1|5|7-9"


@dataclass(frozen=True)
class PlaybackCopy:
    path: Path
    video: str  # "copy" or "transcode"
    audio: str  # "copy", "transcode" or "none"
    size: int


def plan(info: dict[str, Any]) -> tuple[str, str]:
    """(video, audio) handling for a probed original."""
    video = (
        "copy"
        if info.get("video_codec") in COPYABLE_VIDEO and not info.get("rotation")
        else "transcode"
    )
    codec = info.get("audio_codec")
    audio = "none" if codec is None else ("copy" if codec in COPYABLE_AUDIO else "transcode")
    return video, audio


def build_args(
    src: Path, dest: Path, info: dict[str, Any], container: str, how: tuple[str, str]
) -> list[str]:
    video, audio = how
    source = ffmpeg.input(str(src), f=DEMUXERS[container], protocol_whitelist="file")
    streams = [source["v:0"]] + ([source["a:0"]] if audio != "none" else [])
    opts: dict[str, Any] = {
        "f": "mp4",
        "movflags": "+faststart",
        "map_metadata": -1,
        "map_chapters": -1,
        "fflags": "+bitexact",
        "flags:v": "+bitexact",
        "metadata:s:v": "handler_name=",
        "metadata:s:v:0": "encoder=",  # the CLI writes "Lavc libx264" otherwise
        "dn": None,
        "sn": None,
    }
    if video == "copy":
        opts["c:v"] = "copy"
        opts["bsf:v"] = H264_KEEP
    else:
        opts.update(
            {
                "c:v": "libx264",
                "preset": "veryfast",
                "crf": 23,
                "pix_fmt": "yuv420p",
                "profile:v": "high",
                "vf": "scale=trunc(iw/2)*2:trunc(ih/2)*2",
            }
        )
    if audio == "copy":
        opts["c:a"] = "copy"
    elif audio == "transcode":
        opts.update({"c:a": "aac", "b:a": "128k", "ac": 2, "flags:a": "+bitexact"})
    if audio != "none":
        opts["metadata:s:a"] = "handler_name="
        opts["metadata:s:a:0"] = "encoder="
    out = ffmpeg.output(*streams, str(dest), **opts).global_args("-y")
    return [str(a) for a in ffmpeg.compile(out, cmd="ffmpeg")]


def make_playback_copy(
    src: str | os.PathLike[str], dest: str | os.PathLike[str], *, timeout: float = 600
) -> PlaybackCopy:
    """Write the playback copy of ``src`` to ``dest`` atomically (temp file, then rename).

    Raises ``VideoError`` (with the stderr tail) when ffmpeg fails or times out.
    """
    src, dest = Path(src), Path(dest)
    container = sniff_container(src)
    info = probe(src, timeout=min(timeout, 60))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    mid = dest.with_name(f".{dest.name}.{os.getpid()}.mid.mp4")
    how = plan(info)
    try:
        if how[0] == "copy" and how[1] != "transcode":
            _run.run(build_args(src, tmp, info, container, how), timeout=timeout)
        else:
            # Encode first, then remux with stream copy: only a copy pass is free of the
            # "encoder" tag the ffmpeg CLI writes on every stream it encodes.
            _run.run(build_args(src, mid, info, container, how), timeout=timeout)
            again = ("copy", "none" if how[1] == "none" else "copy")
            _run.run(build_args(mid, tmp, info, "mp4", again), timeout=timeout)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
        mid.unlink(missing_ok=True)
    return PlaybackCopy(dest, how[0], how[1], dest.stat().st_size)
