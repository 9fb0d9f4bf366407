"""Jinja2 templates shared by the team interface and the public site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app.i18n import LANGS, digits, direction, translate

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["LANGS"] = LANGS


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
        "prefix": "/fa" if lang == "fa" else "",
        "other_lang_url": other_lang_url(request),
        "principal": principal,
        "csrf_token": getattr(principal, "csrf_token", None),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
