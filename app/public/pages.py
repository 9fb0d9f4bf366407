"""View models for the public HTML pages: cities, slugs, cards, citations, JSON-LD."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from app.clips import search
from app.kit.dates import to_persian_digits
from app.public import service
from app.public.service import Enriched

_FA_ALPHABET = "اآأإبپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكئ"
_FA_ORDER = {ch: i for i, ch in enumerate(_FA_ALPHABET)}


def slugify(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "city"


def fa_sort_key(text: str) -> list[int]:
    """Persian alphabetical order (Unicode order puts پ چ ژ گ after the Arabic letters)."""
    return [_FA_ORDER.get(ch, 1000 + ord(ch)) for ch in text]


@dataclass
class CityEntry:
    slug: str
    name: str
    province: str
    province_slug: str
    clips: int


def city_entries(rows: list[Any], lang: str) -> list[CityEntry]:
    out = [
        CityEntry(
            slug=slugify(r.name_en),
            name=(r.name_fa or r.name_en) if lang == "fa" else r.name_en,
            province=(r.province_fa or r.province) if lang == "fa" else r.province,
            province_slug=slugify(r.province),
            clips=int(r.clips),
        )
        for r in rows
    ]
    key = (lambda c: fa_sort_key(c.name)) if lang == "fa" else (lambda c: c.name.casefold())
    return sorted(out, key=key)


def group_by_province(entries: list[CityEntry], lang: str) -> list[tuple[str, list[CityEntry]]]:
    groups: dict[str, list[CityEntry]] = {}
    for e in entries:
        groups.setdefault(e.province, []).append(e)
    key = (lambda p: fa_sort_key(p)) if lang == "fa" else (lambda p: p.casefold())
    return [(p, groups[p]) for p in sorted(groups, key=key)]


@dataclass
class Card:
    code: str
    url: str
    title: str
    city: str
    city_slug: str
    province: str
    date: str
    poster_url: str | None
    has_media: bool
    graphic: bool
    people: bool = False  # identifiable people
    title_html: Markup | None = None  # the title with the search's words in <mark>
    city_html: Markup | None = None

    @property
    def flagged(self) -> bool:
        """Its images wait behind the content warning (graphic violence, identifiable
        people); an unflagged clip's images show at once."""
        return self.graphic or self.people

    @property
    def gated(self) -> bool:
        return self.poster_url is not None and self.flagged


_TOKEN = re.compile(r"[^\W_]+")


def highlight(text: str, words: list[str] | tuple[str, ...]) -> Markup:
    """``text`` escaped, with every word that a search matched in <mark> (the last search
    word as a prefix, like the engine; letter variants and case compared normalised)."""
    if not words:
        return Markup(escape(text))
    *whole, last = words
    out: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        token = search.normalise(m.group())
        out.append(str(escape(text[pos : m.start()])))
        if token in whole or token.startswith(last):
            out.append(f"<mark>{escape(m.group())}</mark>")
        else:
            out.append(str(escape(m.group())))
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def marked(cards: list[Card], words: list[str]) -> list[Card]:
    for c in cards:
        c.title_html, c.city_html = highlight(c.title, words), highlight(c.city, words)
    return cards


def pick(lang: str, en: str | None, fa: str | None) -> str:
    if lang == "fa":
        return fa or en or ""
    return en or fa or ""


def card(item: Enriched, lang: str, prefix: str) -> Card:
    r = item.row
    return Card(
        code=r.code,
        url=f"{prefix}/clips/{r.code}",
        title=pick(lang, r.title_en, r.title_fa) or r.code,
        city=pick(lang, r.city, r.city_fa),
        city_slug=slugify(r.city),
        province=pick(lang, r.province, r.province_fa),
        date=r.date_display_fa if lang == "fa" else r.date_display_en,
        poster_url=f"/clips/{r.code}/poster.jpg" if item.has_poster else None,
        has_media=item.media is not None,
        graphic=bool(r.graphic_violence),
        people=bool(r.identifiable_people),
    )


def citation(item: Enriched, lang: str, site_name: str) -> str:
    r = item.row
    title = pick(lang, r.title_en, r.title_fa) or r.code
    date = r.date_display_fa if lang == "fa" else r.date_display_en
    place = f"{pick(lang, r.city, r.city_fa)}, {pick(lang, r.province, r.province_fa)}"
    holder = f" {r.source}." if r.source else ""
    text = f"“{title}”, {place}, {date}.{holder} {site_name}."
    if lang == "fa":
        text = to_persian_digits(text)
    return f"{text} {r.code}. {service.permalink(r.code, lang)}"


def _iso_duration(seconds: float | None) -> str | None:
    if not seconds:
        return None
    total = int(round(seconds))
    return f"PT{total // 3600}H{total % 3600 // 60}M{total % 60}S"


def _dates(r: Any) -> dict[str, str]:
    """When it was filmed: ``temporalCoverage`` as an ISO 8601 interval (``2019-11-15/
    2019-11-23``, or one day) that schema.org consumers read, ``dateCreated`` only when the
    day is known, and the EDTF itself (``2019-11-1X``, ``2019-11-16?``) in ``temporal``,
    schema.org's free-text temporal property."""
    earliest, latest = r.date_earliest, r.date_latest
    out: dict[str, str] = {}
    if earliest is not None and latest is not None:
        same = earliest == latest
        out["temporalCoverage"] = (
            earliest.isoformat() if same else f"{earliest.isoformat()}/{latest.isoformat()}"
        )
        if same and not any(ch in (r.date_edtf or "") for ch in "?~%"):
            out["dateCreated"] = earliest.isoformat()
    if r.date_edtf:
        out["temporal"] = r.date_edtf
    return out


def json_ld(item: Enriched, lang: str) -> str:
    """schema.org VideoObject; safe to put inside <script> (no '<' survives)."""
    r = item.row
    base = service.base_url()
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "identifier": r.code,
        "name": pick(lang, r.title_en, r.title_fa) or r.code,
        "description": pick(lang, r.description_en, r.description_fa)
        or pick(lang, r.title_en, r.title_fa)
        or r.code,
        "url": service.permalink(r.code, lang),
        "inLanguage": lang,
        "contentLocation": {
            "@type": "Place",
            "name": f"{r.city}, {r.province}",
            "address": {
                "@type": "PostalAddress",
                "addressLocality": r.city,
                "addressRegion": r.province,
                "addressCountry": r.country_code,
            },
        },
        **_dates(r),
    }
    if r.published_at is not None:
        data["uploadDate"] = r.published_at.date().isoformat()  # range Date (schema.org)
    if r.source:
        data["provider"] = {"@type": "Organization", "name": r.source}
    if item.has_poster:
        data["thumbnailUrl"] = f"{base}/clips/{r.code}/poster.jpg"
    elif item.media is not None and item.keyframes:
        data["thumbnailUrl"] = f"{base}/clips/{r.code}/keyframes/{item.keyframes[0].position}.jpg"
    if item.media is not None:
        data["sha256"] = item.media.sha256  # the original's (the evidence), not the copy's
        if item.has_playback:
            data["contentUrl"] = f"{base}/clips/{r.code}/playback.mp4"
            data["encodingFormat"] = "video/mp4"
        if duration := _iso_duration(item.media.duration):
            data["duration"] = duration
        if item.media.width and item.media.height:
            data["width"] = item.media.width
            data["height"] = item.media.height
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
