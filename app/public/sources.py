"""What the public side reads from other domains (ingest, review, storage), in one place.

Each function takes clip ids that the caller has *already* checked to be visible, and
returns only fields that may be published: the original's SHA-256 and its duration and
picture size (never the probe's GPS, device or encoder tags), keyframe timestamps and
perceptual hashes, checklist items that were confirmed (labels only: never notes, evidence
links or names), the verification time, the public retraction reason, and the confirmed
near-duplicate links to other visible clips (code and relation only: never who decided,
never an open or dismissed candidate, never a link to a clip the public cannot see).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import BindParameter, Executable, bindparam, or_, select
from sqlalchemy.orm import Session

from app.clips.models import Clip
from app.custody.models import CustodyEvent
from app.db import fetch_rows
from app.duplicates.models import DuplicateCandidate
from app.ingest.models import Keyframe, Media
from app.jobs.models import ProcessingJob
from app.public.jobs import PLAYBACK
from app.review.models import ChecklistEntry, ChecklistTemplateItem, Correction
from app.storage import derivatives
from app.video.blur import Region

IMAGE_NAMES = {"poster": derivatives.POSTER}


@dataclass(frozen=True)
class MediaInfo:
    sha256: str
    duration: float | None
    width: int | None
    height: int | None
    generation: str | None
    blur: bool = False  # the public sees the face-blurred derivatives (app/public/faceblur.py)
    # the playback job (app/public/tasks.py) finished for this original: its copy (and, for
    # a blurred clip, the blurred images) were made; None: not read from the database
    playback_done: bool | None = None


@dataclass(frozen=True)
class KeyframeInfo:
    position: int
    timestamp: float
    phash: str


@dataclass
class Verification:
    verified_at: datetime | None
    confirmed: list[tuple[str, str, str]] = field(default_factory=list)  # key, label en, fa


@dataclass(frozen=True)
class CorrectionInfo:
    """An applied correction as the public sees it: when, which fields, and why (never who)."""

    corrected_at: datetime
    fields: list[str]
    reason: str


PUBLIC_FIELDS = (
    ("place", ("city", "province")),
    ("date", ("date",)),
    ("title_en", ("title_en",)),
    ("title_fa", ("title_fa",)),
    ("description_en", ("description_en",)),
    ("description_fa", ("description_fa",)),
    ("graphic_violence", ("graphic_violence",)),
    ("identifiable_people", ("identifiable_people",)),
    ("tags", ("tags",)),
    ("footage", ("footage",)),
)


def corrections(session: Session, clip_ids: list[int]) -> dict[int, list[CorrectionInfo]]:
    """Applied corrections of each clip, oldest first (public reason only)."""
    if not clip_ids:
        return {}
    rows = session.execute(
        select(
            Correction.clip_id, Correction.decided_at, Correction.changes, Correction.public_reason
        )
        .where(Correction.clip_id.in_(clip_ids), Correction.state == "applied")
        .order_by(Correction.clip_id, Correction.id)
    ).all()
    out: dict[int, list[CorrectionInfo]] = {}
    for clip_id, at, changes, reason in rows:
        names = [name for name, columns in PUBLIC_FIELDS if any(c in changes for c in columns)]
        out.setdefault(clip_id, []).append(CorrectionInfo(at, names, reason))
    return out


@dataclass(frozen=True)
class RetractionInfo:
    reason: str | None
    retracted_at: datetime | None


@dataclass(frozen=True)
class _Statements:
    media: Executable
    keyframes: Executable
    verification: Executable
    verified_times: Executable


@lru_cache(maxsize=1)
def _statements() -> _Statements:
    """Built once, with the clip ids as an expanding parameter: building a statement costs
    more than running these small look-ups."""
    ids: BindParameter[Any] = bindparam("ids", expanding=True)
    return _Statements(
        # footage held by a correction (Media.correction_id) is not the public's yet
        media=select(
            Media.clip_id,
            Media.sha256,
            Media.probe,
            Media.derivative_generation,
            Clip.identifiable_people,
            select(ProcessingJob.state)
            .where(
                ProcessingJob.clip_id == Media.clip_id,
                ProcessingJob.step == PLAYBACK,
                ProcessingJob.original_sha256 == Media.sha256,
            )
            .limit(1)
            .scalar_subquery(),
        )
        .join(Clip, Clip.id == Media.clip_id)
        .where(Media.clip_id.in_(ids), Media.correction_id.is_(None)),
        keyframes=select(Media.clip_id, Keyframe.position, Keyframe.timestamp, Keyframe.phash)
        .join(Keyframe, Keyframe.media_id == Media.id)
        .where(
            Media.clip_id.in_(ids),
            Media.correction_id.is_(None),
            Keyframe.generation == Media.derivative_generation,
        )
        .order_by(Media.clip_id, Keyframe.position),
        verification=select(
            ChecklistEntry.clip_id,
            ChecklistTemplateItem.key,
            ChecklistTemplateItem.label_en,
            ChecklistTemplateItem.label_fa,
        )
        .join(ChecklistTemplateItem, ChecklistTemplateItem.id == ChecklistEntry.item_id)
        .where(ChecklistEntry.clip_id.in_(ids), ChecklistEntry.done.is_(True))
        .order_by(ChecklistEntry.clip_id, ChecklistTemplateItem.position),
        verified_times=select(Clip.id, CustodyEvent.occurred_at, CustodyEvent.payload)
        .join(CustodyEvent, CustodyEvent.clip_code == Clip.code)
        .where(Clip.id.in_(ids), CustodyEvent.action.in_(VERIFY_ACTIONS))
        .order_by(CustodyEvent.id),
    )


def _num(value: Any, kind: type) -> Any:
    try:
        return kind(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def media(session: Session, clip_ids: list[int]) -> dict[int, MediaInfo]:
    if not clip_ids:
        return {}
    rows = fetch_rows(session, _statements().media, {"ids": clip_ids})
    out: dict[int, MediaInfo] = {}
    from app.public.faceblur import applies

    for clip_id, sha, probe, generation, people, playback_state in rows:
        probe = probe or {}
        out[clip_id] = MediaInfo(
            sha256=sha,
            duration=_num(probe.get("duration"), float),
            width=_num(probe.get("width"), int),
            height=_num(probe.get("height"), int),
            generation=generation,
            blur=applies(bool(people)),
            playback_done=playback_state == "done",
        )
    return out


def keyframes(session: Session, clip_ids: list[int]) -> dict[int, list[KeyframeInfo]]:
    """Keyframes of the current derivative generation of each clip's original."""
    if not clip_ids:
        return {}
    rows = fetch_rows(session, _statements().keyframes, {"ids": clip_ids})
    out: dict[int, list[KeyframeInfo]] = {}
    for clip_id, position, timestamp, phash in rows:
        out.setdefault(clip_id, []).append(KeyframeInfo(position, timestamp, phash))
    return out


