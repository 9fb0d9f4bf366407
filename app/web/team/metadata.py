"""The original file's technical facts for the team clip page, with human labels (keys
``meta.*`` in app/i18n/*/metadata.json) and values a person reads without knowing ffprobe.

The probe summary (app/video/probe.py) stores ``rotation`` as the clockwise degrees a
player turns the coded picture to show it (from the display matrix, whose own sign is
counter-clockwise, or the legacy ``rotate`` tag), and ``width``/``height`` as displayed.
So a phone clip tagged ``rotate=90`` reads "turned 90° clockwise", and 270 reads "turned
90° anticlockwise" rather than a puzzling 270°.
"""

from __future__ import annotations

from typing import Any

from app.i18n import digits, translate
from app.web.team.common import timecode

#: ffprobe codec names -> the names people know
CODECS = {
    "h264": "H.264 (AVC)",
    "hevc": "H.265 (HEVC)",
    "av1": "AV1",
    "vp8": "VP8",
    "vp9": "VP9",
    "mpeg4": "MPEG-4 Part 2",
    "mpeg2video": "MPEG-2",
    "mjpeg": "Motion JPEG",
    "prores": "Apple ProRes",
    "aac": "AAC",
    "mp3": "MP3",
    "opus": "Opus",
    "vorbis": "Vorbis",
    "ac3": "Dolby Digital (AC-3)",
    "eac3": "Dolby Digital Plus (E-AC-3)",
    "flac": "FLAC",
    "pcm_s16le": "PCM (uncompressed)",
    "amr_nb": "AMR",
}
#: the first demuxer name ffprobe lists -> the container's usual name
CONTAINERS = {
    "mov": "MP4 / QuickTime",
    "matroska": "Matroska / WebM",
    "avi": "AVI",
    "mpegts": "MPEG transport stream",
    "flv": "Flash video (FLV)",
}
ROTATIONS = {
    0: "meta.rotation.none",
    90: "meta.rotation.cw",
    180: "meta.rotation.flip",
    270: "meta.rotation.ccw",
}


def _number(lang: str, value: float, places: int = 0) -> str:
    text = f"{value:.{places}f}".rstrip("0").rstrip(".") if places else f"{value:.0f}"
    return digits(lang, text)


def codec_name(codec: str | None) -> str | None:
    if not codec:
        return None
    return CODECS.get(codec.lower(), codec.upper())


def container_name(names: str | None) -> str | None:
    if not names:
        return None
    first = names.split(",")[0]
    return CONTAINERS.get(first, first)


def rotation_text(lang: str, degrees: Any) -> str | None:
    key = ROTATIONS.get(degrees) if isinstance(degrees, int) else None
    return translate(lang, key) if key else None


def frame_rate_text(lang: str, rate: Any, variable: Any) -> str | None:
    if not isinstance(rate, int | float) or rate <= 0:
        return None
    key = "meta.frame_rate.variable" if variable else "meta.frame_rate.constant"
    return translate(lang, key, fps=_number(lang, float(rate), 2))


def bitrate_text(lang: str, bits: Any) -> str | None:
    if not isinstance(bits, int | float) or bits <= 0:
        return None
    if bits >= 10_000_000:
        return translate(lang, "meta.bitrate.mbit", n=_number(lang, bits / 1e6, 1))
    return translate(lang, "meta.bitrate.kbit", n=_number(lang, bits / 1e3))


def file_facts(probe: dict[str, Any] | None, lang: str) -> list[tuple[str, str]]:
    """(label, value) rows for the facts the probe found, in reading order."""
    if not probe:
        return []
    p = probe
    size = None
    if p.get("width") and p.get("height"):
        size = digits(lang, f"{p['width']} × {p['height']}")
    duration = p.get("duration")
    fps = frame_rate_text(lang, p.get("frame_rate"), p.get("variable_frame_rate"))
    rows: list[tuple[str, str | None]] = [
        ("meta.duration", digits(lang, timecode(duration)) if duration else None),
        ("meta.size", size),
        ("meta.rotation", rotation_text(lang, p.get("rotation"))),
        ("meta.frame_rate", fps),
        ("meta.video_codec", codec_name(p.get("video_codec"))),
        ("meta.audio_codec", codec_name(p.get("audio_codec")) or translate(lang, "meta.no_audio")),
        ("meta.bitrate", bitrate_text(lang, p.get("bitrate"))),
        ("meta.container", container_name(p.get("container"))),
        ("meta.creation_time", p.get("creation_time")),
        ("meta.device_make", p.get("device_make")),
        ("meta.device_model", p.get("device_model")),
        ("meta.encoder", p.get("encoder")),
    ]
    return [(translate(lang, label), value) for label, value in rows if value]
