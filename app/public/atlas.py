"""The public map's data: the cities anyone may see (the seeded gazetteer and the cities
of published clips) that have coordinates, each with its count of PUBLISHED clips."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.i18n import translate
from app.places import map as geo
from app.places import service as places
from app.public import cache, pages, repository, service


def mark_title(lang: str, name: str, n: int) -> str:
    key = "map.mark.none" if n == 0 else "map.mark.one" if n == 1 else "map.mark.many"
    return translate(lang, key, city=name, n=n)


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