def verification(session: Session, clip_ids: list[int]) -> dict[int, Verification]:
    """Confirmed checklist items (labels only) and when the clip was verified."""
    if not clip_ids:
        return {}
    rows = fetch_rows(session, _statements().verification, {"ids": clip_ids})
    out: dict[int, Verification] = {}
    for clip_id, key, label_en, label_fa in rows:
        out.setdefault(clip_id, Verification(None)).confirmed.append((key, label_en, label_fa))
    for clip_id, at in verified_times(session, list(out)).items():
        out[clip_id].verified_at = at
    return out


def verified_times(session: Session, clip_ids: list[int]) -> dict[int, datetime]:
    """When each clip last entered "verified", from the custody log."""
    if not clip_ids:
        return {}
    rows = fetch_rows(session, _statements().verified_times, {"ids": clip_ids})
    out: dict[int, datetime] = {}
    for clip_id, at, payload in rows:
        if isinstance(payload, dict) and payload.get("to") == "verified":
            out[clip_id] = at
    return out


CONFIRMED_LINKS = ("same_footage", "same_event")


def related(session: Session, clip_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Confirmed links of visible clips to other visible clips: (code, relation), by code.

    Two small queries, the links first: a join that starts from the clips would let the
    planner (SQLite's, with no statistics) walk every published clip by its status index
    for each page (150 ms a page at 100,000 clips)."""
    if not clip_ids:
        return {}
    pair = DuplicateCandidate
    links = session.execute(
        select(pair.clip_a_id, pair.clip_b_id, pair.state).where(
            or_(pair.clip_a_id.in_(clip_ids), pair.clip_b_id.in_(clip_ids)),
            pair.state.in_(CONFIRMED_LINKS),
        )
    ).all()
    if not links:
        return {}
    others = {x for a, b, _ in links for x in (a, b)}
    codes = dict(
        session.execute(
            select(Clip.id, Clip.code).where(
                Clip.id.in_(others), Clip.status == "published", Clip.deleted_at.is_(None)
            )
        ).all()
    )
    wanted = set(clip_ids)
    out: dict[int, list[tuple[str, str]]] = {}
    for a, b, state in links:
        for mine, theirs in ((a, b), (b, a)):
            if mine in wanted and theirs in codes:
                out.setdefault(mine, []).append((codes[theirs], state))
    return {k: sorted(v) for k, v in out.items()}


VERIFY_ACTIONS = ("review.transition",)  # payload {"from", "to", ...}; see app/review


def retraction(session: Session, clip_id: int) -> RetractionInfo | None:
    """The public reason and time, through the review service (public-safe by contract)."""
    from app.review.service import retraction_notice

    row = retraction_notice(session, clip_id)
    if row is None:
        return None
    return RetractionInfo(reason=row.public_reason, retracted_at=row.retracted_at)


def playback_path(info: MediaInfo) -> Path:
    """Where the public playback copy of this original lives (whether or not it exists).

    Kept outside the derivatives tree (whose generation directories are swept) under
    MEDIA_ROOT/public/<aa>/<bb>/<sha256>/playback.mp4, or its face-blurred sibling
    playback.blurred.mp4 when the public sees this clip blurred."""
    from app.storage.store import get_store

    root = Path(get_store().root)
    if info.blur:
        return derivatives.blurred_playback_path(root, info.sha256)
    return derivatives.playback_path(root, info.sha256)


def playback_object(info: MediaInfo) -> str | None:
    """The storage key of the public playback copy, if it exists (on either backend): the
    face-blurred one for a clip the public sees blurred."""
    from app.storage.backend import playback_key, public_key

    if info.blur:
        key = public_key(info.sha256, derivatives.BLURRED_PLAYBACK)
    else:
        key = playback_key(info.sha256)
    return key if _stored(key, info.playback_done) else None


def image_object(info: MediaInfo, name: str | int) -> str | None:
    """The storage key of a derivative image ("poster", "thumb", or a keyframe position)
    if it exists (on either backend); for a clip the public sees face-blurred, only the
    blurred copy, never the team's frames."""
    if info.generation is None:
        return None
    from app.storage.backend import derivative_key, public_key

    filename = derivatives.keyframe(name) if isinstance(name, int) else IMAGE_NAMES[name]
    if info.blur:
        key = public_key(info.sha256, derivatives.BLURRED_DIR, info.generation, filename)
    else:
        key = derivative_key(info.sha256, info.generation, filename)
    # a generation is recorded once its keyframes and poster are stored (app/ingest/tasks.py)
    made = info.playback_done if info.blur else True
    return key if _stored(key, made) else None


def _stored(key: str, recorded: bool | None) -> bool:
    """Whether the object is in the store. On local disk a stat is cheap, so it is asked.
    On S3 that is a HEAD, and a listing of N clips would cost 2N of them: there the database
    decides (``recorded``: the job that makes the object finished), unless a request found
    the object missing lately (app/storage/missing.py); the media routes still ask the store
    (app/web/stored.py), so a file that is not there is a 404 in any case."""
    from app.storage import missing
    from app.storage.configured import get_backend

    backend = get_backend()
    if backend.name == "local":
        return backend.stat(key) is not None
    if recorded is not None:
        return recorded and not missing.recently(key)
    if backend.stat(key) is None:
        missing.note(key)
        return False
    return True


def blur_regions(session: Session, clip_id: int) -> list[Region]:
    """The manual blur regions a reviewer drew on the clip (app/review/blur_regions.py)."""
    from app.review.blur_regions import regions_of

    return [
        Region(r.x, r.y, r.w, r.h, r.start_seconds, r.end_seconds)
        for r in regions_of(session, clip_id)
    ]
