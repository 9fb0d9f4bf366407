"""Web sessions: start, resolve, list and end them, and the gate a session must pass first.

The cookie holds a random token; only its SHA-256 is stored. Each session records when it
was created and last seen and the client that logged in (address and browser), so a user can
see where they are logged in and end any session, or all of them ("log out everywhere").

A session's *gate* is what it must do before it may use the team pages and the API (see
:func:`gate_of`): give its second factor, change a one-time password, or set up two-factor
log-in when the user's role requires it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.exceptions import UserNotFound
from app.accounts.models import User, WebSession
from app.accounts.security import sha256_hex
from app.config import get_settings
from app.custody import service as custody
from app.db import session_scope
from app.kit.clock import utcnow

SECOND_FACTOR = "second_factor"
PASSWORD_CHANGE = "password_change"
TWO_FACTOR_ENROLMENT = "two_factor_enrolment"
GATES = (SECOND_FACTOR, PASSWORD_CHANGE, TWO_FACTOR_ENROLMENT)
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    max_age: int


def client_label(address: str | None, user_agent: str | None) -> str:
    agent = " ".join((user_agent or "").split())[:240]
    return f"{address or 'unknown'} · {agent}" if agent else (address or "unknown")


def start_session(
    session: Session,
    user: User,
    *,
    max_age: int,
    client: str = "",
    second_factor_pending: bool = False,
) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            user_id=user.id,
            token_hash=sha256_hex(token),
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=max_age),
            client=client[:300],
            second_factor_pending=second_factor_pending,
        )
    )
    session.flush()
    return NewSession(token=token, csrf_token=csrf, max_age=max_age)


def resolve_session(session: Session, token: str) -> tuple[User, WebSession] | None:
    row = session.execute(
        select(User, WebSession)
        .join(WebSession, WebSession.user_id == User.id)
        .where(
            WebSession.token_hash == sha256_hex(token),
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > utcnow(),
            User.is_active.is_(True),
        )
    ).first()
    return (row[0], row[1]) if row else None


def needs_touch(web: WebSession) -> bool:
    return web.last_seen_at is None or utcnow() - web.last_seen_at > TOUCH_EVERY


def touch(session: Session | None, session_id: int) -> None:
    """Record that a session was seen now: in ``session`` (a writing request's own
    transaction), or with None in a short transaction of its own (for read-only requests)."""
    stmt = update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow())
    if session is not None:
        session.execute(stmt)
        return
    with session_scope() as own:
        own.execute(stmt)


def gate_of(user: User, web: WebSession) -> str | None:
    """What this session must do first (None: nothing)."""
    if web.second_factor_pending:
        return SECOND_FACTOR
    if user.must_change_password:
        return PASSWORD_CHANGE
    if user.role in get_settings().two_factor_roles and user.totp_enabled_at is None:
        return TWO_FACTOR_ENROLMENT
    return None


def end_session(session: Session, token: str) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.token_hash == sha256_hex(token), WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def end_sessions(session: Session, user_id: int, *, keep: int | None = None) -> int:
    """End every session of a user (but ``keep``, the caller's own); returns how many."""
    stmt = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(WebSession.id != keep)
    result = session.execute(stmt.values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class SessionInfo:
    id: int
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime
    client: str
    current: bool


def list_sessions(session: Session, user_id: int, *, current: int | None) -> list[SessionInfo]:
    """The user's active sessions, newest first."""
    rows = session.execute(
        select(
            WebSession.id,
            WebSession.created_at,
            WebSession.last_seen_at,
            WebSession.expires_at,
            WebSession.client,
        )
        .where(
            WebSession.user_id == user_id,
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > utcnow(),
        )
        .order_by(WebSession.created_at.desc(), WebSession.id.desc())
    ).all()
    return [SessionInfo(*row, current=row[0] == current) for row in rows]


def end_own_session(session: Session, user: User, session_id: int, *, actor: str) -> None:
    """End one of ``user``'s own sessions (404 for anyone else's)."""
    result = session.execute(
        update(WebSession)
        .where(
            WebSession.id == session_id,
            WebSession.user_id == user.id,
            WebSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if not getattr(result, "rowcount", 0):
        raise UserNotFound(f"you have no active session {session_id}", field="session_id")
    custody.record(
        session,
        actor=actor,
        action="session.ended",
        payload={"email": user.email, "session_id": session_id},
    )


def end_all_own_sessions(session: Session, user: User, *, actor: str) -> int:
    """Log out everywhere: every session of ``user``, the current one included."""
    count = end_sessions(session, user.id)
    custody.record(
        session,
        actor=actor,
        action="session.ended_all",
        payload={"email": user.email, "sessions": count},
    )
    return count
