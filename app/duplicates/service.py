"""Near-duplicate rules: which clips match a clip (vPDQ over the index), the candidate
pairs the match step records, and the reviewer's decision (custody-logged)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.clips.models import Clip
from app.config import get_settings
from app.duplicates import index as frame_index
from app.duplicates.exceptions import IndexWarming
from app.duplicates.matching import ClipFrames, PairMatch, match_pair
from app.duplicates.models import DuplicateCandidate
from app.ingest.models import FrameHash
from app.video.pdq import PdqResult


def query_frames(results: Sequence[tuple[float, PdqResult, int | None]]) -> ClipFrames:
    """A clip's frames as a query: each with its eight dihedral hashes."""
    return ClipFrames.build(
        [(ts, r.hash, r.quality) for ts, r, _ in results],
        [r.dihedral() for _, r, _ in results],
    )


def stored_frames(session: Session, clip_id: int) -> ClipFrames:
    rows = session.execute(
        select(FrameHash.timestamp, FrameHash.pdq, FrameHash.quality)
        .where(FrameHash.clip_id == clip_id)
        .order_by(FrameHash.timestamp)
    )
    return ClipFrames.build([(r[0], r[1], r[2]) for r in rows])


def search(session: Session, hashes: Sequence[bytes]) -> list[frame_index.Hit]:
    """Frames within distance 31 of any hash: the index, or the database when the index is
    switched off (``ARCHIVE_DUPLICATES_INDEX=database``). Raises IndexWarming."""
    if get_settings().duplicates_index == "database":
        return frame_index.search_database(session, hashes)
    index = frame_index.get_index()
    if not index.ready:
        raise IndexWarming()
    index.refresh(session)  # catch up with rows committed since the last poll
    return index.search(hashes)


def find_matches(
    session: Session, clip_id: int, query: ClipFrames, *, wait_for_index: bool = False
) -> list[tuple[int, PairMatch]]:
    """Every other clip whose pair with ``clip_id`` passes the candidate rule, best first."""
    settings = get_settings()
    hashes = sorted({h for variants in query.variants for h in variants})
    try:
        hits = search(session, hashes)
    except IndexWarming:
        if not wait_for_index:
            raise
        hits = frame_index.search_database(session, hashes)  # a job does not wait for it
    others = sorted({h.clip_id for h in hits if h.clip_id != clip_id})
    out = []
    for other in others:
        m = match_pair(query, stored_frames(session, other))
        if m.is_candidate(
            query_pct=settings.match_query_pct, compared_pct=settings.match_compared_pct
        ):
            out.append((other, m))
    return sorted(out, key=lambda p: -max(p[1].query_pct, p[1].compared_pct))


def record(session: Session, clip_id: int, matches: Sequence[tuple[int, PairMatch]]) -> int:
    """Upsert the candidate pairs; a decided pair keeps its decision (a dismissal stays)."""
    n = 0
    for other, m in matches:
        a, b = sorted((clip_id, other))
        mine_first = a == clip_id
        row = session.scalar(
            select(DuplicateCandidate).where(
                DuplicateCandidate.clip_a_id == a, DuplicateCandidate.clip_b_id == b
            )
        )
        values = {
            "a_pct": round(m.query_pct if mine_first else m.compared_pct, 1),
            "b_pct": round(m.compared_pct if mine_first else m.query_pct, 1),
            "a_ranges": [list(r) for r in (m.query_ranges if mine_first else m.compared_ranges)],
            "b_ranges": [list(r) for r in (m.compared_ranges if mine_first else m.query_ranges)],
            "orientation": m.orientation,
        }
        if row is None:
            session.add(DuplicateCandidate(clip_a_id=a, clip_b_id=b, state="open", **values))
            n += 1
        elif row.state == "open":
            for k, v in values.items():
                setattr(row, k, v)
    session.flush()
    return n


@dataclass(frozen=True)
class CandidateView:
    id: int
    other_clip_id: int
    other_code: str
    state: str
    this_pct: float  # share of this clip's frames found in the other
    other_pct: float
    this_ranges: list[list[float]]
    other_ranges: list[list[float]]
    orientation: str


def candidates_for(session: Session, clip_id: int) -> list[CandidateView]:
    rows = session.scalars(
        select(DuplicateCandidate)
        .where(
            or_(DuplicateCandidate.clip_a_id == clip_id, DuplicateCandidate.clip_b_id == clip_id)
        )
        .order_by(DuplicateCandidate.id)
    ).all()
    codes = dict(
        session.execute(
            select(Clip.id, Clip.code).where(
                Clip.id.in_({r.clip_a_id for r in rows} | {r.clip_b_id for r in rows})
            )
        ).all()
    )
    out = []
    for r in rows:
        mine_a = r.clip_a_id == clip_id
        other = r.clip_b_id if mine_a else r.clip_a_id
        out.append(
            CandidateView(
                r.id,
                other,
                codes.get(other, "?"),
                r.state,
                r.a_pct if mine_a else r.b_pct,
                r.b_pct if mine_a else r.a_pct,
                r.a_ranges if mine_a else r.b_ranges,
                r.b_ranges if mine_a else r.a_ranges,
                r.orientation,
            )
        )
    return out
