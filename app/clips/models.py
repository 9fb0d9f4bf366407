"""The catalogue: clips with IRN-style codes, a place, and an uncertain event date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kit.clock import utcnow

STATUSES = (
    "draft",
    "submitted",
    "in_review",
    "needs_info",
    "verified",
    "published",
    "rejected",
    "retracted",
)


class CodeSequence(Base):
    """The highest sequence number ever used per country; codes are never reused."""

    __tablename__ = "code_sequence"

    country_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


class Clip(Base):
    __tablename__ = "clip"
    __table_args__ = (
        UniqueConstraint("code", name="uq_clip_code"),
        UniqueConstraint("country_code", "seq", name="uq_clip_country_seq"),
        CheckConstraint("date_earliest <= date_latest", name="date_order"),
        CheckConstraint(
            "status IN ('draft','submitted','in_review','needs_info','verified',"
            "'published','rejected','retracted')",
            name="status",
        ),
        Index("ix_clip_place_id_id", "place_id", "id"),
        Index("ix_clip_status_id", "status", "id"),
        Index("ix_clip_date_earliest", "date_earliest"),
        Index("ix_clip_date_latest", "date_latest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16))
    country_code: Mapped[str] = mapped_column(String(3))
    seq: Mapped[int]
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="RESTRICT"))

    date_edtf: Mapped[str] = mapped_column(String(120))
    date_earliest: Mapped[date]
    date_latest: Mapped[date]
    date_display_en: Mapped[str] = mapped_column(String(120))
    date_display_fa: Mapped[str] = mapped_column(String(120))

    title_en: Mapped[str | None] = mapped_column(String(300))
    title_fa: Mapped[str | None] = mapped_column(String(300))
    description_en: Mapped[str | None] = mapped_column(Text)
    description_fa: Mapped[str | None] = mapped_column(Text)
    # What full-text search matches: written by database triggers only (migration 1060;
    # app/clips/search.py), never by the application, and never shown.
    search_doc: Mapped[str | None] = mapped_column(Text, deferred=True)

    graphic_violence: Mapped[bool] = mapped_column(default=False)
    identifiable_people: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)

    status: Mapped[str] = mapped_column(String(16), default="draft")
    source: Mapped[str | None] = mapped_column(String(300))
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    published_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
