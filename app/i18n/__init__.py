"""Translations shared by the team interface and the public site.

Each language is a folder (`en/`, `fa/`) of JSON files, one per area (common, team, public),
merged into one catalogue; keys map to strings with {placeholders}. A missing Farsi key falls
back to English (tests check that every English key has a Farsi translation).
"""

from __future__ import annotations

import datetime
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale

from app.kit.dates import solar_hijri_display, to_persian_digits

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


@lru_cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_key(lang: str, key: str, n: int) -> str:
    """`key.one`, `key.other` (or another CLDR category) by the language's plural rules,
    falling back to `key.other` when the language has no string for that category."""
    form = _locale(lang).plural_form(abs(n))
    for candidate in (f"{key}.{form}", f"{key}.other"):
        if candidate in catalogue(lang) or candidate in catalogue("en"):
            return candidate
    return key


def translate_plural(lang: str, key: str, n: int, **values: Any) -> str:
    """A count sentence ("1 clip", "2 clips", "۱ ویدیو"): `n` is the count and is also
    available to the string as {n}."""
    return translate(lang, plural_key(lang, key, n), n=n, **values)


def _as_date(value: object) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and value:
        return datetime.date.fromisoformat(value[:10])
    return None


def format_date(lang: str, value: object) -> str:
    """A day as each language writes it: Solar Hijri in Persian digits in Farsi
    ("۲۵ آبان ۱۳۹۸"), ISO in English ("2019-11-16"); "" for None."""
    day = _as_date(value)
    if day is None:
        return ""
    return solar_hijri_display(day) if lang == "fa" else day.isoformat()


def format_datetime(lang: str, value: object) -> str:
    """A moment (UTC) as date and time: "۲۵ آبان ۱۳۹۸، ۱۴:۳۰" / "2019-11-16 14:30"."""
    if not isinstance(value, datetime.datetime):
        return format_date(lang, value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    clock = value.strftime("%H:%M")
    if lang == "fa":
        return f"{solar_hijri_display(value.date())}، {to_persian_digits(clock)}"
    return f"{value.date().isoformat()} {clock}"


def error_text(lang: str, code: str, detail: str) -> str:
    """What a person reads about a refusal: the error's own (English) message in English,
    the translation of its stable code in Farsi (the English message names fields and
    values in English)."""
    if lang == "en":
        return detail
    return (
        translate(lang, f"err.{code}")
        if f"err.{code}" in catalogue(lang)
        else (translate(lang, "err.generic"))
    )


# the review service's refusals (app/review/transitions.py, service.py) are English
# sentences; a Farsi page shows the translation of the rule behind each one
_REFUSALS = {
    "nobody may verify a clip they uploaded (its record)": "err.refusal.own_record",
    "nobody may verify a clip whose footage they uploaded": "err.refusal.own_footage",
    "only the clip's uploader or a reviewer may do this": "err.refusal.owner_or_reviewer",
    "this needs a reviewer or an admin": "err.refusal.reviewer",
    "publishing needs an admin or a reviewer with publishing rights": "err.refusal.publisher",
    "only an admin may do this": "err.refusal.admin",
}


def refusal_text(lang: str, reason: str | None) -> str:
    if lang == "en" or not reason:
        return reason or ""
    if reason.startswith("cannot verify yet"):
        return translate(lang, "err.refusal.not_ready")
    return translate(lang, _REFUSALS.get(reason, "err.generic"))


def custody_note(lang: str, note: str) -> str:
    """A note the system wrote into the custody log ("approved by a, b") in the page's
    language; a person's own note is shown as written."""
    if lang != "en" and note.startswith("approved by "):
        return translate(lang, "custody.note.approved_by", who=note.removeprefix("approved by "))
    return note
