"""Never leak through the map: the public map's counts are published clips only, and a
city that only unpublished records created never gets a mark (even with coordinates)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import session_scope
from tests.public.test_leaks import CANARY, _plant_places

HTML = {"accept": "text/html"}
MARK = re.compile(r'<a href="([^"]+)" class="map-link" data-count="(\d+)"><title>([^<]+)</title>')


def _counts(html: str) -> dict[str, int]:
    return {url: int(n) for url, n, _ in MARK.findall(html)}


def test_public_map_reveals_no_unpublished_count(
    client: TestClient, demo: int, add_clip: Callable[..., str], make_user: Callable[..., object]
) -> None:
    from app.places.models import Place
    from tests.public.conftest import set_status

    before = {p: client.get(f"{p}/map", headers=HTML).text for p in ("", "/fa")}
    tabriz = _counts(before[""]).get("/cities/tabriz", 0)
    # unpublished clips everywhere: in a city with published clips, in one without any,
    # and in two cities that only unpublished records created (given coordinates here)
    for status in ("draft", "submitted", "in_review", "needs_info", "verified", "rejected"):
        add_clip(status=status, title_en=f"{CANARY} {status}", city="Tabriz",
                 province="East Azerbaijan")  # fmt: skip
        add_clip(status=status, city="Kerman", province="Kerman")
    retracted = add_clip(city="Tabriz", province="East Azerbaijan")
    set_status(retracted, "retracted")
    _plant_places()
    with session_scope() as session:
        for place in session.scalars(select(Place).where(Place.name_en.contains(CANARY))):
            place.lat, place.lon = 32.0, 54.0
    from app.public import cache

    cache.clear()  # (unpublished records do not move the change log: no stale page here)
    for prefix in ("", "/fa"):
        page = client.get(f"{prefix}/map", headers=HTML).text
        assert CANARY not in page
        assert _counts(page) == _counts(before[prefix]), prefix  # the same marks, counts
        assert page.count("<circle") == before[prefix].count("<circle"), prefix
        home = client.get(f"{prefix}/", headers=HTML).text
        assert CANARY not in home
    page = client.get("/map", headers=HTML).text
    assert _counts(page).get("/cities/tabriz", 0) == tabriz
    assert '/cities/kerman"' not in page and "Kerman: no published clips" in page
    # control: the team map does count them (so only the public query keeps them out)
    team = make_user("reviewer")
    dash = client.get("/team/", headers={**HTML, **team.headers})  # type: ignore[attr-defined]
    team_counts = _counts(dash.text.replace("&amp;", "&"))
    assert team_counts["/team/queue?city=Kerman"] == 6
    assert team_counts["/team/queue?city=Tabriz"] == tabriz + 7
    assert f"/team/queue?city={CANARY}abad" in team_counts
