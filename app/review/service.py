"""The review workflow: transitions, approvals, claiming. Services flush; the boundary commits.

Every write locks the clip row first (``clips.live_clip(..., lock=True)``), so two reviewers
acting on the same clip at once are serialised and the second one sees the first one's
result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.clips import service as clips
from app.clips.models import Clip
from app.config import get_settings
from app.custody import service as custody
from app.errors import StaleVersion
from app.kit.clock import utcnow
from app.public.jobs import queue_playback
from app.review import checklist, repository, transitions
from app.review.exceptions import (
    AlreadyApproved,
    AlreadyAssigned,
    IllegalTransition,
    NotAllowed,
    NoteRequired,
    VerificationIncomplete,
)
from app.review.models import Approval, ClipAssignment, Retraction
from app.review.schemas import AllowedMoveRead, AssignmentRead
from app.review.transitions import Move

MAX_NOTE = 5000


@dataclass
class Readiness:
    """Whether a clip in review can be verified, and what is missing."""

    approvals: list[str] = field(default_factory=list)
    required: int = 2
    missing_items: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return len(self.approvals) >= self.required and not self.missing_items

    def explain(self) -> str:
        parts = []
        if len(self.approvals) < self.required:
            parts.append(
                f"it has {len(self.approvals)} of the {self.required} approvals needed "
                "from distinct reviewers"
            )
        if self.missing_items:
            parts.append(
                "the checklist is not complete (missing: " + ", ".join(self.missing_items) + ")"
            )
        return "; ".join(parts)


def readiness(session: Session, clip: Clip) -> Readiness:
    return Readiness(
        approvals=[email for _, email in repository.active_approvals(session, clip.id)],
        required=get_settings().required_approvals,
        missing_items=checklist.missing_keys(session, clip.id),
    )


def _condition(session: Session, clip: Clip, move: Move) -> str | None:
    """Conditions beyond roles that need the database."""
    if move.target == "verified":
        ready = readiness(session, clip)
        if not ready.ready:
            return "cannot verify yet: " + ready.explain()
    return None


def allowed_moves(session: Session, clip: Clip, user: User) -> list[AllowedMoveRead]:
    """Every move out of the clip's state, and whether this user may make it now."""
    out = []
    for move in transitions.moves_from(clip.status):
        reason = transitions.refusal(
            move, user, clip.created_by_id, repository.media_uploader_id(session, clip.id)
        ) or _condition(session, clip, move)
        out.append(
            AllowedMoveRead(
                to=move.target,
                name=move.name,
                note_required=move.note_required,
                allowed=reason is None,
                reason=reason,
            )
        )
    return out


def transition(
    session: Session, code: str, *, to: str, note: str, version: int | None, user: User, actor: str
) -> Clip:
    clip = clips.live_clip(session, code, lock=True)
    move = transitions.find(clip.status, to)
    if move is None:  # (before the version check: "illegal" says more than "stale")
        allowed = [m.to for m in allowed_moves(session, clip, user) if m.allowed]
        raise IllegalTransition(
            f"clip {code} is {clip.status}; it cannot move to {to}. "
            + (
                f"Allowed now: {', '.join(allowed)}."
                if allowed
                else "You cannot move it anywhere from here."
            ),
            field="to",
            extra={"current": clip.status, "allowed": allowed},
        )
    if version is not None:
        clips.check_version(clip, version)
    _apply(session, clip, move, note=note, user=user, actor=actor)
    return clip


def _apply(
    session: Session,
    clip: Clip,
    move: Move,
    *,
    note: str,
    user: User,
    actor: str,
    via: str = "transition",
) -> None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise NoteRequired(f"the note is longer than {MAX_NOTE} characters", field="note")
    refused = transitions.refusal(
        move, user, clip.created_by_id, repository.media_uploader_id(session, clip.id)
    )
    if refused:
        raise NotAllowed(f"you cannot {move.name.replace('_', ' ')} clip {clip.code}: {refused}")
    if move.note_required and not note:
        what = {
            "rejected": "a reason for the rejection",
            "retracted": "a public reason for the retraction",
        }.get(move.target, "a note")
        raise NoteRequired(f"moving clip {clip.code} to {move.target} needs {what}", field="note")
    condition = _condition(session, clip, move)
    if condition:
        raise VerificationIncomplete(
            f"clip {clip.code}: {condition}", extra=_readiness_extra(session, clip)
        )
    source = clip.status
    approvals = [e for _, e in repository.active_approvals(session, clip.id)]
    clip.status = move.target
    now = utcnow()
    if move.target == "published":
        clip.published_at = now
    if move.target == "retracted":
        session.add(Retraction(clip_id=clip.id, public_reason=note, retracted_at=now))
    session.flush()
    withdrawn = []
    if move.target != "verified" and source in ("in_review", "verified"):
        withdrawn = approvals
        session.execute(
            update(Approval)
            .where(Approval.clip_id == clip.id, Approval.withdrawn_at.is_(None))
            .values(withdrawn_at=now)
        )
    payload: dict[str, object] = {
        "from": source,
        "to": move.target,
        "move": move.name,
        "note": note,
        "via": via,
    }
    if move.target == "verified":
        payload["approvals"] = approvals
    if withdrawn:
        payload["approvals_withdrawn"] = withdrawn
    custody.record(
        session, actor=actor, action="review.transition", clip_code=clip.code, payload=payload
    )
    if move.target in ("published", "retracted"):
        # make (or delete) the public playback copy; sent after the commit
        queue_playback(session, clip.id)


