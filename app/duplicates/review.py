"""What reviewers see and decide about near-duplicates: a clip's candidates with a
keyframe from each side of the match, the reviewer's decision (custody-logged, one winner
when two reviewers decide at once), the confirmed links with the earliest known copy, and
the warning an uploader sees once the match step found something."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.clips.models import Clip
from app.custody import service as custody
from app.duplicates.models import STATES, DuplicateCandidate
from app.duplicates.schemas import (
    CandidateRead,
    CopyRead,
    DuplicateRef,
    DuplicatesRead,
    LinksRead,
    StillRead,
)
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.ingest.models import Keyframe, Media
from app.jobs import service as jobs
from app.kit.clock import utcnow
from app.public import changes as public_changes

DECISIONS = STATES[1:]
MATCH = "match"  # the job step (app/duplicates/tasks.py)
CONFIRMED = ("same_footage", "same_event")
REVIEWER_ROLES = ("reviewer", "admin")


class CandidateNotFound(NotFound):
    code = "candidate_not_found"


class DecidedMeanwhile(Conflict):
    code = "decided_meanwhile"


@dataclass(frozen=True)
class Still:
    """A keyframe of one side of a match, at (or nearest to) the matched range."""

    position: int
    timestamp: float


@dataclass(frozen=True)
class Candidate:
    other_code: str
    state: str
    this_pct: float  # share of this clip's frames that have a match in the other
    other_pct: float  # share of the other clip's frames that have a match in this one
    this_ranges: list[list[float]]
    other_ranges: list[list[float]]
    orientation: str
    this_still: Still | None
    other_still: Still | None
    decided_by: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class Copy:
    """One clip of a confirmed group, with what says when it came into being."""

    code: str
    relation: str | None  # None for the clip itself
    uploaded_at: datetime | None
    created_at: datetime | None  # the probed creation time of the file
    created_raw: str | None


@dataclass(frozen=True)
class Links:
    copies: list[Copy]  # this clip and the clips confirmed as linked to it
    earliest_upload: str | None
    earliest_created: str | None

    @property
    def disagree(self) -> bool:
        return bool(self.earliest_created) and self.earliest_created != self.earliest_upload


def _clip(session: Session, code: str) -> Clip:
    clip = session.scalar(select(Clip).where(Clip.code == code, Clip.deleted_at.is_(None)))
    if clip is None:
        raise NotFound(f"there is no clip {code}", code="clip_not_found", field="code")
    return clip


def _rows(session: Session, clip_id: int) -> list[DuplicateCandidate]:
    return list(
        session.scalars(
            select(DuplicateCandidate)
            .where(
                or_(
                    DuplicateCandidate.clip_a_id == clip_id,
                    DuplicateCandidate.clip_b_id == clip_id,
                )
            )
            .order_by(DuplicateCandidate.id)
        )
    )


def _live_codes(session: Session, ids: set[int]) -> dict[int, str]:
    rows = session.execute(
        select(Clip.id, Clip.code).where(Clip.id.in_(ids), Clip.deleted_at.is_(None))
    )
    return {r[0]: r[1] for r in rows}


def _keyframes(session: Session, ids: set[int]) -> dict[int, list[Still]]:
    """The keyframes of each clip's current derivative generation, in time order."""
    rows = session.execute(
        select(Media.clip_id, Keyframe.position, Keyframe.timestamp)
        .join(Keyframe, Keyframe.media_id == Media.id)
        .where(Media.clip_id.in_(ids), Keyframe.generation == Media.derivative_generation)
        .order_by(Media.clip_id, Keyframe.timestamp)
    )
    out: dict[int, list[Still]] = {}
    for clip_id, position, ts in rows:
        out.setdefault(clip_id, []).append(Still(position, ts))
    return out


def _still(frames: list[Still], ranges: list[list[float]]) -> Still | None:
    """The keyframe inside the first matched range (nearest its middle), else the nearest."""
    if not frames:
        return None
    if not ranges:
        return frames[0]
    start, end = ranges[0][0], ranges[0][1]
    middle = (start + end) / 2
    inside = [f for f in frames if start <= f.timestamp <= end]
    return min(inside or frames, key=lambda f: abs(f.timestamp - middle))


