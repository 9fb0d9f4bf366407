"""ffprobe/ffmpeg/Pillow wrappers: pure functions, no database, no web framework."""

from app.video.errors import CorruptVideo, UnsupportedVideo, VideoError
from app.video.images import (
    format_timestamp,
    make_contact_sheet,
    make_poster,
    make_thumbnail,
    open_image,
)
from app.video.keyframes import Keyframe, extract_keyframes, hamming, phash_hex
from app.video.probe import SENSITIVE_FIELDS, probe, sniff_container

__all__ = [
    "SENSITIVE_FIELDS",
    "CorruptVideo",
    "Keyframe",
    "UnsupportedVideo",
    "VideoError",
    "extract_keyframes",
    "format_timestamp",
    "hamming",
    "make_contact_sheet",
    "make_poster",
    "make_thumbnail",
    "open_image",
    "phash_hex",
    "probe",
    "sniff_container",
]
