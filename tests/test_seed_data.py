"""Checks on the Place seed data (no database needed)."""

import csv
import unicodedata
from pathlib import Path

import pytest

from app.places.seed_data import CITIES, COUNTRY, PROVINCES

ZWNJ = "\u200c"


def _archive_csv() -> Path:
    shipped = Path(__file__).resolve().parents[1] / "app" / "demo" / "protest-archive-2019.csv"
    if shipped.exists():
        return shipped
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "protest-archive-2019.csv"


def _archive_rows() -> list[dict[str, str]]:
    path = _archive_csv()
    if not path.exists():
        pytest.skip(f"archive CSV not found at {path}")
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _is_persian_name(text: str) -> bool:
    if not text or text != text.strip():
        return False
    for ch in text:
        if ch in (" ", ZWNJ):
            continue
        if not (unicodedata.category(ch).startswith("L") and "ARABIC" in unicodedata.name(ch, "")):
            return False
    return True


def _all_labels(places: list) -> list[str]:
    labels: list[str] = []
    for place in places:
        labels.append(place["name_en"])
        labels.extend(place["aliases"])
    return labels


def _duplicates(labels: list[str]) -> set[str]:
    seen: set[str] = set()
    dups: set[str] = set()
    for label in labels:
        key = label.casefold()
        if key in seen:
            dups.add(label)
        seen.add(key)
    return dups


def test_country() -> None:
    assert COUNTRY["code"] == "IRN"
    assert COUNTRY["name_en"] == "Iran"
    assert _is_persian_name(COUNTRY["name_fa"])


def test_archive_csv_shape() -> None:
    rows = _archive_rows()
    assert len(rows) == 103
    assert len({r["city"] for r in rows}) == 25
    assert len({r["province"] for r in rows}) == 11


def test_every_archive_province_present_by_exact_name() -> None:
    names = {p["name_en"] for p in PROVINCES}
    missing = {r["province"] for r in _archive_rows()} - names
    assert not missing


def test_every_archive_city_present_with_its_province() -> None:
    by_name = {c["name_en"]: c for c in CITIES}
    for row in _archive_rows():
        assert row["city"] in by_name, row["city"]
        assert by_name[row["city"]]["province"] == row["province"], row["city"]


def test_all_31_provinces() -> None:
    assert len(PROVINCES) == 31


def test_every_city_province_exists() -> None:
    names = {p["name_en"] for p in PROVINCES}
    for city in CITIES:
        assert city["province"] in names, city["name_en"]


def test_every_province_has_a_city() -> None:
    with_city = {c["province"] for c in CITIES}
    assert {p["name_en"] for p in PROVINCES} <= with_city


@pytest.mark.parametrize("place", [*PROVINCES, *CITIES], ids=lambda p: p["name_en"])
def test_name_fa_is_persian_script(place: dict) -> None:
    assert _is_persian_name(place["name_fa"]), place["name_fa"]


@pytest.mark.parametrize("place", [*PROVINCES, *CITIES], ids=lambda p: p["name_en"])
def test_latin_names_are_clean(place: dict) -> None:
    for label in [place["name_en"], *place["aliases"]]:
        assert label and label == label.strip()
        assert label.isascii(), label


def test_no_duplicate_province_names_or_aliases() -> None:
    assert not _duplicates(_all_labels(PROVINCES))


def test_no_duplicate_city_names_or_aliases() -> None:
    assert not _duplicates(_all_labels(CITIES))


def test_no_duplicate_persian_names_within_level() -> None:
    assert not _duplicates([p["name_fa"] for p in PROVINCES])
    assert not _duplicates([c["name_fa"] for c in CITIES])


def test_coordinates_inside_iran() -> None:
    for city in CITIES:
        lat, lon = city["lat"], city["lon"]  # every city: the map draws each one
        assert lat is not None and lon is not None, city["name_en"]
        assert isinstance(lat, float) and isinstance(lon, float), city["name_en"]
        assert 25.0 <= lat <= 40.0, city["name_en"]
        assert 44.0 <= lon <= 64.0, city["name_en"]