def candidates(session: Session, code: str) -> list[Candidate]:
    """Every candidate pair of a clip (open and decided), best match first."""
    clip = _clip(session, code)
    rows = _rows(session, clip.id)
    ids = {clip.id} | {r.clip_a_id for r in rows} | {r.clip_b_id for r in rows}
    codes = _live_codes(session, ids)
    frames = _keyframes(session, ids)
    deciders = dict(
        session.execute(
            select(User.id, User.email).where(
                User.id.in_({r.decided_by_id for r in rows if r.decided_by_id})
            )
        ).all()
    )
    out = []
    for r in rows:
        mine_a = r.clip_a_id == clip.id
        other = r.clip_b_id if mine_a else r.clip_a_id
        if other not in codes:
            continue  # the other clip was deleted
        this_ranges = r.a_ranges if mine_a else r.b_ranges
        other_ranges = r.b_ranges if mine_a else r.a_ranges
        out.append(
            Candidate(
                other_code=codes[other],
                state=r.state,
                this_pct=r.a_pct if mine_a else r.b_pct,
                other_pct=r.b_pct if mine_a else r.a_pct,
                this_ranges=this_ranges,
                other_ranges=other_ranges,
                orientation=r.orientation,
                this_still=_still(frames.get(clip.id, []), this_ranges),
                other_still=_still(frames.get(other, []), other_ranges),
                decided_by=deciders.get(r.decided_by_id) if r.decided_by_id else None,
                decided_at=r.decided_at,
            )
        )
    return sorted(out, key=lambda c: (c.state != "open", -max(c.this_pct, c.other_pct)))


def warnings(session: Session, code: str) -> list[Candidate]:
    """The open candidates, for the uploader's notice "this looks like IRN012"."""
    return [c for c in candidates(session, code) if c.state == "open"]


