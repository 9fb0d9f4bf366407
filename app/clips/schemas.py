"""Team-side clip schemas. Public and partner schemas live in their own domains."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.clips.models import STATUSES
from app.duplicates.schemas import DuplicateRef

_FORBID = ConfigDict(extra="forbid")

DATE_EXAMPLES = ["16 Nov 2019", "15 – 23 Nov 2019", "15 or 16 Nov 2019", "2019-11-15/2019-11-23"]


class DateRead(BaseModel):
    model_config = _FORBID

    edtf: str = Field(examples=["[2019-11-15,2019-11-16]"])
    earliest: date
    latest: date
    display_en: str = Field(examples=["15 or 16 Nov 2019"])
    display_fa: str = Field(examples=["۲۴ یا ۲۵ آبان ۱۳۹۸"])


class ClipCreate(BaseModel):
    model_config = _FORBID

    code: str | None = Field(
        default=None, description="Kept as given; allocated when omitted", examples=["IRN091"]
    )
    country: str = Field(default="IRN", description="ISO 3166-1 alpha-3", examples=["IRN"])
    city: str = Field(examples=["Abadan"])
    province: str = Field(examples=["Khuzestan"])
    date: str = Field(description="Any accepted date form", examples=DATE_EXAMPLES)
    title_en: str | None = Field(default=None, max_length=300)
    title_fa: str | None = Field(default=None, max_length=300)
    description_en: str | None = Field(default=None, max_length=20000)
    description_fa: str | None = Field(default=None, max_length=20000)
    graphic_violence: bool = False
    identifiable_people: bool = False
    tags: list[str] = Field(default_factory=list, max_length=50)


class ClipUpdate(BaseModel):
    """Only the fields given change. `version` must be the one you last read (else 409)."""

    model_config = _FORBID

    version: int = Field(ge=1)
    city: str | None = None
    province: str | None = None
    date: str | None = Field(default=None, examples=DATE_EXAMPLES)
    title_en: str | None = Field(default=None, max_length=300)
    title_fa: str | None = Field(default=None, max_length=300)
    description_en: str | None = Field(default=None, max_length=20000)
    description_fa: str | None = Field(default=None, max_length=20000)
    graphic_violence: bool | None = None
    identifiable_people: bool | None = None
    tags: list[str] | None = Field(default=None, max_length=50)


class ClipRead(BaseModel):
    model_config = _FORBID

    code: str
    country: str
    city: str
    city_fa: str | None
    province: str
    province_fa: str | None
    date: DateRead
    title_en: str | None
    title_fa: str | None
    description_en: str | None
    description_fa: str | None
    graphic_violence: bool
    identifiable_people: bool
    tags: list[str]
    status: str = Field(examples=list(STATUSES))
    source: str | None
    created_by: str | None = Field(description="Uploader's email (team only)")
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    version: int
    possible_duplicates: list[DuplicateRef] | None = Field(
        default=None,
        description="near-duplicates the match step found (open or confirmed, best first); "
        "a warning, never a refusal. Only in the one-clip view; null elsewhere",
    )


class ClipPage(BaseModel):
    model_config = _FORBID

    items: list[ClipRead]
    next_cursor: str | None
