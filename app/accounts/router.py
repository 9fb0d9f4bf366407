"""Log-in and log-out (cookie sessions), and user management for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.accounts import service
from app.accounts.deps import SESSION_COOKIE, Admin, Anyone, TeamMember
from app.accounts.models import User
from app.accounts.schemas import (
    LoginRequest,
    LoginResponse,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from app.config import get_settings
from app.errors import Unauthenticated
from app.web.session import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=UnitOfWorkRoute)


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        can_publish=user.can_publish,
        is_active=user.is_active,
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


@router.post("/auth/login", response_model=LoginResponse, summary="Log in (sets a cookie)")
def login(data: LoginRequest, session: SessionDep, response: Response, _: Anyone) -> LoginResponse:
    user = service.authenticate(session, data.email, data.password)
    if user is None:
        raise Unauthenticated(
            "wrong email or password, or the account is disabled", code="login_failed"
        )
    new = service.start_session(session, user, max_age=get_settings().session_max_age_seconds)
    set_session_cookie(response, new.token, new.max_age)
    return LoginResponse(user=user_read(user), csrf_token=new.csrf_token)


@router.post("/auth/logout", status_code=204, summary="Log out (ends this session)")
def logout(request: Request, session: SessionDep, _: Anyone) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.end_session(session, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=UserRead, summary="The logged-in team member")
def me(who: TeamMember) -> UserRead:
    assert who.user is not None
    return user_read(who.user)


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
    user_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
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
