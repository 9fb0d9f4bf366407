"""The map pages: /map and /fa/map (published counts only), the home page's small map,
the sitemap, and the team dashboard's map (every state, team only)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

HTML = {"accept": "text/html"}
MARK = re.compile(
    r'<a href="([^"]+)" class="map-link" data-count="(\d+)"><title>([^<]+)</title>'
    r'<circle class="map-mark" cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)"/>'
)
EMPTY = re.compile(r'<circle class="map-empty" [^>]*r="([\d.]+)" data-count="0"><title>([^<]+)<')


def _marks(html: str) -> dict[str, tuple[int, str, float]]:
    """url -> (count, title, radius)"""
    return {m[0]: (int(m[1]), m[2], float(m[5])) for m in MARK.findall(html)}


def test_map_page_marks_published_counts(client: TestClient, demo: int) -> None:
    r = client.get("/map", headers=HTML)
    assert r.status_code == 200 and "<svg" in r.text and "<script src" not in r.text
    assert 'class="map-land"' in r.text and 'class="map-borders"' in r.text
    assert "Natural Earth" in r.text
    marks = _marks(r.text)
    cities = client.get("/cities", headers=HTML).text
    city_count = r'<a href="(/cities/[^"]+)">[^<]+</a>[^\n]*\n\s*<span class="count">(\d+)'
    listed = dict(re.findall(city_count, cities))
    # every city with published clips has a mark with the city page's count
    assert listed and {u: str(m[0]) for u, m in marks.items() if u in listed} == listed
    assert sum(m[0] for m in marks.values()) == demo  # every demo city has coordinates
    assert marks["/cities/shiraz"][1] == f"Shiraz: {marks['/cities/shiraz'][0]} published clips"
    # the mark links to the city page, which exists
    assert client.get("/cities/shiraz", headers=HTML).status_code == 200
    # bigger count, bigger mark; cities without clips: a faint dot, no link
    by_count = sorted(marks.values())
    assert by_count[0][2] < by_count[-1][2]
    empty = EMPTY.findall(r.text)
    assert empty and all(float(rad) < by_count[0][2] for rad, _ in empty)
    assert all(title.endswith("no published clips") for _, title in empty)


def test_farsi_map_has_persian_names_and_digits(client: TestClient, demo: int) -> None:
    r = client.get("/fa/map", headers=HTML)
    assert r.status_code == 200 and '<html lang="fa" dir="rtl">' in r.text
    marks = _marks(r.text)
    count, title, _ = marks["/fa/cities/shiraz"]
    digits = str(count).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert title == f"شیراز: {digits} ویدیوی منتشرشده"
    assert not re.search(r"[0-9]", title)
    assert client.get("/fa/cities/shiraz", headers=HTML).status_code == 200
    en = client.get("/map", headers=HTML)
    assert [m[0] for m in marks.values()] == [m[0] for m in _marks(en.text).values()]
    assert '<link rel="alternate" hreflang="en" href="http://127.0.0.1:8000/map">' in r.text


def test_unpublished_clips_do_not_count_on_the_public_map(
    client: TestClient, add_clip: Callable[..., str]
) -> None:
    add_clip(city="Shiraz", province="Fars")
    for status in ("in_review", "verified", "draft", "retracted"):
        add_clip(status=status, city="Shiraz", province="Fars")
        add_clip(status=status, city="Tabriz", province="East Azerbaijan")
    marks = _marks(client.get("/map", headers=HTML).text)
    assert list(marks) == ["/cities/shiraz"] and marks["/cities/shiraz"][0] == 1
    assert "Tabriz: no published clips" in client.get("/map", headers=HTML).text


def test_home_shows_the_small_map_linking_to_map(client: TestClient, demo: int) -> None:
    for prefix in ("", "/fa"):
        home = client.get(f"{prefix}/", headers=HTML).text
        assert 'data-testid="map-small"' in home
        assert f'<a href="{prefix}/map" aria-label=' in home
        small = home.split('data-testid="home-map"')[1].split("</svg>")[0]
        assert "<a " not in small  # no link inside the link
        assert 'class="map-mark"' in small


def test_sitemap_lists_the_map(client: TestClient, demo: int) -> None:
    body = client.get("/sitemap.xml").text
    assert "<loc>http://127.0.0.1:8000/map</loc>" in body
    assert "<loc>http://127.0.0.1:8000/fa/map</loc>" in body


def test_team_dashboard_map_counts_every_state(
    client: TestClient, add_clip: Callable[..., str], make_user: Callable[..., object]
) -> None:
    add_clip(city="Shiraz", province="Fars")
    add_clip(status="in_review", city="Shiraz", province="Fars")
    add_clip(status="in_review", city="Tabriz", province="East Azerbaijan")
    add_clip(status="in_review", city="Tabriz", province="East Azerbaijan")
    team = make_user("reviewer")
    headers = {**HTML, **team.headers}  # type: ignore[attr-defined]
    dash = client.get("/team/", headers=headers)
    assert dash.status_code == 200 and 'data-testid="team-map"' in dash.text
    marks = _marks(dash.text.replace("&amp;", "&"))
    assert marks["/team/queue?city=Tabriz"][0] == 2
    assert marks["/team/queue?city=Shiraz"][1] == "Shiraz: 2 (In review 1, Published 1)"
    only = _marks(client.get("/team/?state=in_review", headers=headers).text.replace("&amp;", "&"))
    assert only["/team/queue?city=Tabriz&state=in_review"][0] == 2
    assert only["/team/queue?city=Shiraz&state=in_review"][0] == 1
    assert "/team/queue?city=Shiraz&state=published" not in only
    fa = client.get("/fa/team/?state=in_review", headers=headers).text
    assert "/fa/team/queue?city=Tabriz&amp;state=in_review" in fa and "تبریز: ۲" in fa
    assert client.get("/team/?state=nope", headers=headers).status_code == 422
    # the public map, meanwhile, counts the published one only
    public = _marks(client.get("/map", headers=HTML).text)
    assert {u: m[0] for u, m in public.items()} == {"/cities/shiraz": 1}
    assert client.get("/team/", headers=HTML, follow_redirects=False).status_code in (303, 401)


def test_seed_fills_coordinates_added_to_the_seed_later(db_url: str) -> None:
    from sqlalchemy import select

    from app.db import session_scope
    from app.places.models import Place
    from app.places.service import seed

    with session_scope() as session:
        place = session.scalar(select(Place).where(Place.name_en == "Sadra"))
        assert place is not None and place.lat is not None
        place.lat = place.lon = None
    with session_scope() as session:
        assert seed(session) == 0
    with session_scope() as session:
        place = session.scalar(select(Place).where(Place.name_en == "Sadra"))
        assert place is not None and (place.lat, place.lon) == (29.7956, 52.4936)
