"""Faces blurred in the public derivatives of a clip (issue 16 §2).

The rule: ``ARCHIVE_FACE_BLUR=auto`` blurs the clips flagged ``identifiable_people``,
``always`` every clip, ``off`` none. A blurred clip's public playback copy, keyframes and
poster are separate files (``playback.blurred.mp4`` and ``blurred/<generation>/`` beside
the plain copy, app/storage/derivatives.py); the public routes read only those for a
blurred clip (app/public/sources.py), so a flag turned on after publishing gives a 404
until the blurred copy is made, never the faces. The team's keyframes and the original
are never changed. The playback job (app/public/tasks.py) calls :func:`make_blurred_video`
and :func:`make_blurred_set`.

Every file is named by its storage key (app/storage/backend.py), on either backend: the
public blurred copies under ``public/<sha256>/``, the team's preview under
``derivatives/<sha256>/preview/`` (on local disk ``MEDIA_ROOT/preview/...`` as before); the
files are made in a node-local place and stored through app/storage/working.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.config import get_settings
from app.public.playback import build_args, make_playback_copy
from app.storage import derivatives, working
from app.storage.backend import preview_key, public_key
from app.storage.configured import get_backend
from app.video import _run
from app.video.blur import Options, Region, blur_image, blur_video
from app.video.probe import probe


def applies(identifiable_people: bool) -> bool:
    """Whether the public sees this clip face-blurred."""
    mode = get_settings().face_blur
    return mode == "always" or (mode == "auto" and identifiable_people)


def options() -> Options:
    s = get_settings()
    return Options(every_n=s.face_every_n_frames, threshold=s.face_threshold, margin=s.face_margin)


def make_blurred_video(
    original: Path, dest: Path, regions: Sequence[Region], *, timeout: float
) -> None:
    """The face-blurred playback copy: the plain copy (metadata-free, unrotated, even
    size), blurred, then the same stream-copy pass that strips the encoder's tags and SEI."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    stem = f".{dest.name}.{os.getpid()}"
    plain, mid, tmp = (dest.with_name(f"{stem}.{n}.mp4") for n in ("plain", "mid", "tmp"))
    try:
        make_playback_copy(original, plain, timeout=timeout)
        blur_video(plain, mid, options=options(), regions=regions, timeout=timeout)
        audio = "copy" if probe(mid).get("audio_codec") else "none"
        _run.run(build_args(mid, tmp, {}, "mp4", ("copy", audio)), timeout=timeout)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        for p in (plain, mid, tmp):
            p.unlink(missing_ok=True)


def make_blurred_images(
    frames_dir: Path, out_dir: Path, times: Mapping[int, float], regions: Sequence[Region]
) -> int:
    """Face-blurred copies of a generation's keyframes (at their times) and poster (every
    manual region); returns how many images were written."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    count = 0
    for src in sorted(frames_dir.glob(derivatives.KEYFRAME_GLOB)):
        position = derivatives.keyframe_position(src.name)
        at = times.get(position) if position is not None else None
        blur_image(src, out_dir / src.name, options=options(), regions=regions, at=at)
        count += 1
    poster = frames_dir / derivatives.POSTER
    if poster.is_file():
        blur_image(poster, out_dir / derivatives.POSTER, options=options(), regions=regions)
        count += 1
    return count


def blurred_images_prefix(sha256: str, generation: str) -> str:
    """The key prefix of a generation's face-blurred public keyframes and poster."""
    return public_key(sha256, derivatives.BLURRED_DIR, generation, "x")[:-1]


def preview_keys(sha256: str, generation: str | None) -> tuple[str, str]:
    """(playback copy key, images key prefix) of the team-only preview of a clip not public."""
    images = preview_key(sha256, "images", generation or "none", "x")[:-1]
    return preview_key(sha256, derivatives.PLAYBACK), images


def preview_file(sha256: str, generation: str | None, name: str | int) -> str | None:
    """What the public sees (or would see once published) of a face-blurred clip: the key
    of the public blurred file when there is one, else the preview's; ``name`` is
    "playback", "poster" or a keyframe position."""
    playback, images = preview_keys(sha256, generation)
    if name == "playback":
        found = [public_key(sha256, derivatives.BLURRED_PLAYBACK), playback]
    else:
        filename = derivatives.keyframe(name) if isinstance(name, int) else derivatives.POSTER
        found = [images + filename]
        if generation is not None:
            found.insert(0, blurred_images_prefix(sha256, generation) + filename)
    backend = get_backend()
    return next((k for k in found if backend.stat(k) is not None), None)


def make_blurred_set(
    sha256: str,
    generation: str,
    prefix: str,
    times: Mapping[int, float],
    regions: Sequence[Region],
) -> int:
    """Face-blurred copies of a generation's keyframes and poster, stored under ``prefix``
    (replacing what was there); returns how many images were made."""
    names = [derivatives.keyframe(p) for p in sorted(times)] + [derivatives.POSTER]
    with (
        working.generation(sha256, generation, names) as frames,
        working.output_folder(prefix) as out,
    ):
        return make_blurred_images(frames, out, times, regions)


def make_preview(
    original: Path,
    sha256: str,
    generation: str | None,
    times: Mapping[int, float],
    regions: Sequence[Region],
    *,
    timeout: float,
) -> None:
    playback, images = preview_keys(sha256, generation)
    with working.output(playback) as dest:
        make_blurred_video(original, dest, regions, timeout=timeout)
    if generation is not None:
        make_blurred_set(sha256, generation, images, times, regions)


def remove_preview(sha256: str) -> None:
    get_backend().delete_prefix(preview_key(sha256, "x")[:-1])


def remove_blurred(sha256: str) -> None:
    backend = get_backend()
    backend.delete_derivative(public_key(sha256, derivatives.BLURRED_PLAYBACK))
    backend.delete_prefix(public_key(sha256, derivatives.BLURRED_DIR, "x")[:-1])
