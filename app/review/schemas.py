"""Team-only review schemas. None of these may appear in public or partner output.

The ``*Read`` models are the review objects' one read model: the services build them, and
the API and the team pages both show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.clips.models import STATUSES

_FORBID = ConfigDict(extra="forbid")


class TransitionRequest(BaseModel):
    model_config = _FORBID

    to: str = Field(examples=list(STATUSES))
    note: str = Field(
        default="",
        max_length=5000,
        description="Required for rejections, retractions (public reason), "
        "requests for information and reopening",
    )
    version: int | None = Field(default=None, ge=1, description="The clip version you read")


class AllowedMoveRead(BaseModel):
    model_config = _FORBID

    to: str
    name: str
    note_required: bool
    allowed: bool
    reason: str | None


class TransitionsRead(BaseModel):
    model_config = _FORBID

    code: str
    current: str
    version: int
    moves: list[AllowedMoveRead]
    approvals: list[str]
    required_approvals: int
    missing_items: list[str]


class ClipStateRead(BaseModel):
    model_config = _FORBID

    code: str
    status: str
    version: int
    verified_now: bool = False


class ApprovalRequest(BaseModel):
    model_config = _FORBID

    note: str = Field(default="", max_length=5000)
    version: int | None = Field(default=None, ge=1)


class ChecklistEntryRead(BaseModel):
    model_config = _FORBID

    key: str
    kind: str
    label_en: str
    label_fa: str
    help_en: str = ""
    help_fa: str = ""
    done: bool
    note: str
    evidence: list[str]
    data: dict[str, Any]
    updated_by: str | None
    updated_at: datetime | None
    version: int = Field(description="0 until the item is first answered")


class ChecklistRead(BaseModel):
    model_config = _FORBID

    code: str
    complete: bool
    missing: list[str]
    items: list[ChecklistEntryRead]


class ChecklistEntryUpdate(BaseModel):
    model_config = _FORBID

    version: int = Field(ge=0, description="The item version you read (0 if never answered)")
    done: bool
    note: str = Field(default="", max_length=10000)
    evidence: list[str] = Field(default_factory=list, max_length=20)
    lat: float | None = Field(default=None, description="location items")
    lon: float | None = None
    precision: str | None = Field(default=None, examples=["exact", "vicinity", "locality"])
    date: str | None = Field(
        default=None, description="date items: sets the clip's date", examples=["16 Nov 2019"]
    )


class ChecklistItemCreate(BaseModel):
    model_config = _FORBID

    key: str = Field(max_length=64, examples=["weather_matches"])
    label_en: str = Field(max_length=200)
    label_fa: str = Field(max_length=200)
    kind: str = Field(default="plain", examples=["plain", "location", "date"])
    help_en: str = Field(default="", max_length=2000)
    help_fa: str = Field(default="", max_length=2000)


class ChecklistItemRead(BaseModel):
    model_config = _FORBID

    key: str
    label_en: str
    label_fa: str
    kind: str
    active: bool
    position: int
    version: int


class CommentCreate(BaseModel):
    model_config = _FORBID

    body: str = Field(max_length=10000)
    at_seconds: float | None = Field(default=None, ge=0, description="time in the video")
    parent_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class CommentUpdate(BaseModel):
    model_config = _FORBID

    body: str = Field(max_length=10000)
    version: int = Field(ge=1)


class CommentRead(BaseModel):
    model_config = _FORBID

    id: int
    parent_id: int | None
    author: str | None
    body: str
    at_seconds: float | None
    created_at: datetime
    edited_at: datetime | None
    version: int
    depth: int = 0


class AssignmentRequest(BaseModel):
    model_config = _FORBID

    assignee: str | None = Field(default=None, description="email; default: yourself")
    version: int | None = Field(default=None, ge=1)


class AssignmentRead(BaseModel):
    model_config = _FORBID

    code: str
    assignee: str | None
    assigned_at: datetime | None
    version: int | None


class QueueItemRead(BaseModel):
    model_config = _FORBID

    code: str
    status: str
    title_en: str | None
    title_fa: str | None
    date_en: str
    date_fa: str
    city: str
    city_fa: str | None
    assignee: str | None
    assigned_at: datetime | None
    updated_at: datetime
    version: int


class QueueRead(BaseModel):
    model_config = _FORBID

    items: list[QueueItemRead]
    counts: dict[str, int]
    total: int
    offset: int
    limit: int


class CustodyEventRead(BaseModel):
    model_config = _FORBID

    id: int
    occurred_at: datetime
    actor: str
    action: str
    clip_code: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class CustodyExport(BaseModel):
    model_config = _FORBID

    code: str
    exported_at: datetime
    chain_ok: bool
    chain_head: str
    chain_events: int
    events: list[CustodyEventRead]


class CorrectionFields(BaseModel):
    """The fields a correction may change (only those given are proposed)."""

    model_config = _FORBID

    city: str | None = None
    province: str | None = None
    date: str | None = Field(default=None, examples=["16 Nov 2019"])
    title_en: str | None = Field(default=None, max_length=300)
    title_fa: str | None = Field(default=None, max_length=300)
    description_en: str | None = Field(default=None, max_length=20000)
    description_fa: str | None = Field(default=None, max_length=20000)
    graphic_violence: bool | None = None
    identifiable_people: bool | None = None
    tags: list[str] | None = Field(default=None, max_length=50)


class CorrectionCreate(BaseModel):
    model_config = _FORBID

    changes: CorrectionFields
    reason: str = Field(max_length=5000, description="why (team only)")
    public_reason: str = Field(max_length=1000, description="shown on the public notice")


class CorrectionDecision(BaseModel):
    model_config = _FORBID

    note: str = Field(default="", max_length=5000)
    version: int | None = Field(default=None, ge=1)


class FieldChangeRead(BaseModel):
    model_config = _FORBID

    field: str
    before: Any
    after: Any


class CorrectionRead(BaseModel):
    model_config = _FORBID

    id: int
    clip: str
    state: str = Field(examples=["open", "applied", "rejected"])
    changes: list[FieldChangeRead]
    reason: str
    public_reason: str
    author: str | None
    approvals: list[str]
    required_approvals: int
    must_confirm: list[str] = Field(description="checklist items to confirm again")
    confirmed: list[str]
    missing_items: list[str]
    decision_note: str
    created_at: datetime
    decided_at: datetime | None
    version: int
    applied_now: bool = False


class CorrectionList(BaseModel):
    model_config = _FORBID

    items: list[CorrectionRead]
