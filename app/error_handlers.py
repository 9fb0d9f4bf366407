"""One JSON shape for every error: {"error": code, "detail": message, "field": ...}.

HTML pages (anything outside /api that accepts text/html) get the same information rendered
as a page by templates/error.html.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app import dbfaults
from app.errors import AppError
from app.i18n import translate_plural

log = logging.getLogger("archive.errors")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def wants_html(request: Request) -> bool:
    """HTML pages (not the API) get an HTML error page."""
    path = request.url.path
    if path.startswith("/api/") or path == "/openapi.json":
        return False
    return "text/html" in request.headers.get("accept", "")


def _respond(
    request: Request,
    status: int,
    code: str,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    if wants_html(request):
        from app.web.templating import render

        return render(
            request,
            "error.html",
            {"code": code, "detail": detail},
            status_code=status,
            headers=headers,
        )
    body = {"error": code, "detail": detail, "field": field, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def overloaded(scope: Any, wait: float) -> Response:
    """503 for a request that waited ``wait`` seconds for its turn (app/kit/overload.py)."""
    seconds = max(1, round(wait))
    return _respond(
        Request(scope),
        503,
        "overloaded",
        f"the archive is busy; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _field_name(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return _respond(
            request, exc.status, exc.code, exc.message, exc.field, exc.headers or None, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {}
        field = _field_name(tuple(first.get("loc", ())))
        msg = first.get("msg", "invalid input")
        detail = f"{field}: {msg}" if field else str(msg)
        if len(errors) > 1:
            detail += f" ({translate_plural('en', 'err.count.more_problems', len(errors) - 1)})"
        problems = [
            {"field": _field_name(tuple(e.get("loc", ()))), "detail": e.get("msg")} for e in errors
        ]
        return _respond(request, 422, "invalid", detail, field, problems=problems)

    @app.exception_handler(StaleDataError)
    async def stale(request: Request, exc: StaleDataError) -> Response:
        return _respond(
            request,
            409,
            "stale_version",
            "the record changed while you were saving it; reload and try again",
            "version",
        )

    @app.exception_handler(DBAPIError)
    async def database(request: Request, exc: DBAPIError) -> Response:
        err = dbfaults.classify(exc)
        if err is None:
            raise exc  # a bug: the server error handler logs it (500)
        log.warning("%s %s: %s (%s)", request.method, request.url.path, err.code, exc.orig)
        return _respond(request, err.status, err.code, err.message, headers=err.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return _respond(
            request,
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=headers,
        )


def allowed_methods(request: Request) -> str:
    """Every method the request's path allows. Starlette's 405 names only the methods of
    the first route whose path matched, though a path often has one route per method; so
    each method is routed again (only on a 405) and kept where some route takes it."""
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(r.matches(scope)[0] == Match.FULL for r in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)
