"""Response bodies of the search by image (team only: clips of every state)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrameHitRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timestamp: float
    distance: int
    orientation: str
    keyframe_position: int | None


class ClipHitRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    status: str
    distance: int
    matched_frames: int
    frames: list[FrameHitRead]
    url: str
    thumbnail_url: str | None


class ImageSearchRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quality: int
    hash: str
    radius: int
    results: list[ClipHitRead]
