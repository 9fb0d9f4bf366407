"""The map's geometry (no database): the shipped Natural Earth data, the projection that
outline and marks share, and the sizes of the marks."""

from __future__ import annotations

import json
import re

import pytest

from app.places import map as geo
from app.places.map_build import _distance, decode_arcs, rings, simplify
from app.places.seed_data import CITIES

pytestmark = pytest.mark.nodb


def _inside(lon: float, lat: float, ring: list[list[float]]) -> bool:
    """Ray casting: is the point inside the closed ring?"""
    hit = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def test_shipped_data_is_small_and_named() -> None:
    assert geo.DATA.stat().st_size < 150_000
    source = (geo.DATA.parent / "SOURCE.md").read_text("utf-8")
    assert "Natural Earth" in source and "public domain" in source.lower()
    data = geo.geometry()
    assert len(data["outline"]) >= 1 and len(data["borders"]) >= 30  # 31 provinces
    west, south, east, north = data["bbox"]
    assert 43.5 < west < 44.5 and 24.5 < south < 25.5 and 63 < east < 63.6 and 39.5 < north < 40


def _near(lon: float, lat: float, ring: list[list[float]], within: float) -> bool:
    pairs = zip(ring, ring[1:], strict=False)
    return any(_distance((lon, lat), (a[0], a[1]), (b[0], b[1])) < within for a, b in pairs)


def test_every_seeded_city_lies_inside_the_outline() -> None:
    """Inside, or (a port) within 0.02 degrees (2 km) of the simplified coast."""
    outline = geo.geometry()["outline"]
    for c in CITIES:
        lon, lat = c["lon"], c["lat"]
        assert lat is not None and lon is not None, c["name_en"]
        assert any(_inside(lon, lat, r) or _near(lon, lat, r, 0.02) for r in outline), c["name_en"]
    assert not any(_inside(51.5, 41.0, ring) for ring in outline)  # the Caspian, north


def test_tehran_mark_is_where_the_outline_puts_tehran() -> None:
    svg = geo.svg([geo.City("Tehran", 35.6892, 51.389, 5, "Tehran: 5", "/cities/tehran")])
    xs = [float(x) for x in re.findall(r"[ML](-?[\d.]+),", svg.outline)]
    ys = [float(y) for y in re.findall(r",(-?[\d.]+)", svg.outline)]
    (mark,) = svg.marks
    assert min(xs) < mark.x < max(xs) and min(ys) < mark.y < max(ys)
    # Tehran is 38% of the way from Iran's west end to its east end, 28% from the north
    assert 0.33 < (mark.x - min(xs)) / (max(xs) - min(xs)) < 0.43
    assert 0.24 < (mark.y - min(ys)) / (max(ys) - min(ys)) < 0.32
    # the projection: cos(lat0) scaling, one point per degree of latitude is ky units
    p = geo.projection()
    assert p.kx < p.ky and abs(p.kx / p.ky - 0.83) < 0.02
    assert svg.width == 600 and 500 < svg.height < 600


def test_mark_area_follows_the_count() -> None:
    cities = [
        geo.City("A", 35.7, 51.4, 40, "A", "/cities/a"),
        geo.City("B", 29.6, 52.5, 10, "B", "/cities/b"),
        geo.City("C", 38.1, 46.3, 0, "C", "/cities/c"),
    ]
    marks = {m.name: m for m in geo.marks(cities)}
    assert marks["A"].r > marks["B"].r > marks["C"].r
    assert marks["C"].r == geo.R_EMPTY and marks["C"].url is None  # no link to a 404
    assert marks["A"].r == geo.R_MAX
    # area ~ count: (rA - rmin)^2 / (rB - rmin)^2 == 40 / 10
    ratio = ((marks["A"].r - geo.R_MIN) / (marks["B"].r - geo.R_MIN)) ** 2
    assert abs(ratio - 4) < 0.1
    assert [m.name for m in geo.marks(cities)] == ["A", "B", "C"]  # big first, small on top


def test_build_decodes_topojson_and_simplifies() -> None:
    topo = {
        "transform": {"scale": [0.5, 0.5], "translate": [10, 20]},
        "arcs": [[[0, 0], [2, 0], [0, 2]], [[2, 2], [-2, 0], [0, -2]]],
    }
    arcs = decode_arcs(topo)
    assert arcs[0] == [(10, 20), (11, 20), (11, 21)]
    (ring,) = rings(arcs, {"type": "Polygon", "arcs": [[0, 1]]})
    assert ring == [(10, 20), (11, 20), (11, 21), (10, 21), (10, 20)]
    line = [(0.0, 0.0), (1.0, 0.001), (2.0, 0.0), (3.0, 1.0)]
    assert simplify(line, 0.01) == [(0.0, 0.0), (2.0, 0.0), (3.0, 1.0)]
    json.dumps(geo.geometry())  # plain JSON
