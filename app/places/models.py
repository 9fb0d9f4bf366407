"""Places: a two-level tree (province -> city) per country, with English and Farsi names
and aliases so that "Isfahan" and "Esfahan" resolve to one place."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

PLACE_KINDS = ("province", "city")


class Place(Base):
    __tablename__ = "place"
    __table_args__ = (
        CheckConstraint("kind IN ('province', 'city')", name="kind"),
        UniqueConstraint("country_code", "kind", "parent_id", "name_en", name="uq_place_name"),
        Index("ix_place_parent_id", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country_code: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("place.id", ondelete="RESTRICT"))
    name_en: Mapped[str] = mapped_column(String(120))
    name_fa: Mapped[str | None] = mapped_column(String(120))
    lat: Mapped[float | None]
    lon: Mapped[float | None]


class PlaceAlias(Base):
    """Every name a place answers to (its own names included), normalised for lookup."""

    __tablename__ = "place_alias"
    __table_args__ = (UniqueConstraint("country_code", "kind", "alias", name="uq_place_alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="CASCADE"), index=True)
    country_code: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    alias: Mapped[str] = mapped_column(String(120))
