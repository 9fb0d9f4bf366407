"""The team's JSON shapes for near-duplicates (candidates, decisions, confirmed links)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_FORBID = ConfigDict(extra="forbid")
State = Literal["open", "same_footage", "same_event", "not_related"]


class DuplicateRef(BaseModel):
    """A possible duplicate as the uploader's warning shows it."""

    model_config = _FORBID

    code: str = Field(examples=["IRN012"])
    state: State
    query_pct: float = Field(description="share of this clip's frames found in the other")
    compared_pct: float = Field(description="share of the other clip's frames found in this")


class StillRead(BaseModel):
    model_config = _FORBID

    position: int
    timestamp: float
    thumbnail_url: str


class CandidateRead(DuplicateRef):
    this_ranges: list[list[float]] = Field(description="matched [start, end] s in this clip")
    other_ranges: list[list[float]] = Field(description="matched [start, end] s in the other")
    orientation: str = Field(description="the dihedral transform of the match (`original`...)")
    this_still: StillRead | None
    other_still: StillRead | None
    decided_by: str | None
    decided_at: datetime | None


class DecisionRequest(BaseModel):
    model_config = _FORBID

    decision: Literal["same_footage", "same_event", "not_related"]
    seen: State = Field(
        default="open",
        description="the state you are deciding from (to change a decision, pass the "
        "current one); 409 decided_meanwhile when the pair is no longer in it",
    )


class CopyRead(BaseModel):
    model_config = _FORBID

    code: str
    relation: Literal["same_footage", "same_event"] | None = Field(
        description="null for the clip itself"
    )
    uploaded_at: datetime | None
    created_at: datetime | None = Field(description="the file's probed creation time")


class LinksRead(BaseModel):
    model_config = _FORBID

    copies: list[CopyRead]
    earliest_by_upload: str | None
    earliest_by_creation_time: str | None


class DuplicatesRead(BaseModel):
    model_config = _FORBID

    candidates: list[CandidateRead]
    links: LinksRead
