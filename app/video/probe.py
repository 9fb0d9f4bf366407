"""Identify a video file by its magic bytes, then read its metadata with ffprobe.

ffprobe always runs with the demuxer forced from the magic bytes (``-f mov`` etc.) and
``-protocol_whitelist file``, so the HLS and concat demuxers can never be picked by
content probing and nothing inside the file can make ffmpeg open a URL or another file.
"""

from __future__ import annotations

import json
import os
import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

from app.video import _run
from app.video.errors import CorruptVideo, UnsupportedVideo, VideoError
from app.video.truncation import truncation

SENSITIVE_FIELDS = ["gps", "device_make", "device_model"]

#: sniffed container -> the ffmpeg demuxer we force
DEMUXERS = {"mp4": "mov", "matroska": "matroska", "avi": "avi", "mpegts": "mpegts", "flv": "flv"}

# Top-level QuickTime atoms that may open a .mov written without an ftyp box.
_QT_FIRST_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_PLAYLIST = "playlists (HLS/concat) are not accepted"
_SNIFF_BYTES = 4096


def sniff_container(path: str | os.PathLike[str]) -> str:
    """Return "mp4", "matroska", "avi", "mpegts" or "flv" from the file's first bytes.

    Anything else raises :class:`UnsupportedVideo` naming what the file seems to be.
    """
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        raise UnsupportedVideo("the file is empty")
    if head[4:8] == b"ftyp" or (len(head) >= 8 and head[4:8] in _QT_FIRST_ATOMS):
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"FLV"):
        return "flv"
    if _is_mpegts(head):
        return "mpegts"
    raise UnsupportedVideo(_describe_non_video(head))


def _is_mpegts(head: bytes) -> bool:
    for size, offset in ((188, 0), (192, 4), (204, 0)):
        sync = [offset + i * size for i in range(3) if offset + i * size < len(head)]
        if len(sync) >= 2 and all(head[i] == 0x47 for i in sync):
            return True
    return False


_SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "this file is a JPEG image, not a video"),
    (b"\x89PNG\r\n\x1a\n", 0, "this file is a PNG image, not a video"),
    (b"GIF87a", 0, "this file is a GIF image, not a video"),
    (b"GIF89a", 0, "this file is a GIF image, not a video"),
    (b"%PDF-", 0, "this file is a PDF document, not a video"),
    (b"PK\x03\x04", 0, "this file is a ZIP archive, not a video"),
    (b"ID3", 0, "this file is an MP3 audio file, not a video"),
    (b"OggS", 0, "Ogg files are not accepted as video"),
]


def _describe_non_video(head: bytes) -> str:
    for magic, offset, reason in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return reason
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "this file is a WAV audio file, not a video"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "this file is a WebP image, not a video"
    if _is_playlist(head):
        return _PLAYLIST
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if _looks_like_text(stripped):
        text = stripped.decode("utf-8", "replace").lower()
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if (
            text.startswith("#extm3u")
            or text.startswith("ffconcat")
            or any(ln.startswith(("file ", "#ext-x-", "#extinf")) for ln in lines)
        ):
            return _PLAYLIST
        return "this file is text, not a video"
    return "the file type is not recognised as a video (unknown format)"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character may be cut at the end of the sample
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    if not text:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
    return printable / len(text) > 0.95


def _check_mp4_boxes(path: Path, size: int) -> None:
    """Walk the top-level ISO-BMFF boxes: each must fit in the file, and moov must exist."""
    seen: list[bytes] = []
    with open(path, "rb") as fh:
        offset = 0
        while offset < size:
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                raise CorruptVideo("the file is truncated or corrupt (a box header is cut off)")
            box_size, box_type = struct.unpack(">I4s", header[:8])
            if box_size == 1:
                if len(header) < 16:
                    raise CorruptVideo("the file is truncated or corrupt (a box header is cut off)")
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8:
                raise CorruptVideo("the file is corrupt (a box has an impossible size)")
            seen.append(box_type)
            if offset + box_size > size:
                name = box_type.decode("latin-1")
                if box_type == b"moov" or b"moov" not in seen:
                    raise CorruptVideo(
                        "the file is truncated or corrupt (moov atom not found)"
                        if box_type != b"moov"
                        else "the file is truncated or corrupt (moov atom is cut off)"
                    )
                raise CorruptVideo(
                    f"the file is truncated or corrupt (the {name!r} box runs past the end "
                    f"of the file: {offset + box_size - size} bytes missing)"
                )
            offset += box_size
    if b"moov" not in seen:
        raise CorruptVideo("the file is truncated or corrupt (moov atom not found)")


