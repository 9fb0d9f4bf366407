"""Accounts: users, web sessions and personal API tokens. Services flush, never commit.

The rules about accounts, and their custody events, live here and only here: the API
(accounts/router.py), the team's admin pages (web/team/admin.py) and the CLI call the same
functions, so they refuse the same things and log the same events. Every create, update,
disable and token change is in the custody log (``user.created``, ``user.updated``,
``token.created``, ``token.revoked``); the ``actor`` is who did it (``user:EMAIL``,
``cli:LOGIN``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.accounts.exceptions import EmailTaken, UserNotFound, WeakPassword, WrongPassword
from app.accounts.models import ROLE_RANK, ROLES, ApiToken, User
from app.accounts.passwords import check_password
from app.accounts.security import (
    generate_password,
    hash_password,
    new_secret,
    sha256_hex,
    verify_password,
)
from app.accounts.sessions import end_sessions
from app.custody import service as custody
from app.errors import InvalidInput, StaleVersion
from app.kit.clock import utcnow

_DUMMY_HASH = hash_password("timing-equaliser-not-a-password")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        raise InvalidInput(f"{email!r} is not an email address", field="email")
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role")
    return role


def create_user(
    session: Session,
    *,
    email: str,
    role: str,
    actor: str,
    name: str = "",
    password: str | None = None,
    can_publish: bool = False,
) -> tuple[User, str | None]:
    """Create a user (admins can always publish). Without a password, a one-time password
    is generated and returned."""
    email = normalise_email(email)
    check_role(role)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(f"a user with the email {email} already exists", field="email")
    generated = None
    if password is None:
        password = generated = generate_password()
    else:
        check_password(password, email=email)
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
    custody.record(
        session,
        actor=actor,
        action="user.created",
        payload={"email": user.email, "role": user.role, "can_publish": user.can_publish},
    )
    return user, generated


@dataclass(frozen=True)
class UserChange:
    """What to change (None: leave as it is) and the version the caller read (None: no
    check, for the CLI)."""

    version: int | None = None
    role: str | None = None
    can_publish: bool | None = None
    is_active: bool | None = None


def _state(user: User) -> dict[str, Any]:
    return {"role": user.role, "can_publish": user.can_publish, "active": user.is_active}


def update_user(
    session: Session, user_id: int, change: UserChange, *, by: User | None, actor: str
) -> User:
    """Re-role, grant or withdraw publishing, disable or re-enable a user.

    ``by`` is the admin doing it (None from the CLI): nobody disables or demotes their own
    account, so an archive always keeps the admin who is acting. Admins can always publish.
    Disabling ends the user's sessions and tokens. A change is one ``user.updated`` event
    with the values before and after; a request that changes nothing logs nothing."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UserNotFound(f"no user with id {user_id}", field="id")
    if change.version is not None and user.version != change.version:
        raise StaleVersion(
            f"{user.email} was changed by someone else since you read it "
            f"(you sent version {change.version}, it is now {user.version}); reload",
            field="version",
            extra={"current_version": user.version},
        )
    role = check_role(change.role) if change.role is not None else user.role
    active = change.is_active if change.is_active is not None else user.is_active
    if by is not None and by.id == user.id:
        if not active:
            raise InvalidInput("you cannot disable your own account", field="is_active")
        if ROLE_RANK[role] < ROLE_RANK[user.role]:
            raise InvalidInput("you cannot demote your own account", field="role")
    before = _state(user)
    user.role = role
    if change.can_publish is not None:
        user.can_publish = change.can_publish
    user.can_publish = user.can_publish or role == "admin"
    if active != user.is_active:
        _set_active(session, user, active)
    session.flush()
    after = _state(user)
    if before != after:
        custody.record(
            session,
            actor=actor,
            action="user.updated",
            payload={"email": user.email, "before": before, "after": after},
        )
    return user


def change_password(
    session: Session,
    user: User,
    *,
    current: str | None,
    new: str,
    actor: str,
    keep_session: int | None = None,
) -> User:
    """A user changes their own password (``current`` must match; None: the CLI, whose
    operator has the server). Clears ``must_change_password`` and ends the user's other
    sessions (all of them when ``keep_session`` is None)."""
    user = session.get(User, user.id, with_for_update=True) or user
    if current is not None and not verify_password(user.password_hash, current):
        raise WrongPassword("the current password is wrong", field="current_password")
    check_password(new, email=user.email, field="new_password")
    if verify_password(user.password_hash, new):
        raise WeakPassword("the new password must differ from the old one", field="new_password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    ended = end_sessions(session, user.id, keep=keep_session)
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="user.password_changed",
        payload={"email": user.email, "sessions_ended": ended},
    )
    return user


def reset_password(session: Session, user_id: int, *, by: User | None, actor: str) -> str:
    """An admin resets a user's password: a new one-time password (returned, shown once)
    that must be changed at the next log-in; every session of the user ends."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UserNotFound(f"no user with id {user_id}", field="id")
    if by is not None and by.id == user.id:
        raise InvalidInput(
            "change your own password on your account page, not by a reset", field="id"
        )
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    ended = end_sessions(session, user.id)
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="user.password_reset",
        payload={"email": user.email, "sessions_ended": ended},
    )
    return password


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"no user with id {user_id}", field="id")
    return user


def get_user_by_email(session: Session, email: str, *, field: str = "email") -> User:
    user = find_user_by_email(session, email)
    if user is None:
        raise UserNotFound(f"no user with the email {email}", field=field)
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def reviewer_emails(session: Session) -> list[str]:
    """Active reviewers and admins (who a clip can be assigned to)."""
    return list(
        session.scalars(
            select(User.email)
            .where(User.role.in_(("reviewer", "admin")), User.is_active.is_(True))
            .order_by(User.email)
        )
    )


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same cost whether or not the user exists
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    return user


def _set_active(session: Session, user: User, active: bool) -> None:
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


# --- personal API tokens --------------------------------------------------------------------

TOKEN_PREFIX = "vat"


def create_token(
    session: Session, user: User, name: str = "", *, actor: str
) -> tuple[ApiToken, str]:
    """A personal API token for ``user`` (the plain token is returned once, never stored)."""
    plain, prefix, digest = new_secret(TOKEN_PREFIX)
    token = ApiToken(user_id=user.id, name=name, prefix=prefix, token_hash=digest)
    session.add(token)
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="token.created",
        payload={"email": user.email, "token_id": token.id, "prefix": prefix, "name": name},
    )
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


def revoke_token(session: Session, token_id: int, *, actor: str) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise UserNotFound(f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        custody.record(
            session,
            actor=actor,
            action="token.revoked",
            payload={"token_id": token.id, "prefix": token.prefix},
        )
    session.flush()
    return token
