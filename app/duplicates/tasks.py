"""The ``match`` job step (after ``hashes``): find the clips an original matches and record
the candidate pairs. :func:`register` declares it; the composition root calls it.

The slow half (re-decoding the keyframes and per-second frames to get each frame's DCT,
whose sign flips give the eight dihedral variants) runs outside any transaction; the
search and the pair rule run in the finishing transaction, against the hashes committed
by then (the index catches up with the database's high-water mark first).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import session_scope
from app.duplicates import service
from app.ingest import frame_hashes
from app.ingest.models import Media
from app.jobs import registry
from app.jobs.registry import Outcome, Progress, StepFailed
from app.storage import get_store
from app.video import VideoError

MATCH = "match"


def run_match(media_id: int, sha256: str, progress: Progress) -> Outcome:
    store = get_store()
    with session_scope() as session:
        media = session.get(Media, media_id)
        if media is None or media.derivative_generation is None:
            raise StepFailed("there are no keyframes to match (run the keyframes step first)")
        clip_id, gen = media.clip_id, media.derivative_generation
        frames = frame_hashes.keyframes_of(session, media)
    results = frame_hashes.compute_results(
        store.generation_dir(sha256, gen),
        frames,
        store.original_path(sha256),
        timeout=get_settings().ffmpeg_timeout_seconds,
        progress=lambda f: progress(0.9 * f),
    )
    query = service.query_frames(results)

    def apply(session: Session) -> None:
        matches = service.find_matches(session, clip_id, query, wait_for_index=True)
        service.record(session, clip_id, matches)

    return Outcome(apply)


def register() -> None:
    registry.add_step(
        registry.Step(
            MATCH, run_match, "near-duplicate candidates (PDQ, vPDQ rule)", None, (VideoError,)
        )
    )