def _is_playlist(head: bytes) -> bool:
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return stripped[:7].upper() == b"#EXTM3U" or stripped[:8].lower() == b"ffconcat"


def _check_avi_gab2(path: Path, block: int = 1 << 20) -> None:
    """Refuse AVI files whose GAB2 subtitle chunks carry a playlist.

    The avi demuxer hands GAB2 payloads to a probed sub-demuxer (the 2017 HLS-in-AVI
    trick). Current ffmpeg only accepts srt/ass there, but such a file is hostile anyway.
    """
    with open(path, "rb") as fh:
        pos = 0
        tail = b""
        while True:
            chunk = fh.read(block)
            if not chunk:
                return
            data = tail + chunk
            base = pos - len(tail)
            start = 0
            while (hit := data.find(b"GAB2\x00", start)) != -1:
                start = hit + 1
                fh_pos = fh.tell()
                fh.seek(base + hit + 7)
                header = fh.read(4)
                if len(header) == 4:
                    desc_len = struct.unpack("<I", header)[0]
                    fh.seek(base + hit + 7 + 4 + min(desc_len, 1 << 16) + 6)
                    if _is_playlist(fh.read(64)):
                        raise UnsupportedVideo(
                            _PLAYLIST + " (one is hidden in this AVI's subtitle track)"
                        )
                fh.seek(fh_pos)
            tail = data[-8:]
            pos += len(chunk)


def _ffprobe(path: Path, demuxer: str, timeout: float) -> dict[str, Any]:
    args = [
        "ffprobe",
        "-v", "error",
        "-protocol_whitelist", "file",
        "-f", demuxer,
        "-show_format",
        "-show_streams",
        "-of", "json",
        "-i", f"file:{path}",
    ]  # fmt: skip
    try:
        out, _ = _run.run(args, timeout=timeout)
    except VideoError as exc:
        raise _explain(exc, demuxer) from exc
    try:
        data: dict[str, Any] = json.loads(out.decode("utf-8", "replace"))
    except json.JSONDecodeError as exc:
        raise VideoError("ffprobe returned output that is not JSON") from exc
    return data


def _explain(exc: VideoError, demuxer: str) -> VideoError:
    err = exc.stderr_tail
    if "moov atom not found" in err:
        return CorruptVideo(
            "the file is truncated or corrupt (moov atom not found)", stderr_tail=err
        )
    if "Invalid data found" in err or "EBML header parsing failed" in err:
        return CorruptVideo(
            f"the file is truncated or corrupt (not a readable {demuxer} file)", stderr_tail=err
        )
    if "took longer" in exc.message:
        return exc
    return VideoError(f"the video could not be read: {exc.message}", stderr_tail=err)


def _fraction(value: Any) -> float | None:
    try:
        frac = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return float(frac) if frac > 0 else None


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result else None  # drop NaN


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def rotation_of(stream: dict[str, Any]) -> int:
    """Clockwise degrees (0/90/180/270) a player turns the coded picture to display it.

    ffprobe's display-matrix ``rotation`` is counter-clockwise, so it is negated; the
    legacy ``rotate`` tag (older muxers) is already clockwise.
    """
    degrees: float | None = None
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            value = _float(side["rotation"])
            if value is not None:
                degrees = -value
                break
    if degrees is None:
        degrees = _float((stream.get("tags") or {}).get("rotate")) or 0.0
    return (round(degrees / 90) * 90) % 360


