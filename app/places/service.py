"""Places: seeding, alias resolution, and creating unknown cities under their province."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pycountry
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, aliased

from app.errors import InvalidInput
from app.places import seed_data
from app.places.models import Place, PlaceAlias
from app.places.schemas import PlaceRead

_PUNCT = re.compile(r"[\s\-_'’`.]+")


def normalise(name: str) -> str:
    """'Bandar-e  Mahshahr' and 'bandar e mahshahr' are one key; Persian letters unify."""
    name = unicodedata.normalize("NFKC", name).casefold().strip()
    name = name.replace("ي", "ی").replace("ك", "ک").replace("\u200c", " ")
    return _PUNCT.sub(" ", name).strip()


# Farsi names of the countries people filter by (the gazetteer's own country first).
_COUNTRIES_FA = {
    seed_data.COUNTRY["name_fa"]: seed_data.COUNTRY["code"],
    "جمهوری اسلامی ایران": "IRN",
    "افغانستان": "AFG",
    "عراق": "IRQ",
    "ترکیه": "TUR",
    "پاکستان": "PAK",
    "آذربایجان": "AZE",
    "ارمنستان": "ARM",
    "ترکمنستان": "TKM",
    "تاجیکستان": "TJK",
    "سوریه": "SYR",
    "لبنان": "LBN",
}


def resolve_country(value: str, *, field: str = "country") -> str:
    """The ISO alpha-3 code of a country given by code (IRN, irn, IR) or by name in English
    or Farsi (Iran, iran, ایران), case-insensitive; InvalidInput (422) for anything else,
    so a typo is never a silently empty list."""
    text = value.strip()
    key = normalise(text)
    fa = {normalise(k): v for k, v in _COUNTRIES_FA.items()}
    if key in fa:
        return fa[key]
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        raise InvalidInput(
            f"unknown country {value!r}: use a name (Iran, ایران) or an ISO code (IRN)",
            field=field,
        ) from None
    return str(country.alpha_3)


@dataclass
class Resolution:
    place: Place
    created: list[str] = field(default_factory=list)  # "city Foo (Bar)" for the import report


def _add_aliases(session: Session, place: Place, names: list[str | None]) -> None:
    seen = set(
        session.scalars(select(PlaceAlias.alias).where(PlaceAlias.place_id == place.id)).all()
    )
    for raw in names:
        if not raw:
            continue
        key = normalise(raw)
        if key in seen:
            continue
        taken = session.scalar(
            select(PlaceAlias.place_id).where(
                PlaceAlias.country_code == place.country_code,
                PlaceAlias.kind == place.kind,
                PlaceAlias.alias == key,
            )
        )
        if taken is None:
            session.add(
                PlaceAlias(
                    place_id=place.id, country_code=place.country_code, kind=place.kind, alias=key
                )
            )
            seen.add(key)
    session.flush()


def _find(session: Session, country: str, kind: str, name: str) -> Place | None:
    return session.scalar(
        select(Place)
        .join(PlaceAlias, PlaceAlias.place_id == Place.id)
        .where(
            PlaceAlias.country_code == country,
            PlaceAlias.kind == kind,
            PlaceAlias.alias == normalise(name),
        )
    )


def seed(session: Session) -> int:
    """Create the seeded provinces and cities (idempotent). Returns how many were added."""
    country = seed_data.COUNTRY["code"]
    added = 0
    provinces: dict[str, Place] = {}
    for p in seed_data.PROVINCES:
        place = _find(session, country, "province", p["name_en"])
        if place is None:
            place = Place(
                country_code=country, kind="province", name_en=p["name_en"], name_fa=p["name_fa"]
            )
            session.add(place)
            session.flush()
            added += 1
        _add_aliases(session, place, [p["name_en"], p["name_fa"], *p["aliases"]])
        provinces[p["name_en"]] = place
    for c in seed_data.CITIES:
        place = _find(session, country, "city", c["name_en"])
        if place is None:
            place = Place(
                country_code=country,
                kind="city",
                parent_id=provinces[c["province"]].id,
                name_en=c["name_en"],
                name_fa=c["name_fa"],
                lat=c["lat"],
                lon=c["lon"],
            )
            session.add(place)
            session.flush()
            added += 1
        elif place.lat is None and c["lat"] is not None:  # coordinates added to the seed later
            place.lat, place.lon = c["lat"], c["lon"]
        _add_aliases(session, place, [c["name_en"], c["name_fa"], *c["aliases"]])
    return added


def resolve(
    session: Session, *, country: str, province: str, city: str, create: bool = False
) -> Resolution:
    """Find the city (by any alias). With create=True an unknown city (or province) is added."""
    country = country.strip().upper()
    if not city.strip():
        raise InvalidInput("city is required", field="city")
    if not province.strip():
        raise InvalidInput("province is required", field="province")
    created: list[str] = []
    prov = _find(session, country, "province", province)
    if prov is None:
        if not create:
            raise InvalidInput(f"unknown province {province!r} in {country}", field="province")
        prov = Place(country_code=country, kind="province", name_en=province.strip())
        session.add(prov)
        session.flush()
        _add_aliases(session, prov, [prov.name_en])
        created.append(f"province {prov.name_en}")
    place = _find(session, country, "city", city)
    if place is not None:
        if place.parent_id != prov.id:
            actual = session.get(Place, place.parent_id)
            raise InvalidInput(
                f"city {city!r} is in {actual.name_en if actual else '?'}, not {province!r}",
                field="province",
            )
        return Resolution(place, created)
    if not create:
        raise InvalidInput(f"unknown city {city!r} in {prov.name_en}", field="city")
    place = Place(country_code=country, kind="city", parent_id=prov.id, name_en=city.strip())
    session.add(place)
    session.flush()
    _add_aliases(session, place, [place.name_en])
    created.append(f"city {place.name_en} ({prov.name_en})")
    return Resolution(place, created)


def closest_provinces(session: Session, country: str, name: str, n: int = 3) -> list[str]:
    """The English names of the provinces whose names or aliases look most like ``name``."""
    names: dict[str, str] = {}
    for alias, name_en in session.execute(
        select(PlaceAlias.alias, Place.name_en)
        .join(Place, Place.id == PlaceAlias.place_id)
        .where(PlaceAlias.country_code == country, PlaceAlias.kind == "province")
    ):
        names.setdefault(alias, name_en)
    out: list[str] = []
    for alias in difflib.get_close_matches(normalise(name), list(names), n=n * 3, cutoff=0.6):
        if names[alias] not in out:
            out.append(names[alias])
    return out[:n]


def check(
    session: Session, *, country: str, province: str, city: str, new_provinces: bool = False
) -> list[str]:
    """What would stop ``resolve(create=True)`` from placing this city without inventing a
    province: an unknown province (unless ``new_provinces``), with the closest known names,
    or a known city named under another province. An unknown city under a known province
    is fine (it will be created). Reads only."""
    country = country.strip().upper()
    prov = _find(session, country, "province", province)
    place = _find(session, country, "city", city)
    actual = session.get(Place, place.parent_id) if place is not None else None
    if prov is None:
        if new_provinces and place is None:
            return []
        close = closest_provinces(session, country, province)
        if actual is not None:  # the known city's own province is the best guess
            close = [actual.name_en, *(n for n in close if n != actual.name_en)][:3]
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        if actual is not None:
            hint += f" ({city} is in {actual.name_en})"
        elif not new_provinces:
            hint += " (--create-places adds new provinces)"
        return [f"unknown province {province!r} in {country}{hint}"]
    if place is not None and place.parent_id != prov.id:
        return [f"city {city!r} is in {actual.name_en if actual else '?'}, not {province!r}"]
    return []


@lru_cache(maxsize=8)
def _city_ids_statement(city: bool, province: bool, country: bool) -> Select[Any]:
    """Built once per combination, with bound parameters (building costs more than running)."""
    prov = aliased(Place)
    stmt = select(Place.id).join(prov, prov.id == Place.parent_id).where(Place.kind == "city")
    if country:
        stmt = stmt.where(Place.country_code == bindparam("country"))
    if city:
        stmt = stmt.where(
            Place.id.in_(
                select(PlaceAlias.place_id).where(
                    PlaceAlias.kind == "city", PlaceAlias.alias == bindparam("city")
                )
            )
        )
    if province:
        stmt = stmt.where(
            prov.id.in_(
                select(PlaceAlias.place_id).where(
                    PlaceAlias.kind == "province", PlaceAlias.alias == bindparam("province")
                )
            )
        )
    return stmt


def city_ids_for(
    session: Session,
    *,
    city: str | None = None,
    province: str | None = None,
    country: str | None = None,
) -> list[int] | None:
    """Place ids matching the filters (by alias), or None when there is no place filter."""
    if not (city or province or country):
        return None
    params: dict[str, str] = {}
    if city:
        params["city"] = normalise(city)
    if province:
        params["province"] = normalise(province)
    if country:
        params["country"] = resolve_country(country)
    stmt = _city_ids_statement(bool(city), bool(province), bool(country))
    return list(session.scalars(stmt, params))


@lru_cache(maxsize=1)
def _seeded_cities() -> frozenset[tuple[str, str]]:
    return frozenset((c["name_en"], c["province"]) for c in seed_data.CITIES)


def gazetteer_city_ids(session: Session) -> list[int]:
    """The cities seeded by `archive migrate` (the shipped gazetteer), not the ones that an
    import or a clip created. A seeded name always resolves to the seeded place, so
    (name, province) identifies them."""
    prov = aliased(Place)
    rows = session.execute(
        select(Place.id, Place.name_en, prov.name_en)
        .join(prov, prov.id == Place.parent_id)
        .where(Place.kind == "city", Place.country_code == seed_data.COUNTRY["code"])
    )
    seeded = _seeded_cities()
    return [pid for pid, city, province in rows if (city, province) in seeded]


def list_places(session: Session, ids: list[int] | None = None) -> list[PlaceRead]:
    prov = aliased(Place)
    stmt = (
        select(
            Place.id,
            Place.country_code,
            Place.name_en,
            Place.name_fa,
            prov.name_en,
            prov.name_fa,
            Place.lat,
            Place.lon,
        )
        .join(prov, prov.id == Place.parent_id)
        .where(Place.kind == "city")
        .order_by(Place.name_en)
    )
    if ids is not None:
        stmt = stmt.where(Place.id.in_(ids))
    rows = session.execute(stmt).all()
    aliases: dict[int, list[str]] = {}
    for pid, alias in session.execute(
        select(PlaceAlias.place_id, PlaceAlias.alias).where(PlaceAlias.kind == "city")
    ):
        aliases.setdefault(pid, []).append(alias)
    return [
        PlaceRead(
            id=r[0],
            country=r[1],
            city=r[2],
            city_fa=r[3],
            province=r[4],
            province_fa=r[5],
            lat=r[6],
            lon=r[7],
            aliases=sorted(aliases.get(r[0], [])),
        )
        for r in rows
    ]
