"""Originals (one per clip), their keyframes, and resumable uploads in progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.kit.clock import utcnow

INGEST_STEPS = ("probe", "keyframes", "hashes")
"""The job steps every new original goes through, in order (app/ingest/tasks.py)."""


class Media(Base):
    """The original file of a clip: stored once under its SHA-256, never modified."""

    __tablename__ = "media"
    __table_args__ = (
        UniqueConstraint("clip_id", name="uq_media_clip_id"),
        UniqueConstraint("sha256", name="uq_media_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="RESTRICT"))
    sha256: Mapped[str] = mapped_column(String(64))
    # taken by the first fixity read (the ``hashes`` step, or ``archive fixity``); a bag's
    # manifest-sha512.txt uses it, so an export never hashes the original again
    sha512: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str | None] = mapped_column(String(500))  # metadata only, never a path
    content_type: Mapped[str | None] = mapped_column(String(200))  # as claimed by the client
    container: Mapped[str] = mapped_column(String(40))
    probe: Mapped[dict[str, Any]] = mapped_column(JSON)
    via: Mapped[str] = mapped_column(String(16))  # raw | multipart | tus
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    derivative_generation: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fixity_checked_at: Mapped[datetime | None]  # the last check that found the bytes intact
    # the last fixity check's finding (app/ingest/fixity.py): ok, changed, missing, unreadable
    fixity_status: Mapped[str | None] = mapped_column(String(16))
    fixity_detail: Mapped[str | None] = mapped_column(String(300))
    fixity_attempted_at: Mapped[datetime | None]  # the last check, whatever it found
    # footage that came with a correction to a frozen clip (app/review/footage.py): held
    # back from the public while set; cleared when the correction is applied, kept when it
    # is rejected (the file stays in the store, never public)
    correction_id: Mapped[int | None] = mapped_column(
        ForeignKey("clip_correction.id", ondelete="RESTRICT"), index=True
    )


FIXITY_FINDINGS = ("ok", "changed", "missing", "unreadable")


class FixityRun(Base):
    """One run of the fixity check: scheduled (a slice of the cycle) or ``archive fixity``."""

    __tablename__ = "fixity_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | cli
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    files: Mapped[int] = mapped_column(default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[float] = mapped_column(default=0.0)


class Keyframe(Base):
    """One keyframe JPEG of the current derivative generation of a clip's original."""

    __tablename__ = "keyframe"
    __table_args__ = (
        UniqueConstraint("media_id", "position", name="uq_keyframe_media_position"),
        Index("ix_keyframe_phash", "phash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    original_sha256: Mapped[str] = mapped_column(String(64))
    generation: Mapped[str] = mapped_column(String(32))
    position: Mapped[int]
    timestamp: Mapped[float]
    width: Mapped[int]
    height: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    phash: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))


class FrameHash(Base):
    """A 256-bit PDQ hash of one frame of a clip's original: every kept keyframe, plus one
    frame per second where keyframes are sparser (app/ingest/frame_hashes.py). ``id`` only
    grows: the in-process indexes (app/duplicates/index.py) poll it as a high-water mark."""

    __tablename__ = "frame_hash"
    __table_args__ = (Index("ix_frame_hash_media_id", "media_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    timestamp: Mapped[float]
    pdq: Mapped[bytes] = mapped_column(LargeBinary(32))
    quality: Mapped[int] = mapped_column(SmallInteger)
    keyframe_position: Mapped[int | None]  # None: a per-second frame between keyframes


class Upload(Base):
    """A resumable (tus) upload: the bytes so far live in MEDIA_ROOT/uploads/<id>."""

    __tablename__ = "upload"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    length: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)  # the tus Upload-Offset
    filename: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="uploading")  # uploading|done|failed
    error: Mapped[str | None] = mapped_column(Text)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