def _readiness_extra(session: Session, clip: Clip) -> dict[str, object]:
    r = readiness(session, clip)
    return {
        "approvals": r.approvals,
        "required_approvals": r.required,
        "missing_items": r.missing_items,
    }


def approve(
    session: Session, code: str, *, note: str, version: int | None, user: User, actor: str
) -> tuple[Clip, bool]:
    """Record this reviewer's approval. When it is the last one needed and the checklist is
    complete, the clip is verified at once. Returns (clip, verified_now)."""
    clip = clips.live_clip(session, code, lock=True)
    if version is not None:
        clips.check_version(clip, version)
    if clip.created_by_id == user.id:
        raise NotAllowed(
            f"you uploaded the record of clip {code}, so you cannot approve it: nobody may "
            "verify a clip whose record or footage they created"
        )
    if repository.media_uploader_id(session, clip.id) == user.id:
        raise NotAllowed(
            f"you uploaded the footage of clip {code}, so you cannot approve it: nobody may "
            "verify a clip whose record or footage they created"
        )
    if transitions.ROLE_RANK[user.role] < transitions.ROLE_RANK["reviewer"]:
        raise NotAllowed("approving a clip needs a reviewer or an admin")
    if clip.status != "in_review":
        raise IllegalTransition(
            f"clip {code} is {clip.status}; only clips in review can be approved",
            extra={"current": clip.status},
        )
    if any(a.reviewer_id == user.id for a, _ in repository.active_approvals(session, clip.id)):
        raise AlreadyApproved(
            f"you have already approved clip {code}; approvals must come from distinct reviewers"
        )
    note = (note or "").strip()[:MAX_NOTE]
    session.add(Approval(clip_id=clip.id, reviewer_id=user.id, note=note))
    session.flush()
    ready = readiness(session, clip)
    custody.record(
        session,
        actor=actor,
        action="review.approved",
        clip_code=code,
        payload={"note": note, "approvals": ready.approvals, "required": ready.required},
    )
    if ready.ready:
        move = transitions.find("in_review", "verified")
        assert move is not None
        _apply(
            session,
            clip,
            move,
            user=user,
            actor=actor,
            via="approval",
            note=f"approved by {', '.join(ready.approvals)}",
        )
        return clip, True
    return clip, False


# --- claiming --------------------------------------------------------------------------------


def claim(
    session: Session,
    code: str,
    *,
    user: User,
    actor: str,
    assignee: User | None = None,
    version: int | None = None,
) -> ClipAssignment:
    """Assign a clip to `assignee` (default: the caller). Others need an admin to reassign."""
    clip = clips.live_clip(session, code, lock=True)
    target = assignee or user
    if target.id != user.id and user.role != "admin":
        raise NotAllowed("only an admin may assign a clip to someone else")
    if transitions.ROLE_RANK[target.role] < transitions.ROLE_RANK["reviewer"]:
        raise NotAllowed(f"{target.email} is not a reviewer, so cannot be assigned a clip")
    row = repository.assignment(session, clip.id)
    if row is not None:
        check_row_version(row.version, version, f"the assignment of clip {code}")
    before = _assignee_email(session, row)
    if row is None:
        row = ClipAssignment(clip_id=clip.id)
        session.add(row)
    elif row.assignee_id not in (None, target.id) and user.role != "admin":
        raise AlreadyAssigned(
            f"clip {code} is already assigned to {before}; ask them or an "
            "admin to unassign it first"
        )
    row.assignee_id = target.id
    row.assigned_at = utcnow()
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="review.assigned",
        clip_code=code,
        payload={"before": before, "after": target.email},
    )
    return row


def unassign(
    session: Session, code: str, *, user: User, actor: str, version: int | None = None
) -> ClipAssignment | None:
    clip = clips.live_clip(session, code, lock=True)
    row = repository.assignment(session, clip.id)
    if row is None or row.assignee_id is None:
        return row
    check_row_version(row.version, version, f"the assignment of clip {code}")
    if row.assignee_id != user.id and user.role != "admin":
        raise NotAllowed("only the assignee or an admin may unassign a clip")
    before = _assignee_email(session, row)
    row.assignee_id = None
    row.assigned_at = None
    session.flush()
    custody.record(
        session, actor=actor, action="review.unassigned", clip_code=code, payload={"before": before}
    )
    return row


def assignment_read(session: Session, code: str) -> AssignmentRead:
    """Who the clip is assigned to (the one read model of an assignment)."""
    clip = clips.live_clip(session, code)
    row = repository.assignment(session, clip.id)
    return AssignmentRead(
        code=clip.code,
        assignee=_assignee_email(session, row),
        assigned_at=row.assigned_at if row else None,
        version=row.version if row else None,
    )


def _assignee_email(session: Session, row: ClipAssignment | None) -> str | None:
    if row is None or row.assignee_id is None:
        return None
    user = session.get(User, row.assignee_id)
    return user.email if user else None


def check_row_version(current: int, sent: int | None, what: str) -> None:
    if sent is not None and sent != current:
        raise StaleVersion(
            f"{what} has changed since you read it (you sent version {sent}, "
            f"it is now {current}); reload and try again",
            field="version",
            extra={"current_version": current},
        )


def retraction_notice(session: Session, clip_id: int) -> Retraction | None:
    """The public reason and time of a retraction (public-safe: for the public clip page)."""
    return session.get(Retraction, clip_id)
