from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PlaceRead(BaseModel):
    """A city with its province, as the team and the public both see it (places are public)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    country: str
    city: str
    city_fa: str | None
    province: str
    province_fa: str | None
    lat: float | None
    lon: float | None
    aliases: list[str]
