"""Processing jobs: one row per (clip, step, original SHA-256), claimed from the database.

The step names the database accepts are the migrations' business (the CHECK constraint
``ck_processing_job_step``, widened by the migration that adds a step); the kernel names
none of them, and start-up compares that constraint with the registered steps
(app/jobs/registry.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kit.clock import utcnow

STATES = ("queued", "running", "done", "failed")


class ProcessingJob(Base):
    __tablename__ = "processing_job"
    __table_args__ = (
        UniqueConstraint("clip_id", "step", "original_sha256", name="uq_processing_job_key"),
        CheckConstraint("state IN ('queued','running','done','failed')", name="state"),
        Index("ix_processing_job_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(16))
    original_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claim_token: Mapped[str | None] = mapped_column(String(32))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
