"""The public map's data: the cities anyone may see (the seeded gazetteer and the cities
of published clips) that have coordinates, each with its count of PUBLISHED clips."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.i18n import translate, translate_plural
from app.places import map as geo
from app.places import service as places
from app.public import cache, pages, repository, service


def mark_title(lang: str, name: str, n: int) -> str:
    if n == 0:
        return translate(lang, "map.mark.none", city=name)
    return translate_plural(lang, "map.mark", n, city=name)  # Babel's plural rules


def public_map(session: Session, lang: str, prefix: str) -> geo.Svg:
    counts = {
        r.id: int(r.clips)
        for r in cache.cached(session, "city_counts", lambda: repository.city_counts(session))
    }
    cities = []
    for p in places.list_places(session, ids=service.public_city_ids(session)):
        if p.lat is None or p.lon is None:
            continue
        name = pages.pick(lang, p.city, p.city_fa)
        n = counts.get(p.id, 0)
        url = f"{prefix}/cities/{pages.slugify(p.city)}"
        cities.append(geo.City(name, p.lat, p.lon, n, mark_title(lang, name, n), url))
    return geo.svg(cities)
