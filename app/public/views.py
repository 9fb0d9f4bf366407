"""The public HTML site: home, cities, a city, search, a clip, the content-warning gate.

The router is included twice: at / (English) and at /fa (Farsi). Pages work without
JavaScript; nothing here needs a login, and only published clips exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from app.accounts.deps import Anyone
from app.clips import search as fulltext
from app.config import get_settings
from app.errors import InvalidInput
from app.i18n import error_text, translate
from app.kit.date_input import query_day
from app.public import atlas, cache, frozen, pages, repository, service
from app.public.repository import PublicFilter
from app.web.session import SessionDep, UnitOfWorkRoute
from app.web.templating import lang_of, render

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

CW_COOKIE = "cw_ok"
CW_MAX_AGE = 365 * 24 * 3600


def _accepted(request: Request) -> bool:
    return request.cookies.get(CW_COOKIE) == "1"


def _page(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200) -> Response:
    lang = lang_of(request)
    ctx.setdefault("cw_accepted", _accepted(request))
    ctx.setdefault(
        "here", request.url.path + (f"?{request.url.query}" if request.url.query else "")
    )
    ctx.setdefault("canonical", service.base_url() + request.url.path)
    ctx.setdefault("alternate_en", service.base_url() + _strip_fa(request.url.path))
    english = _strip_fa(request.url.path)
    ctx.setdefault(
        "alternate_fa", service.base_url() + ("/fa/" if english == "/" else "/fa" + english)
    )
    seconds = get_settings().public_cache_seconds
    headers = {"Cache-Control": f"public, max-age={seconds}", "Vary": "Cookie"}
    return render(
        request, f"public/{name}", ctx, status_code=status_code, headers=headers, lang=lang
    )


def _shared(request: Request, session: Session, build: Callable[[], Response]) -> Response:
    """The page from the public cache when the visitor is anonymous: the same bytes for
    every anonymous visitor with the same path, query and content-warning cookie, until
    the change log moves. A team member's page carries their CSRF token: built for them."""
    principal = getattr(request.state, "principal", None)
    if principal is None or principal.kind != "anonymous":
        return build()
    key = ("page", request.url.path, request.url.query, _accepted(request))
    return cache.cached(session, key, lambda: frozen.Frozen.of(build())).response()


def _strip_fa(path: str) -> str:
    if path == "/fa" or path.startswith("/fa/"):
        return path[3:] or "/"
    return path


def _prefix(request: Request) -> str:
    return "/fa" if lang_of(request) == "fa" else ""


def _city_counts(session: Session) -> list[Any]:
    return cache.cached(session, "city_counts", lambda: repository.city_counts(session))


def _cards(session: Session, rows: list[Any], request: Request) -> list[pages.Card]:
    lang, prefix = lang_of(request), _prefix(request)
    return [pages.card(e, lang, prefix) for e in service.enrich(session, rows)]


@router.get("/")
def home(request: Request, session: SessionDep, _: Anyone) -> Response:
    return _shared(request, session, lambda: _home(request, session))


def _home(request: Request, session: Session) -> Response:
    clips, cities, provinces = cache.cached(session, "totals", lambda: repository.totals(session))
    latest = repository.latest(session, 6)
    return _page(
        request,
        "home.html",
        {
            "clips": clips,
            "cities": cities,
            "provinces": provinces,
            "latest": _cards(session, latest, request),
            "geo": atlas.public_map(session, lang_of(request), _prefix(request)),
        },
    )


@router.get("/map")
def map_page(request: Request, session: SessionDep, _: Anyone) -> Response:
    """Iran with one circle per city, its area by the count of published clips."""
    return _shared(request, session, lambda: _map(request, session))


def _map(request: Request, session: Session) -> Response:
    geo = atlas.public_map(session, lang_of(request), _prefix(request))
    return _page(request, "map.html", {"geo": geo})


@router.get("/cities")
def cities(
    request: Request,
    session: SessionDep,
    _: Anyone,
    by: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _shared(request, session, lambda: _cities(request, session, by))


def _cities(request: Request, session: Session, by: str | None) -> Response:
    lang = lang_of(request)
    entries = pages.city_entries(_city_counts(session), lang)
    grouped = pages.group_by_province(entries, lang) if by == "province" else None
    return _page(request, "cities.html", {"entries": entries, "grouped": grouped, "by": by})


@router.get("/cities/{slug}")
def city(
    slug: str,
    request: Request,
    session: SessionDep,
    _: Anyone,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page (at most 500 characters)")
    ] = None,
) -> Response:
    after_id = service.parse_cursor(cursor)  # before any SQL (the cache's included)
    return _shared(request, session, lambda: _city(slug, request, session, cursor, after_id))


