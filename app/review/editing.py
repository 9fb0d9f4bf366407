"""Direct edits of a clip before verification, with the review workflow's side of them.

The clips service decides whether the edit is allowed at all (frozen once verified; only
the clip's creator and reviewers before that). Here: an edit of a clip that is
``in_review`` withdraws its approvals, as sending it back does, because the reviewers
approved the record as it was.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.clips import service as clips
from app.clips.models import Clip
from app.clips.schemas import ClipUpdate
from app.custody import service as custody
from app.kit.clock import utcnow
from app.review import repository
from app.review.models import Approval


def edit(session: Session, code: str, data: ClipUpdate, *, user: User, actor: str) -> Clip:
    diff = clips.update(session, code, data, actor=actor, user=user)
    clip = clips.live_clip(session, code)
    if diff and clip.status == "in_review":
        withdraw_approvals(session, clip, actor=actor, reason="the record was edited in review")
    return clip


def withdraw_approvals(session: Session, clip: Clip, *, actor: str, reason: str) -> list[str]:
    """Withdraw the clip's active approvals (with a custody event when there were any)."""
    emails = [email for _, email in repository.active_approvals(session, clip.id)]
    if not emails:
        return []
    session.execute(
        update(Approval)
        .where(Approval.clip_id == clip.id, Approval.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow())
    )
    payload: dict[str, Any] = {"approvals_withdrawn": emails, "reason": reason}
    custody.record(
        session,
        actor=actor,
        action="review.approvals_withdrawn",
        clip_code=clip.code,
        payload=payload,
    )
    return emails
