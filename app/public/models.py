"""The public change log: one row per published / updated / retracted event.

The partner feed (`GET /api/v1/changes`) pages through it by id. Rows are written by
database triggers on ``clip`` whenever a clip enters, changes while in, or leaves the
published state, and by ``app.public.changes.clip_changed`` for public changes outside the
clip row (playback copy, keyframes, hashes).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kit.clock import utcnow

CHANGE_KINDS = ("published", "updated", "retracted")


class PublicChange(Base):
    __tablename__ = "public_change"
    __table_args__ = (
        CheckConstraint("kind IN ('published', 'updated', 'retracted')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
