"""The ``match`` job step (after ``hashes``): find the clips an original matches and record
the candidate pairs. :func:`register` declares it; the composition root calls it.

The video is decoded once, by the ``hashes`` step: it keeps each frame's DCT block
(``pdq_dct.npz`` beside the keyframes), whose sign flips and transposes give the eight
dihedral variants here. Only when that file is missing or disagrees with the stored rows
(an original hashed before it existed) are the frames decoded again, outside any
transaction. The
search and the pair rule run in the finishing transaction, against the hashes committed
by then (the index catches up with the database's high-water mark first).
"""

from __future__ import annotations

import contextlib

from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import session_scope
from app.duplicates import service
from app.duplicates.matching import ClipFrames
from app.ingest import frame_hashes
from app.ingest.models import Media
from app.jobs import registry
from app.jobs.registry import Outcome, Progress, StepFailed
from app.storage import derivatives, working
from app.storage.backend import derivative_key
from app.video import VideoError

MATCH = "match"


def query_of(media_id: int, progress: Progress = lambda f: None) -> tuple[int, ClipFrames]:
    """The original's frames as a query (clip id, frames with their dihedral variants)."""
    with session_scope() as session:
        media = session.get(Media, media_id)
        if media is None or media.derivative_generation is None:
            raise StepFailed("there are no keyframes to match (run the keyframes step first)")
        clip_id, gen, sha256 = media.clip_id, media.derivative_generation, media.sha256
        size = media.size
        frames = frame_hashes.keyframes_of(session, media)
        rows = frame_hashes.stored(session, media_id)
    results = None
    dct_key = derivative_key(sha256, gen, derivatives.PDQ_DCT)
    with contextlib.suppress(FileNotFoundError), working.derivative(dct_key) as dcts:
        results = frame_hashes.load_dcts(dcts, rows)
    if results is None:  # hashed before the DCT blocks were kept: decode once more
        names = [derivatives.keyframe(p) for p, _ in frames]
        with (
            working.generation(sha256, gen, names) as folder,
            working.original(sha256, size) as original,
        ):
            results = frame_hashes.compute_results(
                folder,
                frames,
                original,
                timeout=get_settings().ffmpeg_timeout_seconds,
                progress=lambda f: progress(0.9 * f),
            )
    progress(0.9)
    return clip_id, service.query_frames(results)


def run_match(media_id: int, sha256: str, progress: Progress) -> Outcome:
    clip_id, query = query_of(media_id, progress)

    def apply(session: Session) -> None:
        matches = service.find_matches(session, clip_id, query, wait_for_index=True)
        service.record(session, clip_id, matches)

    return Outcome(apply)


def scan_one(media_id: int) -> int:
    """The match for one original in its own transaction (``archive duplicates scan``):
    the number of new candidate pairs."""
    clip_id, query = query_of(media_id)
    with session_scope() as session:
        matches = service.find_matches(session, clip_id, query, wait_for_index=True)
        return service.record(session, clip_id, matches)


def register() -> None:
    registry.add_step(
        registry.Step(
            MATCH,
            run_match,
            "near-duplicate candidates (PDQ, vPDQ rule)",
            None,
            (VideoError, working.CopyMismatch),
        )
    )
