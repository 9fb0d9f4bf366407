"""The log-in and log-out pages (HTML forms with CSRF protection).

Log-in CSRF uses a double-submit token: GET /login sets a random `archive_login_csrf`
cookie and puts the same value in the form; POST /login compares them. Once logged in,
forms carry the session's own CSRF token (checked in accounts.deps.get_principal).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import login as logins
from app.accounts import sessions
from app.accounts.deps import (
    SESSION_COOKIE,
    Anyone,
    CsrfFailed,
    client_address,
    client_of,
    web_session_of,
)
from app.accounts.exceptions import LoginFailed, LoginThrottled
from app.config import get_settings
from app.web.session import SessionDep
from app.web.team.common import (
    GATE_PAGES,
    SecondFactorPage,
    make_router,
    page,
    prefix_of,
    safe_next,
)
from app.web.templating import render

router = make_router()
LOGIN_CSRF_COOKIE = "archive_login_csrf"


@page(router, "/login")
def login_form(request: Request, who: Anyone, next: str | None = None) -> Response:
    default = prefix_of(request) + "/team/"
    if who.user is not None:
        return RedirectResponse(safe_next(next, default), status_code=303)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"next": safe_next(next, default), "login_csrf": token, "error": None},
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=get_settings().cookie_secure,
        path="/",
    )
    return response


@page(router, "/login", methods=("POST",))
def login(
    request: Request,
    session: SessionDep,
    who: Anyone,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    default = prefix_of(request) + "/team/"
    if who.user is None:  # (a logged-in session's token was checked by get_principal)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(expected, csrf_token):
            raise CsrfFailed("this form has expired; reload the log-in page and try again")
    try:
        done = logins.log_in(
            session,
            email=email,
            password=password,
            address=client_address(request),
            client=client_of(request),
        )
    except (LoginFailed, LoginThrottled) as exc:
        throttled = isinstance(exc, LoginThrottled)
        return render(
            request,
            "login.html",
            {
                "next": safe_next(next, default),
                "login_csrf": csrf_token,
                "email": email,
                "error": "team.login.throttled" if throttled else "team.login.failed",
                "retry_after": exc.headers.get("Retry-After"),
            },
            status_code=exc.status,
            headers=exc.headers or None,
        )
    target = safe_next(next, default)
    gate = sessions.SECOND_FACTOR if done.second_factor_pending else None
    if gate is None and done.user.must_change_password:
        gate = sessions.PASSWORD_CHANGE
    if gate is not None:
        target = f"{prefix_of(request)}{GATE_PAGES[gate]}?next={quote(target, safe='')}"
    new = done.new
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=new.max_age,
        httponly=True,
        samesite="lax",
        secure=get_settings().cookie_secure,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@page(router, "/logout")
def logout_form(request: Request, who: Anyone) -> Response:
    if who.user is None:
        return RedirectResponse(prefix_of(request) + "/login", status_code=303)
    return render(request, "team/logout.html", {})


@page(router, "/logout", methods=("POST",))
def logout(request: Request, session: SessionDep, who: Anyone) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        sessions.end_session(session, token)
    response = RedirectResponse(prefix_of(request) + "/login?bye=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@page(router, "/login/code")
def code_form(request: Request, who: SecondFactorPage, next: str | None = None) -> Response:
    """The second step of a log-in with two-factor on: the 6-digit code (or a recovery
    code)."""
    default = prefix_of(request) + "/team/"
    if who.gate != sessions.SECOND_FACTOR:
        return RedirectResponse(safe_next(next, default), status_code=303)
    return render(request, "login_code.html", {"next": safe_next(next, default), "error": None})


@page(router, "/login/code", methods=("POST",))
def give_code(
    request: Request,
    session: SessionDep,
    who: SecondFactorPage,
    code: Annotated[str, Form(max_length=40)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    default = prefix_of(request) + "/team/"
    web = web_session_of(request)
    if who.user is not None and web is not None and web.second_factor_pending:
        try:
            logins.give_second_factor(session, who.user, web, code, address=client_address(request))
        except (LoginFailed, LoginThrottled) as exc:
            throttled = isinstance(exc, LoginThrottled)
            return render(
                request,
                "login_code.html",
                {
                    "next": safe_next(next, default),
                    "error": "team.login.throttled" if throttled else "account.code.wrong",
                    "retry_after": exc.headers.get("Retry-After"),
                },
                status_code=exc.status,
                headers=exc.headers or None,
            )
    return RedirectResponse(safe_next(next, default), status_code=303)
