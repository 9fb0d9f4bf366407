"""Corrections: the only way a verified or published clip's record changes.

Any team member proposes one (the fields with their old and new values, an internal reason
and a public reason). It is reviewed like a clip: ``ARCHIVE_REQUIRED_APPROVALS`` distinct
reviewers approve it, none of them its author, after the checklist items it touches are
confirmed again for it (place -> location, date -> date and time, flags -> sensitive
content). The last approval applies it, in the same transaction. A rejection leaves the
clip untouched. One open correction per clip at a time; each write checks the
correction's ``version``. Every step goes to the custody log with before and after values.

Concurrency: every write locks the clip row first, so two proposals (or two final
approvals) for one clip are serialised; the partial unique index on open corrections
backs the "one open per clip" rule in the database itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.accounts.models import ROLE_RANK, User
from app.clips import service as clips
from app.clips.models import Clip
from app.config import get_settings
from app.custody import service as custody
from app.errors import Conflict, InvalidInput, NotFound
from app.ingest.models import Media
from app.kit.clock import utcnow
from app.public import changes as public_changes
from app.public.jobs import queue_playback
from app.review import checklist, repository
from app.review.exceptions import AlreadyApproved, NotAllowed, NoteRequired
from app.review.models import (
    ChecklistEntry,
    ChecklistTemplateItem,
    Correction,
    CorrectionApproval,
)
from app.review.schemas import CorrectionRead, FieldChangeRead
from app.review.service import check_row_version

CORRECTABLE = (
    "city",
    "province",
    "date",
    "title_en",
    "title_fa",
    "description_en",
    "description_fa",
    "graphic_violence",
    "identifiable_people",
    "tags",
)
PUBLIC_ORDER = (*CORRECTABLE, "footage")
RECHECK = {
    "city": ("location_confirmed",),
    "province": ("location_confirmed",),
    "date": ("date_confirmed",),
    "graphic_violence": ("sensitive_flagged",),
    "identifiable_people": ("sensitive_flagged",),
    "footage": ("content_described", "sensitive_flagged"),
}
"""Which checklist items a changed field makes the reviewers confirm again (``footage``:
an original that came with the correction, app/review/footage.py)."""
PUBLIC_FIELD = {"city": "place", "province": "place"}
"""How a changed field is named on the public notice (a place is one field there)."""
MAX_REASON = 5000
MAX_PUBLIC_REASON = 1000


class CorrectionNotFound(NotFound):
    code = "correction_not_found"


class CorrectionOpen(Conflict):
    code = "correction_open"


class CorrectionClosed(Conflict):
    code = "correction_closed"


class CorrectionIncomplete(Conflict):
    code = "correction_incomplete"


class NotFrozen(Conflict):
    code = "not_frozen"


class ClipRetracted(Conflict):
    code = "clip_retracted"


def _reviewer(user: User, what: str) -> None:
    if ROLE_RANK[user.role] < ROLE_RANK["reviewer"]:
        raise NotAllowed(f"{what} needs a reviewer or an admin")


def text(value: str, field: str, limit: int, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise NoteRequired(f"a correction needs {what}", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return value


def must_confirm(session: Session, changes: dict[str, Any]) -> list[str]:
    """The active checklist items the changed fields touch, in template order."""
    keys = {key for f in changes for key in RECHECK.get(f, ())}
    return [item.key for item in checklist.template(session) if item.key in keys]


def missing_confirmations(session: Session, correction: Correction) -> list[str]:
    return [k for k in must_confirm(session, correction.changes) if k not in correction.confirmed]


def frozen_clip(session: Session, code: str) -> Clip:
    clip = clips.live_clip(session, code, lock=True)
    check_correctable(clip)
    return clip


def check_correctable(clip: Clip) -> None:
    """409 unless the clip is verified or published (a retraction takes no corrections)."""
    code = clip.code
    if clip.status == "retracted":
        raise ClipRetracted(
            f"clip {code} is retracted; a retraction is final and takes no corrections"
        )
    if clip.status not in clips.FROZEN:
        raise NotFrozen(
            f"clip {code} is {clip.status}, not yet verified: edit it directly "
            f"(PATCH /api/v1/clips/{code}) instead of proposing a correction"
        )


def open_correction(session: Session, clip_id: int) -> Correction | None:
    return session.scalar(
        select(Correction)
        .where(Correction.clip_id == clip_id, Correction.state == "open")
        .execution_options(populate_existing=True)
    )


def check_none_open(session: Session, clip: Clip) -> None:
    existing = open_correction(session, clip.id)
    if existing is not None:
        raise CorrectionOpen(
            f"clip {clip.code} already has an open correction (#{existing.id}); approve or "
            "reject it before proposing another",
            extra={"correction": existing.id},
        )


def propose(
    session: Session,
    code: str,
    *,
    changes: dict[str, Any],
    reason: str,
    public_reason: str,
    user: User,
    actor: str,
) -> Correction:
    clip = frozen_clip(session, code)
    reason = text(reason, "reason", MAX_REASON, "a reason (for the team)")
    public_reason = text(
        public_reason, "public_reason", MAX_PUBLIC_REASON, "a public reason (for the notice)"
    )
    requested = {k: v for k, v in changes.items() if k in CORRECTABLE}
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise InvalidInput(
            f"a correction cannot change {', '.join(unknown)}; it may change "
            + ", ".join(CORRECTABLE),
            field=unknown[0],
        )
    check_none_open(session, clip)
    diff = clips.preview(session, clip, requested)
    if not diff:
        raise InvalidInput(f"the correction would change nothing on clip {code}", field="changes")
    keep = set(diff) | ({"city", "province"} if {"city", "province"} & set(diff) else set())
    requested = {k: v for k, v in requested.items() if k in keep}
    correction = Correction(
        clip_id=clip.id,
        author_id=user.id,
        state="open",
        changes=diff,
        requested=requested,
        reason=reason,
        public_reason=public_reason,
        confirmed={},
    )
    insert(session, correction, code)
    record_proposed(session, correction, code, actor)
    return correction


def insert(session: Session, correction: Correction, code: str) -> None:
    """Add ``correction``; a clip holds one open correction (a unique index), so a
    concurrent proposal loses here with 409."""
    try:
        with session.begin_nested():
            session.add(correction)
    except IntegrityError:
        raise CorrectionOpen(f"clip {code} received another correction just now; reload") from None


def record_proposed(session: Session, correction: Correction, code: str, actor: str) -> None:
    custody.record(
        session,
        actor=actor,
        action="review.correction_proposed",
        clip_code=code,
        payload={
            "correction": correction.id,
            "changes": correction.changes,
            "reason": correction.reason,
            "public_reason": correction.public_reason,
        },
    )


def get(session: Session, code: str, correction_id: int, *, lock: bool = False) -> Correction:
    clip = clips.live_clip(session, code, lock=lock)
    correction = session.scalar(
        select(Correction)
        .where(Correction.id == correction_id, Correction.clip_id == clip.id)
        .execution_options(populate_existing=True)
    )
    if correction is None:
        raise CorrectionNotFound(f"clip {code} has no correction #{correction_id}")
    return correction


def list_for(session: Session, code: str) -> list[Correction]:
    clip = clips.live_clip(session, code)
    return list(
        session.scalars(
            select(Correction).where(Correction.clip_id == clip.id).order_by(Correction.id)
        )
    )


def _open_for_write(
    session: Session, code: str, correction_id: int, version: int | None
) -> Correction:
    correction = get(session, code, correction_id, lock=True)
    if correction.state != "open":
        raise CorrectionClosed(
            f"correction #{correction.id} of clip {code} is already {correction.state}",
            extra={"state": correction.state},
        )
    check_row_version(correction.version, version, f"correction #{correction.id}")
    return correction


def approval_emails(session: Session, correction_id: int) -> list[str]:
    rows = session.execute(
        select(User.email)
        .join(CorrectionApproval, CorrectionApproval.reviewer_id == User.id)
        .where(CorrectionApproval.correction_id == correction_id)
        .order_by(CorrectionApproval.id)
    )
    return [r[0] for r in rows]


def confirm(
    session: Session,
    code: str,
    correction_id: int,
    key: str,
    *,
    note: str,
    version: int | None,
    user: User,
    actor: str,
) -> Correction:
    """A reviewer confirms a checklist item again for this correction's new values."""
    _reviewer(user, "confirming a checklist item")
    correction = _open_for_write(session, code, correction_id, version)
    needed = must_confirm(session, correction.changes)
    if key not in needed:
        raise InvalidInput(
            f"correction #{correction.id} does not touch checklist item {key!r}"
            + (f"; it needs: {', '.join(needed)}" if needed else "; it needs none"),
            field="key",
        )
    note = (note or "").strip()[:MAX_REASON]
    before = correction.confirmed.get(key)
    after = {"by": user.email, "at": utcnow().isoformat(), "note": note}
    correction.confirmed = {**correction.confirmed, key: after}
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="review.correction_confirmed",
        clip_code=code,
        payload={"correction": correction.id, "item": key, "before": before, "after": after},
    )
    return correction


