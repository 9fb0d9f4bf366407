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

from sqlalchemy import BindParameter, Executable, and_, bindparam, select
from sqlalchemy.orm import Session

from app.clips.models import Clip
from app.custody.models import CustodyEvent
from app.db import fetch_rows
from app.duplicates.models import DuplicateCandidate
from app.ingest.models import Keyframe, Media
from app.review.models import ChecklistEntry, ChecklistTemplateItem, Correction
from app.storage import derivatives

IMAGE_NAMES = {"poster": derivatives.POSTER}


@dataclass(frozen=True)
class MediaInfo:
    sha256: str
    duration: float | None
    width: int | None
    height: int | None
    generation: str | None


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
        media=select(Media.clip_id, Media.sha256, Media.probe, Media.derivative_generation).where(
            Media.clip_id.in_(ids), Media.correction_id.is_(None)
        ),
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
    for clip_id, sha, probe, generation in rows:
        probe = probe or {}
        out[clip_id] = MediaInfo(
            sha256=sha,
            duration=_num(probe.get("duration"), float),
            width=_num(probe.get("width"), int),
            height=_num(probe.get("height"), int),
            generation=generation,
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
    """Confirmed links of visible clips to other visible clips: (code, relation), by code."""
    if not clip_ids:
        return {}
    visible = and_(Clip.status == "published", Clip.deleted_at.is_(None))
    out: dict[int, list[tuple[str, str]]] = {}
    pair = DuplicateCandidate
    for mine, theirs in ((pair.clip_a_id, pair.clip_b_id), (pair.clip_b_id, pair.clip_a_id)):
        rows = session.execute(
            select(mine, Clip.code, pair.state)
            .join(Clip, Clip.id == theirs)
            .where(mine.in_(clip_ids), pair.state.in_(CONFIRMED_LINKS), visible)
        )
        for clip_id, code, state in rows:
            out.setdefault(clip_id, []).append((code, state))
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
    MEDIA_ROOT/public/<aa>/<bb>/<sha256>/playback.mp4."""
    from app.storage.store import get_store

    return derivatives.playback_path(Path(get_store().root), info.sha256)


def playback_object(info: MediaInfo) -> str | None:
    """The storage key of the public playback copy, if it exists (on either backend)."""
    from app.storage.backend import playback_key
    from app.storage.configured import get_backend

    key = playback_key(info.sha256)
    return key if get_backend().stat(key) is not None else None


def image_object(info: MediaInfo, name: str | int) -> str | None:
    """The storage key of a derivative image ("poster", "thumb", or a keyframe position)
    if it exists (on either backend)."""
    if info.generation is None:
        return None
    from app.storage.backend import derivative_key
    from app.storage.configured import get_backend

    filename = derivatives.keyframe(name) if isinstance(name, int) else IMAGE_NAMES[name]
    key = derivative_key(info.sha256, info.generation, filename)
    return key if get_backend().stat(key) is not None else None
