"""The map of Iran as inline SVG: the country outline, the province borders and one mark
per city (its area proportional to a count), all in one equirectangular projection.

Pure functions, no database: callers pass the cities (with lat/lon) and their counts.
The geometry is app/places/iran_map.json (Natural Earth, public domain; SOURCE.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("iran_map.json")
WIDTH = 600.0  # the SVG's viewBox width; the height follows from the projection
PAD = 8.0
R_MIN, R_MAX, R_EMPTY = 3.0, 22.0, 1.6


@dataclass(frozen=True)
class Projection:
    west: float
    north: float
    kx: float  # viewBox units per degree of longitude (cos(lat0) scaled)
    ky: float  # per degree of latitude
    width: float
    height: float

    def __call__(self, lat: float, lon: float) -> tuple[float, float]:
        return (PAD + (lon - self.west) * self.kx, PAD + (self.north - lat) * self.ky)


@lru_cache(maxsize=1)
def geometry() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text("utf-8"))
    return data


@lru_cache(maxsize=1)
def projection() -> Projection:
    west, south, east, north = geometry()["bbox"]
    lat0 = math.radians((south + north) / 2)
    ky = (WIDTH - 2 * PAD) / ((east - west) * math.cos(lat0))
    kx = ky * math.cos(lat0)
    return Projection(west, north, kx, ky, WIDTH, (north - south) * ky + 2 * PAD)


def _path(lines: list[list[list[float]]], close: bool) -> str:
    project = projection()
    parts: list[str] = []
    for line in lines:
        points = [project(lat, lon) for lon, lat in line]
        head = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(head + ("Z" if close else ""))
    return "".join(parts)


@lru_cache(maxsize=1)
def outline_path() -> str:
    return _path(geometry()["outline"], close=True)


@lru_cache(maxsize=1)
def borders_path() -> str:
    return _path(geometry()["borders"], close=False)


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    r: float
    count: int
    name: str
    title: str
    url: str | None  # None: nothing to link to (no clips)
    detail: str = ""  # e.g. per-state counts on the team map


def radius(count: int, largest: int) -> float:
    """Area proportional to the count: r grows with its square root."""
    if count <= 0 or largest <= 0:
        return R_EMPTY
    return R_MIN + (R_MAX - R_MIN) * math.sqrt(count / largest)


@dataclass(frozen=True)
class City:
    name: str
    lat: float
    lon: float
    count: int
    title: str
    url: str | None
    detail: str = ""


def marks(cities: list[City]) -> list[Mark]:
    """Big marks first, so that small ones are drawn on top and stay clickable."""
    project = projection()
    largest = max((c.count for c in cities), default=0)
    out = []
    for c in cities:
        x, y = project(c.lat, c.lon)
        url = c.url if c.count > 0 else None
        r = radius(c.count, largest)
        out.append(
            Mark(round(x, 1), round(y, 1), round(r, 1), c.count, c.name, c.title, url, c.detail)
        )
    return sorted(out, key=lambda m: (-m.r, m.name))


@dataclass(frozen=True)
class Svg:
    width: float
    height: float
    outline: str
    borders: str
    marks: list[Mark]


def svg(cities: list[City]) -> Svg:
    p = projection()
    return Svg(round(p.width, 1), round(p.height, 1), outline_path(), borders_path(), marks(cities))