def approve(
    session: Session,
    code: str,
    correction_id: int,
    *,
    note: str,
    version: int | None,
    user: User,
    actor: str,
) -> tuple[Correction, bool]:
    """Record a reviewer's approval; the last one needed applies the correction.
    Returns (correction, applied_now)."""
    _reviewer(user, "approving a correction")
    correction = _open_for_write(session, code, correction_id, version)
    if correction.author_id == user.id:
        raise NotAllowed(
            f"you proposed correction #{correction.id}, so you cannot approve it: nobody "
            "approves their own correction"
        )
    footage = repository.held_footage(session, correction.id)
    if footage is not None and footage.uploaded_by_id == user.id:
        raise NotAllowed(
            f"you uploaded the footage of correction #{correction.id}, so you cannot approve "
            "it: nobody approves footage they uploaded"
        )
    approvals = approval_emails(session, correction.id)
    if user.email in approvals:
        raise AlreadyApproved(
            f"you have already approved correction #{correction.id}; approvals must come "
            "from distinct reviewers"
        )
    missing = missing_confirmations(session, correction)
    if missing:
        raise CorrectionIncomplete(
            f"correction #{correction.id} changes fields that need checklist items "
            f"confirmed again first (missing: {', '.join(missing)})",
            extra={"missing_items": missing},
        )
    note = (note or "").strip()[:MAX_REASON]
    session.add(CorrectionApproval(correction_id=correction.id, reviewer_id=user.id, note=note))
    flag_modified(correction, "confirmed")  # a new version: a stale form must reload
    session.flush()
    approvals.append(user.email)
    required = get_settings().required_approvals
    custody.record(
        session,
        actor=actor,
        action="review.correction_approved",
        clip_code=code,
        payload={
            "correction": correction.id,
            "note": note,
            "approvals": approvals,
            "required": required,
        },
    )
    if len(approvals) < required:
        return correction, False
    _apply(session, code, correction, approvals=approvals, actor=actor)
    return correction, True


