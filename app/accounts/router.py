"""Log-in and log-out (cookie sessions), the caller's own account (password, two-factor,
sessions), and user management for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.accounts import login as logins
from app.accounts import service, sessions, two_factor
from app.accounts.deps import (
    SESSION_COOKIE,
    Admin,
    Anyone,
    ChangingPassword,
    Enrolling,
    SecondFactorPending,
    TeamMember,
    client_address,
    client_of,
    web_session_of,
)
from app.accounts.models import User
from app.accounts.schemas import (
    CodeRequest,
    LoginRequest,
    LoginResponse,
    PasswordChange,
    PasswordReset,
    RecoveryCodes,
    SessionRead,
    SessionsEnded,
    TwoFactorSetup,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from app.config import get_settings
from app.web.session import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=UnitOfWorkRoute)
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        can_publish=user.can_publish,
        is_active=user.is_active,
        must_change_password=user.must_change_password,
        two_factor=two_factor.enabled(user),
        created_at=user.created_at,
    )


def set_session_cookie(response: Response, token: str, max_age: int) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


@router.post(
    "/auth/login",
    response_model=LoginResponse,
    summary="Log in (sets a cookie)",
    responses={401: {"description": "wrong credentials"}, 429: {"description": "throttled"}},
)
def login(
    data: LoginRequest, request: Request, session: SessionDep, response: Response, _: Anyone
) -> LoginResponse:
    """Failed log-ins are throttled per account and per address (429 with Retry-After).
    With two-factor on, send ``code`` too, or POST it to /auth/second-factor next."""
    done = logins.log_in(
        session,
        email=data.email,
        password=data.password,
        address=client_address(request),
        client=client_of(request),
        code=data.code,
    )
    set_session_cookie(response, done.new.token, done.new.max_age)
    return LoginResponse(
        user=user_read(done.user),
        csrf_token=done.new.csrf_token,
        second_factor_required=done.second_factor_pending,
        password_change_required=done.user.must_change_password,
    )


@router.post("/auth/second-factor", status_code=204, summary="Give the two-factor code")
def second_factor(
    data: CodeRequest, request: Request, session: SessionDep, who: SecondFactorPending
) -> Response:
    web = web_session_of(request)
    if who.user is not None and web is not None and web.second_factor_pending:
        logins.give_second_factor(
            session, who.user, web, data.code, address=client_address(request)
        )
    return Response(status_code=204)


@router.post("/auth/logout", status_code=204, summary="Log out (ends this session)")
def logout(request: Request, session: SessionDep, _: Anyone) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        sessions.end_session(session, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=UserRead, summary="The logged-in team member")
def me(who: TeamMember) -> UserRead:
    assert who.user is not None
    return user_read(who.user)


@router.post("/me/password", status_code=204, summary="Change your own password")
def change_password(data: PasswordChange, session: SessionDep, who: ChangingPassword) -> Response:
    """At least 12 characters and not a common password. Your other sessions end."""
    assert who.user is not None
    service.change_password(
        session,
        who.user,
        current=data.current_password,
        new=data.new_password,
        actor=who.actor,
        keep_session=who.session_id,
    )
    return Response(status_code=204)


@router.post("/me/two-factor", response_model=TwoFactorSetup, summary="Start TOTP set-up")
def begin_two_factor(session: SessionDep, who: Enrolling) -> TwoFactorSetup:
    assert who.user is not None
    uri = two_factor.begin_enrolment(session, who.user)
    return TwoFactorSetup(secret=two_factor.secret_of(who.user) or "", otpauth_uri=uri)


@router.post(
    "/me/two-factor/confirm", response_model=RecoveryCodes, summary="Turn TOTP on with a code"
)
def confirm_two_factor(data: CodeRequest, session: SessionDep, who: Enrolling) -> RecoveryCodes:
    assert who.user is not None
    codes = two_factor.confirm_enrolment(session, who.user, data.code, actor=who.actor)
    return RecoveryCodes(recovery_codes=codes)


@router.get("/me/sessions", response_model=list[SessionRead], summary="Your active sessions")
def my_sessions(session: SessionDep, who: TeamMember) -> list[SessionRead]:
    assert who.user is not None
    found = sessions.list_sessions(session, who.user.id, current=who.session_id)
    return [SessionRead(**vars(s)) for s in found]


@router.delete("/me/sessions/{session_id}", status_code=204, summary="End one of your sessions")
def end_my_session(session_id: RowId, session: SessionDep, who: TeamMember) -> Response:
    assert who.user is not None
    sessions.end_own_session(session, who.user, session_id, actor=who.actor)
    return Response(status_code=204)


@router.delete("/me/sessions", response_model=SessionsEnded, summary="Log out everywhere")
def end_my_sessions(session: SessionDep, who: TeamMember) -> SessionsEnded:
    assert who.user is not None
    return SessionsEnded(ended=sessions.end_all_own_sessions(session, who.user, actor=who.actor))


@router.get("/users", response_model=list[UserRead], summary="All users (admins)")
def list_users(session: SessionDep, _: Admin) -> list[UserRead]:
    return [user_read(u) for u in service.list_users(session)]


@router.post("/users", response_model=UserCreated, status_code=201, summary="Add a user")
def create_user(data: UserCreate, session: SessionDep, who: Admin) -> UserCreated:
    user, password = service.create_user(
        session,
        email=data.email,
        role=data.role,
        name=data.name,
        can_publish=data.can_publish,
        actor=who.actor,
    )
    assert password is not None
    return UserCreated(user=user_read(user), one_time_password=password)


@router.patch("/users/{user_id}", response_model=UserRead, summary="Disable, re-role a user")
def update_user(
    user_id: RowId,
    data: UserUpdate,
    session: SessionDep,
    who: Admin,
) -> UserRead:
    """Admins can always publish; nobody disables or demotes their own account."""
    change = service.UserChange(
        version=data.version,
        role=data.role,
        can_publish=data.can_publish,
        is_active=data.is_active,
    )
    return user_read(service.update_user(session, user_id, change, by=who.user, actor=who.actor))


@router.post(
    "/users/{user_id}/password-reset",
    response_model=PasswordReset,
    summary="Reset a user's password (admins)",
)
def reset_password(user_id: RowId, session: SessionDep, who: Admin) -> PasswordReset:
    """A new one-time password, to be changed at the next log-in; the user's sessions end."""
    password = service.reset_password(session, user_id, by=who.user, actor=who.actor)
    return PasswordReset(one_time_password=password)
