"""Load the shipped demo archive as published records without footage."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clips.importer import ImportReport, import_csv
from app.clips.models import Clip
from app.clips.schemas import ClipCreate
from app.demo import DEMO_CSV, DEMO_SOURCE
from app.places import service as places

ACTOR = "system:demo"


def _neutral_titles(data: ClipCreate, session: Session) -> ClipCreate:
    """The listing has no captions; write neutral ones ("Protest footage, Shiraz")."""
    where = places.resolve(
        session, country=data.country, province=data.province, city=data.city, create=True
    )
    city_fa = where.place.name_fa or where.place.name_en
    return data.model_copy(
        update={
            "title_en": data.title_en or f"Protest footage, {where.place.name_en}",
            "title_fa": data.title_fa or f"ویدیوی اعتراض، {city_fa}",
        }
    )


def load_demo(session: Session, *, only_if_empty: bool = False) -> ImportReport | None:
    if only_if_empty and session.scalar(select(func.count(Clip.id))):
        return None
    return import_csv(
        session, DEMO_CSV, actor=ACTOR, published=True, source=DEMO_SOURCE, defaults=_neutral_titles
    )