def decide(
    session: Session,
    code: str,
    other_code: str,
    decision: str,
    *,
    user: User,
    actor: str,
    seen: str | None = None,
) -> Candidate:
    """A reviewer's decision on the pair (code, other_code), in both clips' custody logs.

    ``seen`` is the state the reviewer was looking at (the form sends it); when another
    reviewer changed it since, the answer is 409 ``decided_meanwhile``. Deciding what the
    pair already is changes nothing and logs nothing (so a double submit is harmless). Two
    reviewers at once: the row is changed with a compare-and-set on its state, so exactly
    one wins and the other gets the 409."""
    if user.role not in REVIEWER_ROLES:
        raise Forbidden("only reviewers decide whether two clips show the same footage")
    if decision not in DECISIONS:
        raise InvalidInput(f"decision must be one of {', '.join(DECISIONS)}", field="decision")
    if seen is not None and seen not in STATES:
        raise InvalidInput(f"seen must be one of {', '.join(STATES)}", field="seen")
    clip, other = _clip(session, code), _clip(session, other_code)
    a, b = sorted((clip.id, other.id))
    row = session.scalar(
        select(DuplicateCandidate).where(
            DuplicateCandidate.clip_a_id == a, DuplicateCandidate.clip_b_id == b
        )
    )
    if row is None:
        raise CandidateNotFound(f"{code} and {other_code} are not a duplicate candidate pair")
    previous = row.state
    if previous == decision:
        return _one(session, code, other_code)
    if seen is not None and seen != previous:
        raise _meanwhile(code, other_code, previous)
    now = utcnow()
    changed = session.execute(
        update(DuplicateCandidate)
        .where(DuplicateCandidate.id == row.id, DuplicateCandidate.state == previous)
        .values(state=decision, decided_by_id=user.id, decided_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        session.expire(row)
        raise _meanwhile(code, other_code, row.state)
    session.expire(row)
    for mine, theirs in ((clip.code, other.code), (other.code, clip.code)):
        custody.record(
            session,
            actor=actor,
            action="duplicate_decided",
            clip_code=mine,
            payload={"other": theirs, "decision": decision, "previous": previous},
        )
    public = public_changes.is_visible(clip) and public_changes.is_visible(other)
    if public and (previous in CONFIRMED or decision in CONFIRMED):
        # a confirmed link between two published clips is public output (`related`)
        public_changes.clip_changed(session, clip.id)
        public_changes.clip_changed(session, other.id)
    session.flush()
    return _one(session, code, other_code)


def _meanwhile(code: str, other_code: str, state: str) -> DecidedMeanwhile:
    return DecidedMeanwhile(
        f"another reviewer decided {code} / {other_code} meanwhile (now {state}); "
        "reload and decide again if you disagree",
        field="seen",
    )


def _one(session: Session, code: str, other_code: str) -> Candidate:
    return next(c for c in candidates(session, code) if c.other_code == other_code)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def links(session: Session, code: str) -> Links:
    """The clips confirmed as the same footage or the same event as this one, and which
    copy is the earliest known, by upload time and by the files' probed creation time."""
    clip = _clip(session, code)
    rows = [r for r in _rows(session, clip.id) if r.state in CONFIRMED]
    relation = {(r.clip_b_id if r.clip_a_id == clip.id else r.clip_a_id): r.state for r in rows}
    if not relation:
        return Links([], None, None)
    ids = {clip.id, *relation}
    codes = _live_codes(session, ids)
    media = {m.clip_id: m for m in session.scalars(select(Media).where(Media.clip_id.in_(ids)))}
    copies = []
    for cid in sorted(ids, key=lambda i: codes.get(i, "")):
        if cid not in codes:
            continue
        m = media.get(cid)
        raw = (m.probe or {}).get("creation_time") if m is not None else None
        copies.append(
            Copy(
                code=codes[cid],
                relation=relation.get(cid),
                uploaded_at=_aware(m.created_at) if m is not None else None,
                created_at=_parse_time(raw),
                created_raw=raw if isinstance(raw, str) else None,
            )
        )
    if len(copies) < 2:
        return Links([], None, None)
    uploaded = [c for c in copies if c.uploaded_at is not None]
    created = [c for c in copies if c.created_at is not None]
    return Links(
        copies,
        min(uploaded, key=lambda c: c.uploaded_at or utcnow()).code if uploaded else None,
        min(created, key=lambda c: c.created_at or utcnow()).code if created else None,
    )


# -- the team's JSON shapes ------------------------------------------------------------


def _still_read(code: str, s: Still | None) -> StillRead | None:
    if s is None:
        return None
    url = f"/api/v1/clips/{code}/keyframes/{s.position}/thumbnail"
    return StillRead(position=s.position, timestamp=s.timestamp, thumbnail_url=url)


def candidate_read(code: str, c: Candidate) -> CandidateRead:
    return CandidateRead(
        code=c.other_code,
        state=c.state,  # type: ignore[arg-type]
        query_pct=c.this_pct,
        compared_pct=c.other_pct,
        this_ranges=c.this_ranges,
        other_ranges=c.other_ranges,
        orientation=c.orientation,
        this_still=_still_read(code, c.this_still),
        other_still=_still_read(c.other_code, c.other_still),
        decided_by=c.decided_by,
        decided_at=c.decided_at,
    )


def duplicates_read(session: Session, code: str) -> DuplicatesRead:
    found = links(session, code)
    return DuplicatesRead(
        candidates=[candidate_read(code, c) for c in candidates(session, code)],
        links=LinksRead(
            copies=[
                CopyRead(
                    code=c.code,
                    relation=c.relation,  # type: ignore[arg-type]
                    uploaded_at=c.uploaded_at,
                    created_at=c.created_at,
                )
                for c in found.copies
            ],
            earliest_by_upload=found.earliest_upload,
            earliest_by_creation_time=found.earliest_created,
        ),
    )


def match_ran(session: Session, clip_id: int) -> bool:
    """Whether the match step has finished for the clip's original."""
    return any(j.step == MATCH and j.state == "done" for j in jobs.jobs_for_clip(session, clip_id))


def possible_duplicates(session: Session, code: str) -> list[DuplicateRef] | None:
    """The uploader's warning list: open candidates and confirmed links, best first; None
    while the match step has not run (not known yet, which is not "none")."""
    found = candidates(session, code)
    if not found and not match_ran(session, _clip(session, code).id):
        return None
    return [
        DuplicateRef(
            code=c.other_code,
            state=c.state,  # type: ignore[arg-type]
            query_pct=c.this_pct,
            compared_pct=c.other_pct,
        )
        for c in found
        if c.state != "not_related"
    ]
