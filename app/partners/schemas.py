"""Public and partner output. Separate classes with ``extra="forbid"``: they hold only what
may be published, so no internal field (uploader, notes, GPS, device, paths) can leak by
being added to a team schema."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_FORBID = ConfigDict(extra="forbid")


class DatePublic(BaseModel):
    model_config = _FORBID

    edtf: str = Field(examples=["[2019-11-15,2019-11-16]"], description="EDTF (LoC)")
    earliest: date = Field(examples=["2019-11-15"])
    latest: date = Field(examples=["2019-11-16"])
    display_en: str = Field(examples=["15 or 16 Nov 2019"])
    display_fa: str = Field(examples=["۲۴ یا ۲۵ آبان ۱۳۹۸"])


class PlacePublic(BaseModel):
    model_config = _FORBID

    country: str = Field(examples=["IRN"])
    city: str = Field(examples=["Shiraz"])
    city_fa: str | None = Field(examples=["شیراز"])
    province: str = Field(examples=["Fars"])
    province_fa: str | None = Field(examples=["فارس"])


class KeyframePublic(BaseModel):
    model_config = _FORBID

    position: int = Field(examples=[0])
    timestamp: float = Field(description="seconds from the start", examples=[12.48])
    phash: str = Field(description="64-bit perceptual hash, hex", examples=["c3b1a0f0e0d0c8c4"])
    url: str = Field(examples=["https://archive.example/clips/IRN091/keyframes/0.jpg"])


class MediaPublic(BaseModel):
    model_config = _FORBID

    sha256: str = Field(description="SHA-256 of the original file", examples=["9f86d0" + "0" * 58])
    duration: float | None = Field(description="seconds", examples=[42.5])
    width: int | None = Field(examples=[1920])
    height: int | None = Field(examples=[1080])
    playback_url: str | None = Field(
        description="the public playback copy (H.264/AAC MP4, metadata stripped)", default=None
    )
    poster_url: str | None = None
    iiif_manifest: str | None = Field(
        description="IIIF Presentation 3 manifest (a video canvas), when there is a playback copy",
        default=None,
    )


class ChecklistItemPublic(BaseModel):
    model_config = _FORBID

    key: str = Field(examples=["location"])
    label_en: str = Field(examples=["Location confirmed"])
    label_fa: str = Field(examples=["مکان تأیید شد"])


class VerificationPublic(BaseModel):
    model_config = _FORBID

    verified_at: datetime | None
    confirmed: list[ChecklistItemPublic]


class CorrectionPublic(BaseModel):
    """An applied correction: when, which fields changed, and the public reason."""

    model_config = _FORBID

    corrected_at: datetime
    fields: list[str] = Field(examples=[["place", "date"]])
    reason: str = Field(examples=["The footage was filmed in Shiraz, not Abadan."])


class RelatedPublic(BaseModel):
    """Another published clip that a reviewer confirmed as a copy of the same footage
    (``same_footage``) or footage of the same event (``same_event``)."""

    model_config = _FORBID

    code: str = Field(examples=["IRN012"])
    relation: Literal["same_footage", "same_event"]
    url: str = Field(examples=["https://archive.example/clips/IRN012"])


class ClipPublic(BaseModel):
    """One published clip, as the public and partners see it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "IRN091",
                    "url": "https://archive.example/clips/IRN091",
                    "place": {
                        "country": "IRN",
                        "city": "Shiraz",
                        "city_fa": "شیراز",
                        "province": "Fars",
                        "province_fa": "فارس",
                    },
                    "date": {
                        "edtf": "2019-11-16",
                        "earliest": "2019-11-16",
                        "latest": "2019-11-16",
                        "display_en": "16 Nov 2019",
                        "display_fa": "۲۵ آبان ۱۳۹۸",
                    },
                    "title_en": "Protest footage, Shiraz",
                    "title_fa": "ویدیوی اعتراض، شیراز",
                    "description_en": None,
                    "description_fa": None,
                    "graphic_violence": False,
                    "identifiable_people": False,
                    "tags": [],
                    "source": "Amnesty International",
                    "published_at": "2026-11-24T16:30:00Z",
                    "updated_at": "2026-11-24T16:30:00Z",
                    "media": None,
                    "keyframes": [],
                    "verification": None,
                    "corrections": [],
                    "related": [],
                }
            ]
        },
    )

    code: str
    url: str = Field(description="permalink of the public page")
    place: PlacePublic
    date: DatePublic
    title_en: str | None
    title_fa: str | None
    description_en: str | None
    description_fa: str | None
    graphic_violence: bool
    identifiable_people: bool
    tags: list[str]
    source: str | None = Field(description="who holds the footage, for imported records")
    published_at: datetime | None
    updated_at: datetime
    media: MediaPublic | None = Field(description="null when the footage is held by the source")
    keyframes: list[KeyframePublic]
    verification: VerificationPublic | None
    corrections: list[CorrectionPublic] = Field(
        description="applied corrections, oldest first (a published record changes only so)"
    )
    related: list[RelatedPublic] = Field(
        default_factory=list,
        description="confirmed near-duplicate links to other published clips, by code",
    )


class ClipPublicPage(BaseModel):
    model_config = _FORBID

    items: list[ClipPublic]
    next_cursor: str | None = Field(description="pass back as ?cursor= for the next page")


class RetractionPublic(BaseModel):
    """The tombstone of a retracted clip (served with 410 Gone)."""

    model_config = _FORBID

    error: Literal["retracted"] = "retracted"
    detail: str
    field: str | None = None
    clip: str = Field(examples=["IRN091"])
    retracted_at: datetime | None
    reason: str | None


class ChangeEvent(BaseModel):
    model_config = _FORBID

    cursor: str = Field(description="resume after this event with ?since=")
    kind: Literal["published", "updated", "retracted"]
    code: str = Field(examples=["IRN091"])
    at: datetime
    clip: ClipPublic | None = Field(
        description="the clip as it is now, when it is still published; null for tombstones "
        "and for clips retracted since"
    )


class ChangePage(BaseModel):
    model_config = _FORBID

    events: list[ChangeEvent]
    next_cursor: str = Field(description="pass back as ?since= to continue; stable when empty")
    has_more: bool
