"""PDQ frame hashes of an original: every kept keyframe, plus one frame per second where
the keyframes are sparser (app/video/seconds.py). Computed by the ``hashes`` step and by
``archive duplicates scan`` (the backfill); the near-duplicate search (app/duplicates/)
reads them.

:func:`compute` is the slow half (Pillow, ffmpeg, numpy), outside any transaction;
:func:`store` the write, inside one. Storing the same set again changes nothing, so a
re-run keeps the rows (and their ids, which the indexes poll) as they are.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.ingest.models import FrameHash, Keyframe, Media
from app.storage import derivatives, working
from app.storage.backend import derivative_key
from app.video import open_image
from app.video.pdq import PdqResult, pdq_image
from app.video.seconds import hash_seconds


@dataclass(frozen=True, order=True)
class FrameRow:
    timestamp: float
    pdq: bytes
    quality: int
    keyframe_position: int | None


def compute_results(
    folder: Path,
    keyframes: Sequence[tuple[int, float]],
    original: Path,
    *,
    timeout: float,
    progress: Callable[[float], None] = lambda f: None,
) -> list[tuple[float, PdqResult, int | None]]:
    """PDQ of each keyframe JPEG (``(position, timestamp)`` in ``folder``, box-averaged to
    64x64 like the per-second frames, see app/video/seconds.py), then of the
    per-second frames of ``original`` that no keyframe stands for, in time order; each
    with its keyframe position (None for a per-second frame)."""
    out: list[tuple[float, PdqResult, int | None]] = []
    for n, (position, timestamp) in enumerate(keyframes):
        image = open_image(folder / derivatives.keyframe(position))
        result = pdq_image(image.resize((64, 64), Image.Resampling.BOX))
        out.append((round(timestamp, 3), result, position))
        progress(0.5 * (n + 1) / max(1, len(keyframes)))
    for frame in hash_seconds(original, skip_near=[t for _, t in keyframes], timeout=timeout):
        out.append((frame.timestamp, frame.pdq, None))
    progress(1.0)
    return sorted(out, key=lambda r: r[0])


def compute(
    folder: Path,
    keyframes: Sequence[tuple[int, float]],
    original: Path,
    *,
    timeout: float,
    progress: Callable[[float], None] = lambda f: None,
) -> list[FrameRow]:
    """:func:`compute_results` as the rows :func:`store` writes."""
    results = compute_results(folder, keyframes, original, timeout=timeout, progress=progress)
    return rows_of(results)


def rows_of(results: Sequence[tuple[float, PdqResult, int | None]]) -> list[FrameRow]:
    return sorted(FrameRow(ts, r.hash, r.quality, pos) for ts, r, pos in results)


def save_dcts(dst: Path, results: Sequence[tuple[float, PdqResult, int | None]]) -> None:
    """Keep each frame's DCT block beside the keyframes (``pdq_dct.npz`` in ``dst``, 1 KiB
    a frame, written atomically), so the match step gets the eight dihedral variants of
    every frame without decoding the video a second time."""
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    dcts = np.stack([r.dct for _, r, _ in results]) if results else np.zeros((0, 16, 16))
    with open(tmp, "wb") as fh:
        np.savez(
            fh,
            timestamp=np.array([ts for ts, _, _ in results], dtype=np.float64),
            dct=dcts.astype(np.float32),
            quality=np.array([r.quality for _, r, _ in results], dtype=np.int16),
            keyframe=np.array([-1 if p is None else p for _, _, p in results], dtype=np.int64),
        )
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, dst)


def load_dcts(
    path: Path, expected: Sequence[FrameRow]
) -> list[tuple[float, PdqResult, int | None]] | None:
    """What :func:`save_dcts` kept (``pdq_dct.npz``), if it is there and gives exactly the
    ``expected`` stored rows (else None: the caller decodes again)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            ts, dct, quality, kf = z["timestamp"], z["dct"], z["quality"], z["keyframe"]
    except (OSError, KeyError, ValueError):
        return None
    out: list[tuple[float, PdqResult, int | None]] = [
        (float(ts[i]), PdqResult(dct[i], int(quality[i])), None if kf[i] < 0 else int(kf[i]))
        for i in range(len(ts))
    ]
    if rows_of(out) != sorted(expected):
        return None
    return out


def stored(session: Session, media_id: int) -> list[FrameRow]:
    return sorted(
        FrameRow(r.timestamp, r.pdq, r.quality, r.keyframe_position)
        for r in session.scalars(select(FrameHash).where(FrameHash.media_id == media_id))
    )


def store(session: Session, media: Media, rows: Sequence[FrameRow]) -> bool:
    """Make ``rows`` the original's frame hashes; True when anything changed."""
    if stored(session, media.id) == sorted(rows):
        return False
    session.execute(delete(FrameHash).where(FrameHash.media_id == media.id))
    session.add_all(
        FrameHash(
            media_id=media.id,
            clip_id=media.clip_id,
            timestamp=r.timestamp,
            pdq=r.pdq,
            quality=r.quality,
            keyframe_position=r.keyframe_position,
        )
        for r in rows
    )
    session.flush()
    return True


def keyframes_of(session: Session, media: Media) -> list[tuple[int, float]]:
    return [
        (k.position, k.timestamp)
        for k in session.scalars(
            select(Keyframe).where(Keyframe.media_id == media.id).order_by(Keyframe.position)
        )
    ]


def backfill_one(media_id: int, *, timeout: float) -> int | None:
    """Compute and store one original's frame hashes in their own transactions (the CLI's
    backfill); the number of frames, or None when it has no keyframes yet."""
    from app.db import session_scope

    with session_scope() as session:
        media = session.get(Media, media_id)
        if media is None or media.derivative_generation is None:
            return None
        sha, gen, size = media.sha256, media.derivative_generation, media.size
        frames = keyframes_of(session, media)
    names = [derivatives.keyframe(p) for p, _ in frames]
    with working.generation(sha, gen, names) as folder, working.original(sha, size) as orig:
        results = compute_results(folder, frames, orig, timeout=timeout)
    with working.output(derivative_key(sha, gen, derivatives.PDQ_DCT)) as dst:
        save_dcts(dst, results)
    rows = rows_of(results)
    with session_scope() as session:
        media = session.get(Media, media_id)
        if media is None or media.derivative_generation != gen:
            return None
        store(session, media, rows)
    return len(rows)
