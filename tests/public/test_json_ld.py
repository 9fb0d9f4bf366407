"""The clip page's JSON-LD, checked against the schema.org vocabulary (a subset shipped in
tests/data/schemaorg_subset.json: no internet): every property exists, applies to its
object's type, and its value fits the property's range."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.public.conftest import MediaClip

VOCAB = json.loads((Path(__file__).parents[1] / "data" / "schemaorg_subset.json").read_text())
HTML = {"accept": "text/html"}


def ancestors(cls: str) -> set[str]:
    out = {cls}
    for parent in VOCAB["classes"][cls]:
        out |= ancestors(parent)
    return out


def fits(value: Any, ranges: list[str]) -> bool:
    if isinstance(value, dict):
        return bool(ancestors(value["@type"]) & set(ranges))
    if isinstance(value, bool):
        return "Boolean" in ranges
    if isinstance(value, int | float):
        return bool({"Number", "Integer", "Distance", "QuantitativeValue"} & set(ranges))
    text = str(value)
    if "Date" in ranges and re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        return True
    if "DateTime" in ranges and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+([+-]\d\d:\d\d|Z)?", text):
        return True
    if "URL" in ranges and text.startswith(("http://", "https://")):
        return True
    return bool({"Text", "URL", "Duration", "Country"} & set(ranges))


def validate(node: dict[str, Any], path: str = "$") -> list[str]:
    problems: list[str] = []
    cls = node["@type"]
    if cls not in VOCAB["classes"]:
        return [f"{path}: unknown type {cls}"]
    for key, value in node.items():
        if key.startswith("@"):
            continue
        prop = VOCAB["properties"].get(key)
        if prop is None:
            problems.append(f"{path}.{key}: not a schema.org property")
        elif not ancestors(cls) & set(prop["domains"]):
            problems.append(f"{path}.{key}: does not apply to {cls}")
        elif not fits(value, prop["ranges"]):
            problems.append(f"{path}.{key}: {value!r} is not one of {prop['ranges']}")
        if isinstance(value, dict):
            problems += validate(value, f"{path}.{key}")
    return problems


def json_ld(client: TestClient, url: str) -> dict[str, Any]:
    page = client.get(url, headers=HTML)
    assert page.status_code == 200
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page.text, re.S)
    assert found, "no JSON-LD on the page"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_the_validator_catches_a_wrong_property() -> None:
    assert validate({"@type": "VideoObject", "nonsense": 1})
    assert validate({"@type": "Place", "duration": "PT1M"})  # a VideoObject property
    assert not validate({"@type": "VideoObject", "duration": "PT1M"})


def test_uncertain_date_is_an_iso_interval_with_the_edtf_kept(
    client: TestClient, demo: int
) -> None:
    data = json_ld(client, "/clips/IRN091")  # 15 – 23 Nov 2019
    assert data["@context"] == "https://schema.org" and data["@type"] == "VideoObject"
    assert validate(data) == []
    assert data["temporalCoverage"] == "2019-11-15/2019-11-23"
    start, end = (date.fromisoformat(d) for d in data["temporalCoverage"].split("/"))
    assert start < end
    assert data["temporal"] == "2019-11-15/2019-11-23"  # the EDTF
    assert "dateCreated" not in data  # the day is not known


def test_an_approximate_day_is_an_interval_and_no_date_created(
    client: TestClient, add_clip: Callable[..., str]
) -> None:
    code = add_clip(date="Nov 2019")
    data = json_ld(client, f"/clips/{code}")
    assert validate(data) == []
    assert data["temporalCoverage"] == "2019-11-01/2019-11-30"
    assert data["temporal"] == "2019-11" and "dateCreated" not in data


def test_a_known_day_is_the_date_created_with_sha256_and_thumbnail(
    client: TestClient, media_clip: MediaClip
) -> None:
    data = json_ld(client, f"/clips/{media_clip.code}")  # 16 Nov 2019
    assert validate(data) == []
    assert data["dateCreated"] == "2019-11-16" == data["temporalCoverage"]
    assert data["temporal"] == "2019-11-16"
    assert data["sha256"] == media_clip.sha256
    assert data["thumbnailUrl"].endswith(f"/clips/{media_clip.code}/poster.jpg")
    assert client.get(data["thumbnailUrl"].split("8000", 1)[1]).status_code == 200
    fa = json_ld(client, f"/fa/clips/{media_clip.code}")
    assert validate(fa) == [] and fa["inLanguage"] == "fa"
