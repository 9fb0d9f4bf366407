"""Logging in: the throttle, the password, the second factor, and the new session.

The API (accounts/router.py) and the log-in pages (web/auth_views.py) both call
:func:`log_in` and :func:`give_second_factor`, so they throttle, refuse and log the same.
Every refusal for a wrong email, a wrong password or a disabled account is the same
:class:`LoginFailed` (401) with the same message, and every locked account or address the
same :class:`LoginThrottled` (429 with Retry-After), whether the account exists or not.

A user with two-factor log-in gets a session whose second factor is pending (only the code
form works) until :func:`give_second_factor` accepts a code; the API may send the code
with the password in one call instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy.orm import Session

from app.accounts import throttle, two_factor
from app.accounts.exceptions import LoginFailed
from app.accounts.models import User, WebSession
from app.accounts.service import authenticate
from app.accounts.sessions import NewSession, start_session
from app.config import get_settings

FAILED_MESSAGE = "wrong email or password, or the account is disabled"
WRONG_CODE_MESSAGE = "that code is not right (or was already used)"


@dataclass(frozen=True)
class LoggedIn:
    user: User
    new: NewSession
    second_factor_pending: bool


def _refuse(session: Session, keys: throttle.Keys, message: str) -> NoReturn:
    # the request's transaction is rolled back (it answers 401): release its write lock
    # (SQLite) before the throttle writes the failure in a transaction of its own
    session.rollback()
    throttle.failed(keys, actor="login")
    raise LoginFailed(message)


def log_in(
    session: Session,
    *,
    email: str,
    password: str,
    address: str | None,
    client: str,
    code: str | None = None,
) -> LoggedIn:
    keys = throttle.Keys.of(email, address)
    throttle.check(session, keys)
    user = authenticate(session, email, password)
    if user is None:
        _refuse(session, keys, FAILED_MESSAGE)
    pending = two_factor.enabled(user)
    if pending and code:
        if two_factor.verify(session, user, code) is None:
            _refuse(session, keys, WRONG_CODE_MESSAGE)
        pending = False
    throttle.succeeded(session, keys)
    new = start_session(
        session,
        user,
        max_age=get_settings().session_max_age_seconds,
        client=client,
        second_factor_pending=pending,
    )
    return LoggedIn(user=user, new=new, second_factor_pending=pending)


def give_second_factor(
    session: Session, user: User, web: WebSession, code: str, *, address: str | None
) -> str:
    """Complete a log-in whose second factor is pending; returns 'totp' or 'recovery'."""
    keys = throttle.Keys.of(user.email, address)
    throttle.check(session, keys)
    used = two_factor.verify(session, user, code)
    if used is None:
        _refuse(session, keys, WRONG_CODE_MESSAGE)
    web.second_factor_pending = False
    throttle.succeeded(session, keys)
    session.flush()
    return used