def _city(
    slug: str, request: Request, session: Session, cursor: str | None, after_id: int | None
) -> Response:
    lang = lang_of(request)
    ids = service.place_ids(session, slug.replace("-", " "), None) or []
    size = get_settings().public_page_size
    f = PublicFilter(place_ids=ids, after_id=after_id)
    rows, next_cursor = service.page(session, f, size)
    if not ids or not rows:
        raise service.ClipNotPublic(f"there are no published clips in {slug!r}", field="slug")
    place = repository.places_by_ids(session, [rows[0].place_id])[0]
    return _page(
        request,
        "city.html",
        {
            "city": pages.pick(lang, place[1], place[2]),
            "province": pages.pick(lang, place[3], place[4]),
            "total": sum(c.clips for c in _city_counts(session) if c.id in ids),
            "cards": _cards(session, rows, request),
            "next_url": f"?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
            "first_url": request.url.path if cursor else None,
        },
    )


@router.get("/clips")
def search(
    request: Request,
    session: SessionDep,
    _: Anyone,
    province: Annotated[str | None, Query(max_length=120)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page (at most 500 characters)")
    ] = None,
) -> Response:
    return _shared(
        request, session, lambda: _search(request, session, province, from_, to, q, cursor)
    )


def _search(
    request: Request,
    session: Session,
    province: str | None,
    from_: str | None,
    to: str | None,
    q: str | None,
    cursor: str | None,
) -> Response:
    lang = lang_of(request)
    form = {"province": province or "", "from": from_ or "", "to": to or "", "q": q or ""}
    ctx: dict[str, Any] = {"form": form, "cards": [], "error": None}
    try:  # the dates and the cursor first, before any SQL
        date_from, date_to = query_day(from_, "from"), query_day(to, "to")
        after_id, after_rank = service.parse_page_cursor(cursor, q)
    except InvalidInput as exc:
        ctx["error"] = error_text(lang, exc.code, exc.message)
    entries = pages.city_entries(_city_counts(session), lang)  # the form's provinces
    ctx["provinces"] = sorted({(e.province_slug, e.province) for e in entries}, key=lambda p: p[1])
    if ctx["error"] is None:
        try:
            f = service.make_filter(
                session,
                province=(province or "").replace("-", " ") or None,
                date_from=date_from,
                date_to=date_to,
                q=q,
                after_id=after_id,
                after_rank=after_rank,
            )
        except InvalidInput as exc:
            ctx["error"] = error_text(lang, exc.code, exc.message)
    if ctx["error"] is not None:
        return _page(request, "search.html", ctx, status_code=422)
    rows: list[Any] = []
    next_cursor: str | None = None
    total = 0
    if f.place_ids != []:
        rows, next_cursor = service.page(session, f, get_settings().public_page_size)
        total = repository.count(session, f)
    query = {k: v for k, v in form.items() if v}
    ctx.update(
        cards=pages.marked(_cards(session, rows, request), fulltext.terms(q)),
        total=total,
        next_url=f"?{urlencode({**query, 'cursor': next_cursor})}" if next_cursor else None,
        first_url=f"?{urlencode(query)}" if cursor else None,
    )
    return _page(request, "search.html", ctx)


@router.get("/clips/{code}")
def clip(code: str, request: Request, session: SessionDep, _: Anyone) -> Response:
    canonical = service.canonical_code(code)
    if canonical != code:  # /clips/irn091 -> /clips/IRN091 (codes are always upper case)
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{_prefix(request)}/clips/{canonical}{query}", status_code=301)
    return _shared(request, session, lambda: _clip(code, request, session))


def _clip(code: str, request: Request, session: Session) -> Response:
    lang = lang_of(request)
    try:
        row = service.get_visible(session, code)
    except service.ClipRetracted:
        row = repository.get_row(session, code)
        info = service.retraction_info(session, row)
        return _page(request, "retracted.html", {"code": code, "info": info}, status_code=410)
    item = service.enrich(session, [row])[0]
    site = translate(lang, "site.name")
    return _page(
        request,
        "clip.html",
        {
            "c": row,
            "item": item,
            "card": pages.card(item, lang, _prefix(request)),
            "description": pages.pick(lang, row.description_en, row.description_fa),
            "citation": pages.citation(item, lang, site),
            "permalink": service.permalink(code, lang),
            "json_ld": pages.json_ld(item, lang),
        },
    )


@router.get("/content-warning")
def content_warning(
    request: Request,
    _: Anyone,
    next: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    return _page(request, "warning.html", {"next": _safe_next(next, request)})


@router.post("/content-warning")
def accept_content_warning(
    request: Request,
    _: Anyone,
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Remember (for a year) that the visitor accepted the content warning."""
    response = RedirectResponse(_safe_next(next, request), status_code=303)
    response.set_cookie(
        CW_COOKIE,
        "1",
        max_age=CW_MAX_AGE,
        httponly=False,  # the page's script may set it too
        samesite="lax",
        secure=get_settings().cookie_secure,
    )
    return response


def _safe_next(value: str | None, request: Request) -> str:
    """Only a path on this site (no scheme, no //host): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return _prefix(request) + "/"
