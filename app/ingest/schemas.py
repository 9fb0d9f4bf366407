"""Team API shapes for originals, keyframes and processing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ProcessingSummary(BaseModel):
    state: str = Field(description="none | queued | running | done | failed")
    step: str | None = Field(description="probe | keyframes | hashes (the step not yet done)")
    progress: int = Field(description="whole pipeline, percent")
    step_progress: int | None = None
    attempts: int
    last_error: str | None = Field(description="the end of ffmpeg's stderr, or why it stopped")


class ProcessingStep(BaseModel):
    step: str
    state: str
    progress: int
    attempts: int
    last_error: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ProcessingRead(ProcessingSummary):
    clip: str
    sha256: str | None
    steps: list[ProcessingStep]


class MediaRead(BaseModel):
    clip: str
    sha256: str
    hash: str = Field(description="SHA-256:<hex>")
    size: int
    filename: str | None = Field(description="as sent by the client; metadata only")
    content_type: str | None = Field(description="as claimed by the client (not trusted)")
    container: str
    via: str
    created_at: datetime
    fixity_checked_at: datetime | None
    sha512: str | None = Field(
        default=None,
        description="the original's SHA-512, taken by its first fixity read (evidence bags)",
    )
    metadata: dict[str, Any] = Field(
        description="ffprobe summary (duration, codecs, size, "
        "rotation, frame rate, GPS, device ...)"
    )
    sensitive_fields: list[str] = Field(description="metadata keys that are team-only")
    processing: ProcessingSummary


class KeyframeRead(BaseModel):
    position: int
    timestamp: float = Field(description="seconds, from the frame's pts_time")
    width: int
    height: int
    sha256: str
    phash: str = Field(description="64-bit perceptual hash, hex")
    source: str = Field(description="keyframe | coverage | cut")
    url: str
    thumbnail_url: str


class KeyframeList(BaseModel):
    clip: str
    original_sha256: str
    generation: str | None
    poster_url: str | None
    contact_sheet_url: str | None
    items: list[KeyframeRead]
