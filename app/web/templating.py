"""Jinja2 templates shared by the team interface and the public site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.responses import Response

from app.i18n import (
    LANGS,
    custody_note,
    digits,
    direction,
    error_text,
    format_date,
    format_datetime,
    refusal_text,
    translate,
    translate_plural,
)
from app.kit.dates import DateParseError, EventDate, parse_event_date

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["LANGS"] = LANGS


@pass_context
def _fdate(context: Context, value: object) -> str:
    return format_date(context.get("lang", "en"), value)


@pass_context
def _fdatetime(context: Context, value: object) -> str:
    return format_datetime(context.get("lang", "en"), value)


@pass_context
def _fdate_field(context: Context, value: EventDate) -> str:
    """The value of a date input: the Solar Hijri form in Farsi when it reads back as the
    same stored date (a Gregorian month does not, so it stays EDTF), else the EDTF."""
    if context.get("lang") == "fa":
        try:
            if parse_event_date(value.display_fa).edtf == value.edtf:
                return value.display_fa
        except DateParseError:
            pass
    return value.edtf


# every date a template prints goes through these: Solar Hijri in Persian digits in Farsi
templates.env.filters["fdate"] = _fdate
templates.env.filters["fdatetime"] = _fdatetime
templates.env.filters["fdate_field"] = _fdate_field


def lang_of(request: Request) -> str:
    """'/fa/...' pages are Farsi; everything else English."""
    path = request.url.path
    return "fa" if path == "/fa" or path.startswith("/fa/") else "en"


def other_lang_url(request: Request) -> str:
    path = request.url.path
    if lang_of(request) == "fa":
        return path[3:] or "/"
    return "/fa" + (path if path != "/" else "")


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    lang: str | None = None,
) -> Response:
    lang = lang or lang_of(request)
    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "lang": lang,
        "dir": direction(lang),
        "t": lambda key, **kw: translate(lang, key, **kw),
        "d": lambda value: digits(lang, value),
        "err": lambda exc: error_text(lang, exc.code, exc.message),
        "err_text": lambda code, detail: error_text(lang, code, detail),
        "refusal": lambda reason: refusal_text(lang, reason),
        "custody_note": lambda note: custody_note(lang, note),
        "tp": lambda key, n, **kw: translate_plural(lang, key, n, **kw),
        "prefix": "/fa" if lang == "fa" else "",
        "other_lang_url": other_lang_url(request),
        "principal": principal,
        "csrf_token": getattr(principal, "csrf_token", None),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
