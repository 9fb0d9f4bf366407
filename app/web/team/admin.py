"""Admin pages: users, partner API keys, and the checklist template."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Request
from fastapi.responses import Response

from app.accounts import service as accounts
from app.accounts.models import ROLES
from app.errors import AppError
from app.partners import service as partners
from app.partners.models import SCOPES
from app.review import checklist
from app.web.session import SessionDep
from app.web.team.common import AdminPage, make_router, page, see_other
from app.web.templating import render

router = make_router()
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # (PostgreSQL integer ids)


def _users_page(request: Request, session: SessionDep, **ctx: Any) -> Response:
    users = accounts.list_users(session)
    status = ctx.pop("status", 200)
    return render(
        request,
        "team/admin_users.html",
        {"users": users, "roles": ROLES, "flash": request.query_params.get("done"), **ctx},
        status_code=status,
    )


@page(router, "/team/admin/users")
def users_page(request: Request, session: SessionDep, _: AdminPage) -> Response:
    return _users_page(request, session)


@page(router, "/team/admin/users", methods=("POST",))
def create_user(
    request: Request,
    session: SessionDep,
    who: AdminPage,
    email: Annotated[str, Form(max_length=254)],
    role: Annotated[str, Form(max_length=20)],
    name: Annotated[str, Form(max_length=200)] = "",
    can_publish: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        user, password = accounts.create_user(
            session,
            email=email,
            role=role,
            name=name,
            can_publish=can_publish == "on",
            actor=who.actor,
        )
    except AppError as exc:
        session.rollback()
        return _users_page(request, session, error=exc, status=exc.status)
    # the one-time password is shown once, on this response only (never in a URL)
    return _users_page(request, session, created=user.email, one_time_password=password)


@page(router, "/team/admin/users/{user_id}", methods=("POST",))
def update_user(
    user_id: RowId,
    request: Request,
    session: SessionDep,
    who: AdminPage,
    version: Annotated[int, Form()],
    role: Annotated[str, Form(max_length=20)],
    can_publish: Annotated[str, Form(max_length=5)] = "",
    is_active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    # the form sends every field: an unticked box is "no"
    change = accounts.UserChange(
        version=version, role=role, can_publish=can_publish == "on", is_active=is_active == "on"
    )
    try:
        accounts.update_user(session, user_id, change, by=who.user, actor=who.actor)
    except AppError as exc:
        session.rollback()
        return _users_page(request, session, error=exc, status=exc.status)
    return see_other(request, "/team/admin/users", done="saved")


@page(router, "/team/admin/users/{user_id}/password-reset", methods=("POST",))
def reset_password(
    user_id: RowId, request: Request, session: SessionDep, who: AdminPage
) -> Response:
    """A new one-time password (shown once, on this response only); the user's sessions end."""
    try:
        password = accounts.reset_password(session, user_id, by=who.user, actor=who.actor)
        email = accounts.get_user(session, user_id).email
    except AppError as exc:
        session.rollback()
        return _users_page(request, session, error=exc, status=exc.status)
    return _users_page(request, session, reset_for=email, one_time_password=password)


def _keys_page(request: Request, session: SessionDep, **ctx: Any) -> Response:
    status = ctx.pop("status", 200)
    return render(
        request,
        "team/admin_keys.html",
        {
            "keys": partners.list_keys(session),
            "scopes": SCOPES,
            "flash": request.query_params.get("done"),
            **ctx,
        },
        status_code=status,
    )


@page(router, "/team/admin/keys")
def keys_page(request: Request, session: SessionDep, _: AdminPage) -> Response:
    return _keys_page(request, session)


@page(router, "/team/admin/keys", methods=("POST",))
async def create_key(request: Request, session: SessionDep, who: AdminPage) -> Response:
    form = await request.form()
    name = str(form.get("partner") or "")
    contact = str(form.get("contact") or "")
    scopes = [str(s) for s in form.getlist("scopes")]
    from starlette.concurrency import run_in_threadpool

    def run() -> Response:
        try:
            partner = partners.get_or_create_partner(session, name, contact)
            _key, plain = partners.create_key(session, partner, scopes, actor=who.actor)
        except AppError as exc:
            session.rollback()
            return _keys_page(request, session, error=exc, status=exc.status)
        return _keys_page(request, session, created_key=plain, created_for=partner.name)

    return await run_in_threadpool(run)


@page(router, "/team/admin/keys/{key_id}/revoke", methods=("POST",))
def revoke_key(key_id: RowId, request: Request, session: SessionDep, who: AdminPage) -> Response:
    try:
        partners.revoke_key(session, key_id, actor=who.actor)
    except AppError as exc:
        session.rollback()
        return _keys_page(request, session, error=exc, status=exc.status)
    return see_other(request, "/team/admin/keys", done="revoked")


def _checklist_page(request: Request, session: SessionDep, **ctx: Any) -> Response:
    status = ctx.pop("status", 200)
    return render(
        request,
        "team/admin_checklist.html",
        {
            "items": checklist.template(session, include_retired=True),
            "flash": request.query_params.get("done"),
            **ctx,
        },
        status_code=status,
    )


@page(router, "/team/admin/checklist")
def checklist_page(request: Request, session: SessionDep, _: AdminPage) -> Response:
    return _checklist_page(request, session)


@page(router, "/team/admin/checklist", methods=("POST",))
def add_checklist_item(
    request: Request,
    session: SessionDep,
    who: AdminPage,
    key: Annotated[str, Form(max_length=64)],
    label_en: Annotated[str, Form(max_length=200)],
    label_fa: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=16)] = "plain",
) -> Response:
    try:
        checklist.add_item(
            session, key=key, label_en=label_en, label_fa=label_fa, kind=kind, actor=who.actor
        )
    except AppError as exc:
        session.rollback()
        return _checklist_page(request, session, error=exc, status=exc.status)
    return see_other(request, "/team/admin/checklist", done="added")
