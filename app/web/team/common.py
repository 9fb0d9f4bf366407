"""Shared pieces of the team's web pages: access rules that redirect to the log-in page,
English and Farsi routes (/team/... and /fa/team/...), and form helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.accounts import sessions
from app.accounts.deps import Principal, PrincipalDep
from app.errors import AppError, Forbidden, InvalidInput
from app.kit.digits import parse_float, parse_int
from app.web.session import UnitOfWorkRoute
from app.web.templating import lang_of

LANG_PREFIXES = ("", "/fa")


class LoginRequired(AppError):
    """A page for the team, asked for without a session: go to the log-in page."""

    status = 303
    code = "login_required"


def _next_url(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def login_url(request: Request) -> str:
    prefix = "/fa" if lang_of(request) == "fa" else ""
    return f"{prefix}/login?next={quote(_next_url(request), safe='')}"


class GateRedirect(AppError):
    """A session that must first give its code, change its password or set up two-factor
    log-in is sent to that page (and comes back to ``next`` afterwards)."""

    status = 303
    code = "gate"


GATE_PAGES = {
    sessions.SECOND_FACTOR: "/login/code",
    sessions.PASSWORD_CHANGE: "/team/account/password",
    sessions.TWO_FACTOR_ENROLMENT: "/team/account/two-factor",
}


def gate_url(request: Request, gate: str) -> str:
    prefix = "/fa" if lang_of(request) == "fa" else ""
    return f"{prefix}{GATE_PAGES[gate]}?next={quote(_next_url(request), safe='')}"


def _page_rule(name: str, role: str, allow: frozenset[str] = frozenset()) -> Callable[..., Any]:
    async def dependency(request: Request, principal: PrincipalDep) -> Principal:
        if principal.user is None:
            raise LoginRequired("log in to see this page", headers={"Location": login_url(request)})
        if not principal.has_role(role):
            raise Forbidden(f"this page needs the {role} role (you are {principal.user.role})")
        if principal.gate is not None and principal.gate not in allow:
            raise GateRedirect(
                "finish logging in first", headers={"Location": gate_url(request, principal.gate)}
            )
        return principal

    dependency.access_rule = name  # type: ignore[attr-defined]
    dependency.__name__ = f"page_{name}"
    return dependency


TeamPage = Annotated[Principal, Depends(_page_rule("team", "contributor"))]
AdminPage = Annotated[Principal, Depends(_page_rule("admin", "admin"))]
# the pages a session may open before its gate is passed
SecondFactorPage = Annotated[
    Principal, Depends(_page_rule("team", "contributor", frozenset({sessions.SECOND_FACTOR})))
]
PasswordPage = Annotated[
    Principal,
    Depends(
        _page_rule(
            "team",
            "contributor",
            frozenset({sessions.PASSWORD_CHANGE, sessions.TWO_FACTOR_ENROLMENT}),
        )
    ),
]
EnrolmentPage = Annotated[
    Principal,
    Depends(_page_rule("team", "contributor", frozenset({sessions.TWO_FACTOR_ENROLMENT}))),
]


def make_router() -> APIRouter:
    return APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def page(router: APIRouter, path: str, methods: tuple[str, ...] = ("GET",)) -> Callable[..., Any]:
    """Register an HTML route in English (path) and Farsi (/fa + path)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for prefix in LANG_PREFIXES:
            router.add_api_route(
                prefix + path,
                fn,
                methods=list(methods),
                response_class=HTMLResponse,
                include_in_schema=False,
            )
        return fn

    return register


def prefix_of(request: Request) -> str:
    return "/fa" if lang_of(request) == "fa" else ""


def see_other(request: Request, path: str, **flash: str) -> RedirectResponse:
    """Post/redirect/get: back to a page of the same language, with a flash message key."""
    url = prefix_of(request) + path
    if flash:
        url += "?" + "&".join(f"{k}={quote(v)}" for k, v in flash.items())
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None, default: str) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def form_int(value: str | None, field: str, *, required: bool = True) -> int | None:
    if value is None or value.strip() == "":
        if required:
            raise InvalidInput(f"{field} is missing", field=field)
        return None
    number = parse_int(value)
    if number is None:
        raise InvalidInput(f"{field} must be a whole number", field=field)
    if not 0 <= number < 2**31:
        raise InvalidInput(f"{field} is out of range", field=field)
    return number


def form_float(value: str | None, field: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    number = parse_float(value)
    if number is None:
        raise InvalidInput(f"{field} must be a number, like 35.68", field=field)
    return number


def parse_timecode(value: str | None) -> float | None:
    """'75', '1:15' or '0:01:15' -> seconds."""
    if value is None or not value.strip():
        return None
    numbers = [parse_float(p) for p in value.strip().split(":")]
    if len(numbers) > 3 or any(n is None or n < 0 for n in numbers):
        raise InvalidInput("the time code must look like 1:15 or 75", field="at")
    seconds = 0.0
    for n in numbers:
        seconds = seconds * 60 + (n or 0.0)
    return seconds


def timecode(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