def _apply(
    session: Session, code: str, correction: Correction, *, approvals: list[str], actor: str
) -> None:
    clip = frozen_clip(session, code)
    current = clips.snapshot(session, clip)
    drifted = [
        f for f, v in correction.changes.items() if f != "footage" and current.get(f) != v["before"]
    ]
    if drifted:
        raise Conflict(
            f"clip {code} changed since correction #{correction.id} was proposed "
            f"({', '.join(drifted)}); reject it and propose a new one",
            code="correction_stale",
        )
    payload = {
        "correction": correction.id,
        "approvals": approvals,
        "public_reason": correction.public_reason,
    }
    footage = repository.held_footage(session, correction.id)
    diff = (
        clips.change_fields(
            session,
            clip,
            dict(correction.requested),
            actor=actor,
            action="review.correction_applied",
            payload=payload,
        )
        if correction.requested
        else {}
    )
    if footage is not None:
        _attach(session, clip, footage, correction, payload, diff, actor)
    if "date" in diff:  # the locked checklist shows the confirmed date: the new one now
        _recheck_date(session, clip, correction, actor)
    correction.state = "applied"
    correction.decided_at = utcnow()
    correction.changes = (
        {**diff, **({"footage": correction.changes["footage"]} if footage else {})}
        if diff
        else correction.changes
    )
    session.flush()


