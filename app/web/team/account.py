"""The team member's own account: change the password (forced after a one-time password),
set up two-factor log-in, see active sessions and end them ("log out everywhere")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import service as accounts
from app.accounts import sessions, two_factor
from app.accounts.deps import SESSION_COOKIE, Principal
from app.errors import AppError
from app.i18n import translate
from app.web.session import SessionDep, writes
from app.web.team.common import (
    EnrolmentPage,
    PasswordPage,
    TeamPage,
    make_router,
    page,
    prefix_of,
    safe_next,
    see_other,
)
from app.web.templating import lang_of, render

router = make_router()
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _account_page(request: Request, session: SessionDep, who: Principal, **ctx: Any) -> Response:
    assert who.user is not None
    status = ctx.pop("status", 200)
    return render(
        request,
        "team/account.html",
        {
            "sessions": sessions.list_sessions(session, who.user.id, current=who.session_id),
            "two_factor_on": two_factor.enabled(who.user),
            "recovery_left": two_factor.recovery_codes_left(session, who.user),
            "flash": request.query_params.get("done"),
            **ctx,
        },
        status_code=status,
    )


@page(router, "/team/account")
def account_page(request: Request, session: SessionDep, who: TeamPage) -> Response:
    return _account_page(request, session, who)


@page(router, "/team/account/sessions/{session_id}/end", methods=("POST",))
def end_session(
    session_id: RowId, request: Request, session: SessionDep, who: TeamPage
) -> Response:
    assert who.user is not None
    try:
        sessions.end_own_session(session, who.user, session_id, actor=who.actor)
    except AppError as exc:
        session.rollback()
        return _account_page(request, session, who, error=exc, status=exc.status)
    if session_id == who.session_id:
        return _logged_out(request)
    return see_other(request, "/team/account", done="session_ended")


@page(router, "/team/account/sessions/end-all", methods=("POST",))
def end_all_sessions(request: Request, session: SessionDep, who: TeamPage) -> Response:
    assert who.user is not None
    sessions.end_all_own_sessions(session, who.user, actor=who.actor)
    return _logged_out(request)


def _logged_out(request: Request) -> Response:
    response = RedirectResponse(prefix_of(request) + "/login?bye=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _password_page(request: Request, who: Principal, **ctx: Any) -> Response:
    status = ctx.pop("status", 200)
    default = prefix_of(request) + "/team/account"
    return render(
        request,
        "team/account_password.html",
        {
            "forced": who.gate == sessions.PASSWORD_CHANGE,
            "next": safe_next(ctx.pop("next", None) or request.query_params.get("next"), default),
            **ctx,
        },
        status_code=status,
    )


@page(router, "/team/account/password")
def password_form(request: Request, who: PasswordPage) -> Response:
    return _password_page(request, who)


@page(router, "/team/account/password", methods=("POST",))
def change_password(
    request: Request,
    session: SessionDep,
    who: PasswordPage,
    current_password: Annotated[str, Form(max_length=1000)],
    new_password: Annotated[str, Form(max_length=1000)],
    repeat_password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    assert who.user is not None
    if new_password != repeat_password:
        return _password_page(request, who, mismatch=True, next=next, status=422)
    try:
        accounts.change_password(
            session,
            who.user,
            current=current_password,
            new=new_password,
            actor=who.actor,
            keep_session=who.session_id,
        )
    except AppError as exc:
        session.rollback()
        return _password_page(request, who, error=exc, next=next, status=exc.status)
    target = safe_next(next, prefix_of(request) + "/team/account")
    return RedirectResponse(target + ("&" if "?" in target else "?") + "done=password", 303)


def _enrol_page(request: Request, session: SessionDep, who: Principal, **ctx: Any) -> Response:
    assert who.user is not None
    status = ctx.pop("status", 200)
    default = prefix_of(request) + "/team/"
    ctx["next"] = safe_next(ctx.get("next") or request.query_params.get("next"), default)
    if not two_factor.enabled(who.user):
        uri = two_factor.begin_enrolment(session, who.user)
        ctx.update(
            secret=two_factor.secret_of(who.user),
            qr=two_factor.qr_svg(uri, translate(lang_of(request), "page.qr_title")),
        )
    return render(
        request,
        "team/account_two_factor.html",
        {
            "required": who.gate == sessions.TWO_FACTOR_ENROLMENT,
            "two_factor_on": two_factor.enabled(who.user),
            **ctx,
        },
        status_code=status,
    )


@page(router, "/team/account/two-factor")
@writes  # the enrolment secret is kept on the user until it is confirmed
def two_factor_form(request: Request, session: SessionDep, who: EnrolmentPage) -> Response:
    return _enrol_page(request, session, who)


@page(router, "/team/account/two-factor", methods=("POST",))
def confirm_two_factor(
    request: Request,
    session: SessionDep,
    who: EnrolmentPage,
    code: Annotated[str, Form(max_length=40)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    assert who.user is not None
    try:
        codes = two_factor.confirm_enrolment(session, who.user, code, actor=who.actor)
    except AppError as exc:
        session.rollback()
        return _enrol_page(request, session, who, error=exc, next=next, status=exc.status)
    return _enrol_page(request, session, who, recovery_codes=codes, next=next)
