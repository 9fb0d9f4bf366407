"""Candidate pairs of clips that may show the same footage, and the reviewer's decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kit.clock import utcnow

STATES = ("open", "same_footage", "same_event", "not_related")
"""``open``: found by the match step, not yet decided. The other three are a reviewer's
decision; ``same_footage`` is a confirmed link, ``not_related`` a dismissal that a later
match never re-opens."""


class DuplicateCandidate(Base):
    """One pair of clips (``clip_a_id < clip_b_id``) and how much of each the other covers:
    ``a_pct`` is the share of A's frames with a match in B (and the reverse)."""

    __tablename__ = "duplicate_candidate"
    __table_args__ = (
        UniqueConstraint("clip_a_id", "clip_b_id", name="uq_duplicate_candidate_pair"),
        CheckConstraint("clip_a_id < clip_b_id", name="ordered"),
        CheckConstraint(
            "state IN ('open','same_footage','same_event','not_related')", name="state"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_a_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    clip_b_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    a_pct: Mapped[float]
    b_pct: Mapped[float]
    a_ranges: Mapped[list[Any]] = mapped_column(JSON)
    b_ranges: Mapped[list[Any]] = mapped_column(JSON)
    orientation: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="open")
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
