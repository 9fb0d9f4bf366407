"""Translations shared by the team interface and the public site.

Each language is a folder (`en/`, `fa/`) of JSON files, one per area (common, team, public),
merged into one catalogue; keys map to strings with {placeholders}. A missing Farsi key falls
back to English (tests check that every English key has a Farsi translation).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.kit.dates import to_persian_digits

LANGS = ("en", "fa")
RTL = {"fa"}
_DIR = Path(__file__).parent


@lru_cache
def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for path in sorted((_DIR / lang).glob("*.json")):
        for key, value in json.loads(path.read_text("utf-8")).items():
            if key in data:
                raise ValueError(f"translation key {key!r} is defined twice ({path.name})")
            data[key] = value
    return data


def translate(lang: str, key: str, **values: Any) -> str:
    text = catalogue(lang).get(key) or catalogue("en").get(key) or key
    if values:
        if lang == "fa":
            values = {
                k: to_persian_digits(str(v)) if isinstance(v, int) else v for k, v in values.items()
            }
        text = text.format(**values)
    return text


def direction(lang: str) -> str:
    return "rtl" if lang in RTL else "ltr"


def digits(lang: str, value: object) -> str:
    text = str(value)
    return to_persian_digits(text) if lang == "fa" else text
