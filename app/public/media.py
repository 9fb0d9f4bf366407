"""Public media (playback copy, poster, keyframes), the sitemap and robots.txt.

Media of a clip is served only while the clip is published: a retracted, unpublished or
unknown clip is a 404 for every file. The original is never served here; the playback copy
is a separate, metadata-stripped derivative (app/public/playback.py). Files come from the
storage backend (app/web/stored.py: Range with 206 and 416 on both backends), or with
``ARCHIVE_S3_PRESIGN`` on S3 are a 307 to a short-lived presigned URL of the store.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from app.accounts.deps import Anyone
from app.config import get_settings
from app.errors import NotFound
from app.public import cache, iiif, pages, repository, service, sources
from app.web.session import SessionDep, UnitOfWorkRoute
from app.web.stored import public_response

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

SITEMAP_MAX_CLIPS = 24_000  # two URLs (en, fa) per clip; a sitemap holds at most 50,000
MEDIA_CACHE = "public, max-age=3600"


def _file(key: str, media_type: str, request: Request) -> Response:
    return public_response(
        key,
        media_type,
        range_header=request.headers.get("range"),
        headers={"Cache-Control": MEDIA_CACHE},
    )


@router.get("/clips/{code}/playback.mp4")
def playback(code: str, request: Request, session: SessionDep, _: Anyone) -> Response:
    info = service.visible_media(session, code)
    key = sources.playback_object(info)
    if key is None:
        raise NotFound(f"clip {code} has no public playback copy", field="code")
    return _file(key, "video/mp4", request)


@router.get("/clips/{code}/poster.jpg")
def poster(code: str, request: Request, session: SessionDep, _: Anyone) -> Response:
    info = service.visible_media(session, code)
    key = sources.image_object(info, "poster")
    if key is None:
        raise NotFound(f"clip {code} has no poster", field="code")
    return _file(key, "image/jpeg", request)


@router.get("/clips/{code}/keyframes/{position}.jpg")
def keyframe(
    code: str, position: int, request: Request, session: SessionDep, _: Anyone
) -> Response:
    info = service.visible_media(session, code)
    key = sources.image_object(info, position) if 0 <= position < 10_000 else None
    if key is None:
        raise NotFound(f"clip {code} has no keyframe {position}", field="position")
    return _file(key, "image/jpeg", request)


@router.get("/iiif/{code}/manifest.json")
def iiif_manifest(code: str, session: SessionDep, _: Anyone) -> Response:
    """The IIIF Presentation 3 manifest of a published clip with a playback copy."""
    service.visible_media(session, code)  # 404 unless published with media
    item = service.enrich(session, [repository.get_row(session, code)])[0]
    if not item.has_playback:
        raise NotFound(f"clip {code} has no public playback copy", field="code")
    headers = {"Cache-Control": MEDIA_CACHE, "Access-Control-Allow-Origin": "*"}
    return JSONResponse(iiif.build(item), media_type=iiif.MEDIA_TYPE, headers=headers)


def _url(loc: str, pair: tuple[str, str], lastmod: datetime | None = None) -> str:
    """One <url>, with hreflang links to its English and Farsi versions."""
    parts = [f"<url><loc>{escape(loc)}</loc>"]
    if lastmod is not None:
        parts.append(f"<lastmod>{lastmod.astimezone(UTC).date().isoformat()}</lastmod>")
    for lang, href in zip(("en", "fa"), pair, strict=True):
        parts.append(f'<xhtml:link rel="alternate" hreflang="{lang}" href="{escape(href)}"/>')
    parts.append("</url>")
    return "".join(parts)


def _both(en: str, fa: str, lastmod: datetime | None = None) -> list[str]:
    return [_url(en, (en, fa), lastmod), _url(fa, (en, fa), lastmod)]


URLSET = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    'xmlns:xhtml="http://www.w3.org/1999/xhtml">\n'
)


def _xml(body: str) -> Response:
    seconds = get_settings().public_cache_seconds
    return Response(
        body, media_type="application/xml", headers={"Cache-Control": f"public, max-age={seconds}"}
    )


def _page_urls(session: SessionDep) -> list[str]:
    base = service.base_url()
    # canonical URLs only: /fa redirects to /fa/
    urls = _both(f"{base}/", f"{base}/fa/") + _both(f"{base}/cities", f"{base}/fa/cities")
    urls += _both(f"{base}/map", f"{base}/fa/map")
    counts = cache.cached(session, "city_counts", lambda: repository.city_counts(session))
    for slug in sorted({pages.slugify(r.name_en) for r in counts}):
        urls += _both(f"{base}/cities/{slug}", f"{base}/fa/cities/{slug}")
    return urls


def _clip_urls(session: SessionDep, offset: int) -> list[str]:
    urls: list[str] = []
    for code, updated_at in repository.sitemap_rows(session, SITEMAP_MAX_CLIPS, offset):
        urls += _both(service.permalink(code), service.permalink(code, "fa"), updated_at)
    return urls


def _clip_total(session: SessionDep) -> int:
    return cache.cached(session, "totals", lambda: repository.totals(session))[0]


@router.get("/sitemap.xml")
def sitemap(session: SessionDep, _: Anyone) -> Response:
    """Home, the cities and every published clip, in English and Farsi; past
    SITEMAP_MAX_CLIPS clips, a sitemap index of /sitemap-pages.xml and
    /sitemap-clips-N.xml (a sitemap may hold at most 50,000 URLs)."""
    total = _clip_total(session)
    if total <= SITEMAP_MAX_CLIPS:
        urls = _page_urls(session) + _clip_urls(session, 0)
        return _xml(URLSET + "\n".join(urls) + "\n</urlset>\n")
    base = service.base_url()
    parts = [f"{base}/sitemap-pages.xml"] + [
        f"{base}/sitemap-clips-{n}.xml" for n in range(1, math.ceil(total / SITEMAP_MAX_CLIPS) + 1)
    ]
    entries = "\n".join(f"<sitemap><loc>{escape(p)}</loc></sitemap>" for p in parts)
    return _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + entries
        + "\n</sitemapindex>\n"
    )


@router.get("/sitemap-pages.xml")
def sitemap_pages(session: SessionDep, _: Anyone) -> Response:
    return _xml(URLSET + "\n".join(_page_urls(session)) + "\n</urlset>\n")


@router.get("/sitemap-clips-{part}.xml")
def sitemap_clips(part: int, session: SessionDep, _: Anyone) -> Response:
    if not 1 <= part <= math.ceil(_clip_total(session) / SITEMAP_MAX_CLIPS):
        raise NotFound(f"there is no sitemap part {part}", field="part")
    urls = _clip_urls(session, (part - 1) * SITEMAP_MAX_CLIPS)
    return _xml(URLSET + "\n".join(urls) + "\n</urlset>\n")


@router.get("/robots.txt")
def robots(_: Anyone) -> Response:
    lines = ["User-agent: *", "Disallow: /api/", "Disallow: /team"]
    lines.append(f"Sitemap: {service.base_url()}/sitemap.xml")
    return PlainTextResponse("\n".join(lines) + "\n")
