"""THE transition table of the review workflow, and who may make each move.

Path: draft -> submitted -> in_review -> verified -> published.
Side states: needs_info (back to submitted when the contributor answers), rejected (an admin
may reopen it), retracted (from published, with a public reason; final).

Everything about *which* moves exist and *who* may make them is here; the service
(app/review/service.py) adds the conditions that need the database (checklist, approvals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.accounts.models import ROLE_RANK, User

# who may make a move:
#   owner_or_reviewer  the clip's uploader, or any reviewer/admin
#   reviewer           a reviewer or an admin
#   publisher          an admin, or a reviewer with publishing rights
#   admin              an admin
Who = Literal["owner_or_reviewer", "reviewer", "publisher", "admin"]


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    who: Who
    note_required: bool = False
    uploader_may: bool = True  # False: the clip's uploader may never make this move
    name: str = ""  # a verb for buttons and the custody log


MOVES: tuple[Move, ...] = (
    Move("draft", "submitted", "owner_or_reviewer", name="submit"),
    Move("submitted", "in_review", "reviewer", name="start_review"),
    Move("submitted", "needs_info", "reviewer", note_required=True, name="ask_info"),
    Move("submitted", "rejected", "reviewer", note_required=True, name="reject"),
    Move("in_review", "needs_info", "reviewer", note_required=True, name="ask_info"),
    Move("in_review", "verified", "reviewer", uploader_may=False, name="verify"),
    Move("in_review", "rejected", "reviewer", note_required=True, name="reject"),
    Move("needs_info", "submitted", "owner_or_reviewer", note_required=True, name="answer"),
    Move("verified", "published", "publisher", name="publish"),
    Move("verified", "in_review", "reviewer", note_required=True, name="reopen_review"),
    Move("rejected", "submitted", "admin", note_required=True, name="reopen"),
    Move("published", "retracted", "publisher", note_required=True, name="retract"),
)
TABLE: dict[tuple[str, str], Move] = {(m.source, m.target): m for m in MOVES}


def moves_from(status: str) -> list[Move]:
    return [m for m in MOVES if m.source == status]


def find(source: str, target: str) -> Move | None:
    return TABLE.get((source, target))


def is_publisher(user: User) -> bool:
    return user.role == "admin" or (user.role == "reviewer" and user.can_publish)


def refusal(
    move: Move, user: User, creator_id: int | None, media_uploader_id: int | None = None
) -> str | None:
    """Why `user` may not make `move` (None when the role rules allow it). Separation of
    duties covers both who created the record and who uploaded its footage."""
    is_uploader = creator_id is not None and creator_id == user.id
    if not move.uploader_may:
        if is_uploader:
            return "nobody may verify a clip they uploaded (its record)"
        if media_uploader_id is not None and media_uploader_id == user.id:
            return "nobody may verify a clip whose footage they uploaded"
    rank = ROLE_RANK[user.role]
    if move.who == "owner_or_reviewer":
        if rank >= ROLE_RANK["reviewer"] or is_uploader:
            return None
        return "only the clip's uploader or a reviewer may do this"
    if move.who == "reviewer":
        return None if rank >= ROLE_RANK["reviewer"] else "this needs a reviewer or an admin"
    if move.who == "publisher":
        return (
            None
            if is_publisher(user)
            else ("publishing needs an admin or a reviewer with publishing rights")
        )
    return None if user.role == "admin" else "only an admin may do this"
