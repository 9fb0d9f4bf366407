"""Accounts: users, web sessions and personal API tokens. Services flush, never commit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.accounts.exceptions import EmailTaken, UserNotFound, WeakPassword
from app.accounts.models import ROLES, ApiToken, User, WebSession
from app.accounts.security import (
    generate_password,
    hash_password,
    new_secret,
    sha256_hex,
    verify_password,
)
from app.errors import InvalidInput
from app.kit.clock import utcnow

MIN_PASSWORD_LENGTH = 12
_DUMMY_HASH = hash_password("timing-equaliser-not-a-password")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        raise InvalidInput(f"{email!r} is not an email address", field="email")
    return email


def create_user(
    session: Session,
    *,
    email: str,
    role: str,
    name: str = "",
    password: str | None = None,
    can_publish: bool = False,
) -> tuple[User, str | None]:
    """Create a user. Without a password, a one-time password is generated and returned."""
    email = normalise_email(email)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(f"a user with the email {email} already exists", field="email")
    generated = None
    if password is None:
        password = generated = generate_password()
    elif len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"passwords need at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    user = User(
        email=email,
        role=role,
        name=name,
        password_hash=hash_password(password),
        can_publish=can_publish or role == "admin",
        must_change_password=generated is not None,
    )
    session.add(user)
    session.flush()
    return user, generated


def get_user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise UserNotFound(f"no user with the email {email}", field="email")
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same cost whether or not the user exists
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    return user


def set_active(session: Session, user: User, active: bool) -> None:
    user.is_active = active
    if not active:
        end_sessions(session, user.id)
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    session.flush()


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(User.id))) or 0


# --- web sessions -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    max_age: int


def start_session(session: Session, user: User, *, max_age: int) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            user_id=user.id,
            token_hash=sha256_hex(token),
            csrf_token=csrf,
            expires_at=utcnow() + timedelta(seconds=max_age),
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


def end_session(session: Session, token: str) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.token_hash == sha256_hex(token), WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def end_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --- personal API tokens --------------------------------------------------------------------

TOKEN_PREFIX = "vat"


def create_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    plain, prefix, digest = new_secret(TOKEN_PREFIX)
    token = ApiToken(user_id=user.id, name=name, prefix=prefix, token_hash=digest)
    session.add(token)
    session.flush()
    return token, plain


def resolve_token(session: Session, plain: str) -> User | None:
    row = session.execute(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == sha256_hex(plain),
            ApiToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    ).first()
    return row[0] if row else None


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise UserNotFound(f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()
    return token