def _attach(
    session: Session,
    clip: Clip,
    footage: Media,
    correction: Correction,
    payload: dict[str, Any],
    diff: dict[str, Any],
    actor: str,
) -> None:
    """The held original becomes the clip's: public (playback copy queued) if published."""
    footage.correction_id = None
    session.flush()
    change = correction.changes["footage"]
    if not diff:  # footage only: the applied event carries the footage change itself
        custody.record(
            session,
            actor=actor,
            action="review.correction_applied",
            clip_code=clip.code,
            payload={**payload, "changes": {"footage": change}},
        )
    custody.record(
        session,
        actor=actor,
        action="media.attached",
        clip_code=clip.code,
        payload={"sha256": footage.sha256, "correction": correction.id},
    )
    if public_changes.clip_changed(session, clip.id):
        queue_playback(session, clip.id)


def _recheck_date(session: Session, clip: Clip, correction: Correction, actor: str) -> None:
    entry = session.scalar(
        select(ChecklistEntry)
        .join(ChecklistTemplateItem, ChecklistTemplateItem.id == ChecklistEntry.item_id)
        .where(ChecklistEntry.clip_id == clip.id, ChecklistTemplateItem.kind == "date")
    )
    if entry is None:
        return
    confirmed = correction.confirmed.get("date_confirmed") or {}
    before = {"data": dict(entry.data), "note": entry.note}
    entry.data = {"date": clip.date_edtf}
    entry.note = (confirmed.get("note") or entry.note)[:MAX_REASON]
    entry.updated_at = utcnow()
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="review.checklist",
        clip_code=clip.code,
        payload={
            "item": "date_confirmed",
            "before": before,
            "after": {"data": dict(entry.data), "note": entry.note},
            "correction": correction.id,
        },
    )


def reject(
    session: Session,
    code: str,
    correction_id: int,
    *,
    note: str,
    version: int | None,
    user: User,
    actor: str,
) -> Correction:
    """Close the correction without touching the clip (a reviewer, with a reason)."""
    _reviewer(user, "rejecting a correction")
    correction = _open_for_write(session, code, correction_id, version)
    note = text(note, "note", MAX_REASON, "a reason for the rejection")
    correction.state = "rejected"
    correction.decision_note = note
    correction.decided_at = utcnow()
    session.flush()
    footage = repository.held_footage(session, correction.id)
    custody.record(
        session,
        actor=actor,
        action="review.correction_rejected",
        clip_code=code,
        payload={
            "correction": correction.id,
            "note": note,
            "changes": correction.changes,
            # the original stays in the write-once store, held back from the public
            **({"footage_kept_unpublished": footage.sha256} if footage else {}),
        },
    )
    return correction


def public_fields(changes: dict[str, Any]) -> list[str]:
    """The changed fields as the public notice names them (place for city or province)."""
    out: list[str] = []
    for name in PUBLIC_ORDER:
        if name in changes:
            shown = PUBLIC_FIELD.get(name, name)
            if shown not in out:
                out.append(shown)
    return out


def read(session: Session, code: str, correction: Correction) -> CorrectionRead:
    author = session.get(User, correction.author_id) if correction.author_id else None
    needed = must_confirm(session, correction.changes)
    return CorrectionRead(
        id=correction.id,
        clip=code,
        state=correction.state,
        changes=[
            FieldChangeRead(field=f, before=v["before"], after=v["after"])
            for f, v in correction.changes.items()
        ],
        reason=correction.reason,
        public_reason=correction.public_reason,
        author=author.email if author else None,
        approvals=approval_emails(session, correction.id),
        required_approvals=get_settings().required_approvals,
        must_confirm=needed,
        confirmed=[k for k in needed if k in correction.confirmed],
        missing_items=[k for k in needed if k not in correction.confirmed],
        decision_note=correction.decision_note,
        created_at=correction.created_at,
        decided_at=correction.decided_at,
        version=correction.version,
    )
