"""The team map's data: every city with coordinates, its marks sized by the clips in one
state (or in every state), the per-state counts in each mark's title. Team pages only:
unpublished clips are counted here."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app.clips import repository
from app.clips.models import STATUSES
from app.i18n import digits, translate
from app.places import map as geo
from app.places import service as places


def team_map(session: Session, lang: str, prefix: str, state: str | None = None) -> geo.Svg:
    by_city: dict[int, dict[str, int]] = {}
    for place_id, status, n in repository.city_status_counts(session):
        by_city.setdefault(place_id, {})[status] = int(n)
    cities = []
    for p in places.list_places(session):
        if p.lat is None or p.lon is None:
            continue
        counts = by_city.get(p.id, {})
        n = counts.get(state, 0) if state else sum(counts.values())
        name = (p.city_fa or p.city) if lang == "fa" else p.city
        detail = ", ".join(
            f"{translate(lang, 'team.status.' + s)} {digits(lang, counts[s])}"
            for s in STATUSES
            if counts.get(s)
        )
        title = translate(lang, "map.team.mark", city=name, n=n)
        if detail:
            title += f" ({detail})"
        query = {"city": p.city, **({"state": state} if state else {})}
        url = f"{prefix}/team/queue?{urlencode(query)}"
        cities.append(geo.City(name, p.lat, p.lon, n, title, url, detail))
    return geo.svg(cities)
