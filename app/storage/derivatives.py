"""The names of every derivative file, in one place (the original is named by its SHA-256
alone: MediaStore.original_path).

A keyframe run writes into a generation directory (MediaStore.generation_dir):
``kf_0000.jpg`` ... (the keyframes, app/video/keyframes), ``thumb_0000.jpg`` ... (320 px
thumbnails), ``poster.jpg`` and ``contact.jpg`` (app/ingest/tasks.py), ``pdq_dct.npz`` (each hashed
frame's 16x16 PDQ DCT block, written by the hashes step so that the match step gets the
dihedral variants without decoding the video again: app/ingest/frame_hashes.py). The public playback
copy lives outside the derivatives tree, whose generation directories are swept:
``MEDIA_ROOT/public/<aa>/<bb>/<sha256>/playback.mp4`` (app/public/tasks.py).

These are the local backend's places; every caller names the files by their storage keys
(app/storage/backend.py: ``derivatives/<sha256>/<generation>/<name>``, ``public/<sha256>/...``,
the preview under ``derivatives/<sha256>/preview/``), which LocalBackend maps onto them and
S3 stores as objects; processing reads and writes them through app/storage/working.py.
"""

from __future__ import annotations

import re
from pathlib import Path

POSTER = "poster.jpg"
PDQ_DCT = "pdq_dct.npz"  # the frames' PDQ DCT blocks (hashes step), for the match step
CONTACT_SHEET = "contact.jpg"
PLAYBACK = "playback.mp4"
BLURRED_PLAYBACK = "playback.blurred.mp4"  # the face-blurred public copy (app/public/faceblur.py)
BLURRED_DIR = "blurred"  # its face-blurred keyframes and poster, per generation
PLAYBACK_DIR = "public"
PREVIEW = "preview"  # derivatives/<sha256>/preview/ (not a generation: those are 32 hex digits)
KEYFRAME_GLOB = "kf_*.jpg"
_KEYFRAME = re.compile(r"^kf_([0-9]+)\.jpg$")


def keyframe(position: int) -> str:
    return f"kf_{position:04d}.jpg"


def thumbnail(position: int) -> str:
    return f"thumb_{position:04d}.jpg"


def keyframe_position(name: str) -> int | None:
    """The position in a keyframe's file name (``kf_0007.jpg`` -> 7), else None."""
    m = _KEYFRAME.match(name)
    return int(m.group(1)) if m else None


def playback_path(media_root: Path, sha256: str) -> Path:
    """Where the public playback copy of an original lives (whether or not it exists)."""
    return media_root / PLAYBACK_DIR / sha256[:2] / sha256[2:4] / sha256 / PLAYBACK


def blurred_playback_path(media_root: Path, sha256: str) -> Path:
    """Where the face-blurred public playback copy of an original lives."""
    return playback_path(media_root, sha256).with_name(BLURRED_PLAYBACK)


def blurred_images_dir(media_root: Path, sha256: str, generation: str) -> Path:
    """Where the face-blurred public keyframes and poster of a generation live."""
    return playback_path(media_root, sha256).parent / BLURRED_DIR / generation


def preview_dir(media_root: Path, sha256: str) -> Path:
    """The team-only preview of the face-blurred public derivatives of a clip that is not
    public (yet): MEDIA_ROOT/preview/<aa>/<bb>/<sha256>/ (playback.mp4, images/<gen>/)."""
    return media_root / PREVIEW / sha256[:2] / sha256[2:4] / sha256