def _tag(tags: dict[str, str], *keys: str) -> str | None:
    lowered = {k.lower(): v for k, v in tags.items()}
    for key in keys:
        value = lowered.get(key.lower())
        if value and value.strip():
            return value.strip()
    return None


def probe(path: str | os.PathLike[str], *, timeout: float = 30) -> dict[str, Any]:
    """Sniff, ffprobe and validate ``path``; return a JSON-serialisable summary.

    Raises :class:`UnsupportedVideo` (not a video we accept), :class:`CorruptVideo`
    (truncated/damaged) or :class:`VideoError` (no video stream, no duration, timeout).
    """
    path = Path(path).resolve()
    container = sniff_container(path)
    demuxer = DEMUXERS[container]
    size = path.stat().st_size
    if container == "mp4":
        _check_mp4_boxes(path, size)
    elif container == "avi":
        _check_avi_gab2(path)
    data = _ffprobe(path, demuxer, timeout)
    fmt: dict[str, Any] = data.get("format") or {}
    streams: list[dict[str, Any]] = data.get("streams") or []
    format_name = str(fmt.get("format_name") or "")
    if demuxer not in format_name.split(","):
        raise UnsupportedVideo(
            f"the file's magic bytes say {container} but ffprobe found {format_name or 'nothing'}"
        )
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not videos:
        raise VideoError("no video stream found")
    video = videos[0]
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _float(fmt.get("duration")) or _float(video.get("duration"))
    if not duration or duration <= 0:
        raise VideoError("the video has no duration (it is empty or corrupt)")
    coded_w, coded_h = _int(video.get("width")), _int(video.get("height"))
    if not coded_w or not coded_h:
        raise VideoError("the video stream has no picture size (it is corrupt)")
    rotation = rotation_of(video)
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    avg = _fraction(video.get("avg_frame_rate"))
    real = _fraction(video.get("r_frame_rate"))
    tags: dict[str, str] = {**(video.get("tags") or {}), **(fmt.get("tags") or {})}
    cut = truncation(path, container, size, duration)
    return {
        "container": format_name,
        "duration": duration,
        "start_time": _float(fmt.get("start_time")) or 0.0,
        "size": _int(fmt.get("size")) or size,
        "bitrate": _int(fmt.get("bit_rate")),
        "video_codec": video.get("codec_name"),
        "audio_codec": audio.get("codec_name") if audio else None,
        "width": width,
        "height": height,
        "coded_width": coded_w,
        "coded_height": coded_h,
        "rotation": rotation,
        "pix_fmt": video.get("pix_fmt"),
        "color_range": video.get("color_range"),
        "color_space": video.get("color_space"),
        "frame_rate": avg or real,
        "variable_frame_rate": is_variable_frame_rate(real, avg),
        "creation_time": _tag(tags, "creation_time", "com.apple.quicktime.creationdate"),
        "encoder": _tag(fmt.get("tags") or {}, "encoder"),
        "gps": _tag(tags, "com.apple.quicktime.location.ISO6709", "location", "location-eng"),
        "device_make": _tag(tags, "com.apple.quicktime.make", "com.android.manufacturer", "make"),
        "device_model": _tag(tags, "com.apple.quicktime.model", "com.android.model", "model"),
        "truncated": cut is not None,  # accepted, with a warning (app/video/truncation.py)
        "truncated_detail": cut,
        "sensitive_fields": list(SENSITIVE_FIELDS),
    }


def is_variable_frame_rate(r_frame_rate: float | None, avg_frame_rate: float | None) -> bool:
    """VFR when the average rate differs from ffprobe's base rate by more than 1 %.

    ``r_frame_rate`` is the smallest rate that represents every timestamp; for a constant
    rate clip it equals ``avg_frame_rate`` (frames / duration). Phones that drop or slow
    frames in low light show an average clearly below the base rate.
    """
    if not r_frame_rate or not avg_frame_rate:
        return False
    return abs(r_frame_rate - avg_frame_rate) / r_frame_rate > 0.01
