"""Review workflow tables: assignment, approvals, the checklist, comments, retractions.

The clip's state itself is `clip.status`; the transition table is app/review/transitions.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kit.clock import utcnow

ITEM_KINDS = ("plain", "location", "date")
PRECISIONS = ("exact", "vicinity", "locality")


class ClipAssignment(Base):
    """Who is working on a clip (one row per clip once it has been claimed)."""

    __tablename__ = "clip_assignment"

    clip_id: Mapped[int] = mapped_column(
        ForeignKey("clip.id", ondelete="CASCADE"), primary_key=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    assigned_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Approval(Base):
    """A reviewer's approval of a clip in the current review round (withdrawn when the clip
    leaves review without being verified)."""

    __tablename__ = "review_approval"
    __table_args__ = (Index("ix_review_approval_clip_id_active", "clip_id", "withdrawn_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class ChecklistTemplateItem(Base):
    __tablename__ = "checklist_template_item"
    __table_args__ = (
        UniqueConstraint("key", name="uq_checklist_template_item_key"),
        CheckConstraint("kind IN ('plain', 'location', 'date')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    label_en: Mapped[str] = mapped_column(String(200))
    label_fa: Mapped[str] = mapped_column(String(200))
    help_en: Mapped[str] = mapped_column(Text, default="")
    help_fa: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="plain")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ChecklistEntry(Base):
    """One clip's answer to one template item: who, when, note, evidence links, data."""

    __tablename__ = "checklist_entry"
    __table_args__ = (UniqueConstraint("clip_id", "item_id", name="uq_checklist_entry_clip_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_template_item.id", ondelete="RESTRICT")
    )
    done: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Comment(Base):
    """An internal, threaded note; optionally at a time in the video. Team only."""

    __tablename__ = "review_comment"
    __table_args__ = (
        Index("ix_review_comment_clip_id_id", "clip_id", "id"),
        CheckConstraint("at_seconds IS NULL OR at_seconds >= 0", name="at_seconds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_comment.id", ondelete="CASCADE")
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    at_seconds: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Retraction(Base):
    """Why a published clip was retracted. `public_reason` is shown on the public page."""

    __tablename__ = "clip_retraction"

    clip_id: Mapped[int] = mapped_column(
        ForeignKey("clip.id", ondelete="CASCADE"), primary_key=True
    )
    public_reason: Mapped[str] = mapped_column(Text)
    retracted_at: Mapped[datetime] = mapped_column(default=utcnow)


CORRECTION_STATES = ("open", "applied", "rejected")


class Correction(Base):
    """A proposed change to a frozen (verified or published) clip: reviewed like a clip,
    applied in one transaction when the last approval needed arrives.

    ``changes`` is ``{field: {"before": ..., "after": ...}}`` over the fields of the
    clip's snapshot (city, province, date, titles, descriptions, flags, tags). ``reason``
    is internal; ``public_reason`` is shown on the public page once it is applied.
    ``confirmed`` holds the checklist items confirmed again for it: ``{key: {"by", "at",
    "note"}}``. At most one open correction per clip (a partial unique index)."""

    __tablename__ = "clip_correction"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'applied', 'rejected')", name="state"),
        Index("ix_clip_correction_clip_id_id", "clip_id", "id"),
        Index(
            "uq_clip_correction_open",
            "clip_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(16), default="open")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    requested: Mapped[dict[str, Any]] = mapped_column(JSON)  # the fields as proposed
    reason: Mapped[str] = mapped_column(Text)
    public_reason: Mapped[str] = mapped_column(Text)
    confirmed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class CorrectionApproval(Base):
    __tablename__ = "clip_correction_approval"
    __table_args__ = (
        UniqueConstraint(
            "correction_id", "reviewer_id", name="uq_clip_correction_approval_reviewer"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    correction_id: Mapped[int] = mapped_column(ForeignKey("clip_correction.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlurRegion(Base):
    """A region a reviewer marked to blur by hand in the public derivatives: a box in
    relative units (0-1 of the frame) over start..end seconds (app/review/blur_regions.py)."""

    __tablename__ = "blur_region"
    __table_args__ = (
        Index("ix_blur_region_clip_id", "clip_id"),
        CheckConstraint(
            "x >= 0 AND y >= 0 AND w > 0 AND h > 0 AND x + w <= 1 AND y + h <= 1",
            name="box",
        ),
        CheckConstraint("start_seconds >= 0 AND end_seconds >= start_seconds", name="range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    x: Mapped[float]
    y: Mapped[float]
    w: Mapped[float]
    h: Mapped[float]
    start_seconds: Mapped[float]
    end_seconds: Mapped[float]
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
