"""Who is calling, and the access rules every route must declare.

(``SessionDep`` is app/web/session.py's; it is re-exported here for older imports.)

Each rule is a dependency carrying an ``access_rule`` attribute; tests/test_access.py walks
every route of the app and fails when one has none (deny by default).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from app.accounts import service as accounts
from app.accounts import sessions
from app.accounts.exceptions import GateClosed
from app.accounts.models import ROLE_RANK, User, WebSession
from app.errors import AppError, Forbidden, Unauthenticated
from app.partners import service as partners
from app.partners.models import ApiKey, Partner
from app.web.session import SessionDep, reads_only

SESSION_COOKIE = "archive_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
QUERY_KEY_NAMES = {"api_key", "apikey", "key", "token", "access_token", "auth"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class KeyInQuery(AppError):
    status = 400
    code = "key_in_query"


class CsrfFailed(AppError):
    status = 403
    code = "csrf_failed"


@dataclass
class Principal:
    kind: Literal["anonymous", "user", "partner"]
    user: User | None = None
    key: ApiKey | None = None
    partner: Partner | None = None
    via: str | None = None
    csrf_token: str | None = None
    scopes: list[str] = field(default_factory=list)
    # a web session's id, and what it must do before anything else (sessions.gate_of)
    session_id: int | None = None
    gate: str | None = None

    @property
    def role(self) -> str | None:
        return self.user.role if self.user else None

    @property
    def actor(self) -> str:
        if self.user is not None:
            return f"user:{self.user.email}"
        if self.partner is not None and self.key is not None:
            return f"partner:{self.partner.name}#key{self.key.id}"
        return "anonymous"

    def has_role(self, role: str) -> bool:
        return self.user is not None and ROLE_RANK[self.user.role] >= ROLE_RANK[role]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated(
            "use 'Authorization: Bearer <key or token>'", headers={"WWW-Authenticate": "Bearer"}
        )
    return value.strip()


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    ctype = request.headers.get("content-type", "")
    if sent is None and ctype.startswith("application/x-www-form-urlencoded"):
        sent_value = (await request.form()).get(CSRF_FIELD)
        sent = sent_value if isinstance(sent_value, str) else None
    if sent is None:
        sent = request.query_params.get(CSRF_FIELD)
    if not sent or not hmac.compare_digest(sent, expected):
        raise CsrfFailed(
            "this form has expired or did not come from this site; reload the page and try again"
        )


async def get_principal(request: Request, session: SessionDep) -> Principal:
    if QUERY_KEY_NAMES & set(request.query_params):
        raise KeyInQuery(
            "API keys and tokens are accepted only in the Authorization header, "
            "never in the URL (URLs end up in logs)"
        )
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = Principal(kind="anonymous")
    bearer = _bearer(request)
    if bearer is not None:
        if bearer.startswith(partners.KEY_PREFIX + "_"):
            found = await run_in_threadpool(partners.resolve_key, session, bearer)
            if found is None:
                raise Unauthenticated("unknown API key", headers={"WWW-Authenticate": "Bearer"})
            key, partner = found
            if key.revoked_at is not None:
                raise Unauthenticated(
                    "this API key has been revoked",
                    code="key_revoked",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            principal = Principal(
                kind="partner", key=key, partner=partner, via="key", scopes=list(key.scopes)
            )
        else:
            user = await run_in_threadpool(accounts.resolve_token, session, bearer)
            if user is None:
                raise Unauthenticated(
                    "unknown or revoked API token", headers={"WWW-Authenticate": "Bearer"}
                )
            principal = Principal(kind="user", user=user, via="token")
    elif token := request.cookies.get(SESSION_COOKIE):
        # Database work off the event loop: on SQLite a blocked BEGIN IMMEDIATE here would
        # stall the loop, so the request holding the lock could never commit (deadlock).
        found_session = await run_in_threadpool(sessions.resolve_session, session, token)
        if found_session is not None:
            user, web = found_session
            principal = Principal(
                kind="user",
                user=user,
                via="session",
                csrf_token=web.csrf_token,
                session_id=web.id,
                gate=sessions.gate_of(user, web),
            )
            request.state.web_session = web
            if request.method not in SAFE_METHODS:
                await _check_csrf(request, web.csrf_token)
            if sessions.needs_touch(web):
                # "last seen": in this request's transaction when it writes, else in a
                # short one of its own (a read-only transaction cannot write)
                own = None if reads_only(request) else session
                await run_in_threadpool(sessions.touch, own, web.id)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]

GATE_MESSAGES = {
    sessions.SECOND_FACTOR: "give your two-factor code first (POST /api/v1/auth/second-factor)",
    sessions.PASSWORD_CHANGE: ("change your one-time password first (POST /api/v1/me/password)"),
    sessions.TWO_FACTOR_ENROLMENT: (
        "your role needs two-factor log-in: set it up first (/team/account/two-factor)"
    ),
}


def check_gate(principal: Principal, allow: frozenset[str]) -> None:
    """403 with ``<gate>_required`` while the session has a gate this route does not allow."""
    gate = principal.gate
    if gate is not None and gate not in allow:
        raise GateClosed(GATE_MESSAGES[gate], code=f"{gate}_required")


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def client_of(request: Request) -> str:
    """Who logs in, for the session list: the address and the browser."""
    return sessions.client_label(client_address(request), request.headers.get("user-agent"))


def web_session_of(request: Request) -> WebSession | None:
    return getattr(request.state, "web_session", None)


def _rule(
    name: str, check: Callable[[Principal], None], allow: frozenset[str] = frozenset()
) -> Callable[..., Any]:
    gated = name in ("team", "reviewer", "admin")  # (public and partner routes are not)

    async def dependency(principal: PrincipalDep) -> Principal:
        check(principal)
        if gated:
            check_gate(principal, allow)
        return principal

    dependency.access_rule = name  # type: ignore[attr-defined]
    dependency.__name__ = f"access_{name}"
    return dependency


def _anyone(_: Principal) -> None:
    return None


def _needs_role(role: str) -> Callable[[Principal], None]:
    def check(p: Principal) -> None:
        if p.user is None:
            raise Unauthenticated(
                "log in or send a team API token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not p.has_role(role):
            raise Forbidden(f"this needs the {role} role (you are {p.user.role})")

    return check


def _partner_scope(scope: str, *, anonymous: bool) -> Callable[[Principal], None]:
    """Partner API: a key with ``scope``; anonymous callers too when ``anonymous``."""

    def check(p: Principal) -> None:
        if p.kind == "partner":
            if scope not in p.scopes:
                raise Forbidden(
                    f"this API key lacks the {scope!r} scope (it has: {', '.join(p.scopes)})",
                    code="missing_scope",
                )
            return
        if anonymous:
            return
        if p.user is not None:
            raise Forbidden(f"this needs a partner API key with the {scope!r} scope")
        raise Unauthenticated(
            f"send a partner API key with the {scope!r} scope as 'Authorization: Bearer vak_...'",
            headers={"WWW-Authenticate": "Bearer"},
        )

    return check


public = _rule("public", _anyone)
partner_read = _rule("partner_read", _partner_scope("read", anonymous=True))
partner_export = _rule("partner_export", _partner_scope("export", anonymous=False))
partner_feed = _rule("partner_feed", _partner_scope("feed", anonymous=False))
team = _rule("team", _needs_role("contributor"))
reviewer = _rule("reviewer", _needs_role("reviewer"))
admin = _rule("admin", _needs_role("admin"))

# the routes a session may use before its gate is passed (still the "team" rule)
team_second_factor = _rule("team", _needs_role("contributor"), frozenset({sessions.SECOND_FACTOR}))
team_password_change = _rule(
    "team",
    _needs_role("contributor"),
    frozenset({sessions.PASSWORD_CHANGE, sessions.TWO_FACTOR_ENROLMENT}),
)
team_enrolment = _rule(
    "team", _needs_role("contributor"), frozenset({sessions.TWO_FACTOR_ENROLMENT})
)

Anyone = Annotated[Principal, Depends(public)]
SecondFactorPending = Annotated[Principal, Depends(team_second_factor)]
ChangingPassword = Annotated[Principal, Depends(team_password_change)]
Enrolling = Annotated[Principal, Depends(team_enrolment)]
TeamMember = Annotated[Principal, Depends(team)]
Reviewer = Annotated[Principal, Depends(reviewer)]
Admin = Annotated[Principal, Depends(admin)]
PartnerRead = Annotated[Principal, Depends(partner_read)]
PartnerExport = Annotated[Principal, Depends(partner_export)]
PartnerFeed = Annotated[Principal, Depends(partner_feed)]
