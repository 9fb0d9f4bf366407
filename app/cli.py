"""The `archive` command. Run `archive --help` for the list of commands."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.config import get_settings
from app.i18n import translate_plural

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.clips.importer import ImportReport

app = typer.Typer(
    help="Video evidence archive: serve, migrate, import, manage accounts and keys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
users_app = typer.Typer(help="Team accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal API tokens for the team's scripts.", no_args_is_help=True)
apikeys_app = typer.Typer(help="Partner API keys.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(apikeys_app, name="apikeys")


def fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development)")] = False,
) -> None:
    """Serve the web site and the API (migrations are a separate command: `archive migrate`).
    ARCHIVE_HTTP_PROTOCOL chooses the HTTP protocol (buffered, the default, or uvicorn)."""
    from app.server import serve as run

    run(host, port, reload=reload)


@app.command()
def migrate(
    app_role: Annotated[
        str | None,
        typer.Option(
            "--app-role",
            help="PostgreSQL: the serving role to grant (INSERT and SELECT only on the "
            "custody log; normal rights elsewhere). Run as the migration role (the owner).",
        ),
    ] = None,
) -> None:
    """Apply database migrations up to the latest, then seed the places."""
    from app.migrate import RoleError, grant_app_role, upgrade
    from app.places.service import seed
    from app.tasks import session_scope

    upgrade()
    with session_scope() as session:
        added = seed(session)
    typer.echo(f"database is at the latest migration; {added} places added")
    if app_role:
        try:
            grant_app_role(app_role)
        except RoleError as exc:
            fail(str(exc), code=2)
        typer.echo(
            f"granted {app_role}: SELECT and INSERT on the custody log, read/write elsewhere"
        )


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns code, city, province, date, "
            "title, description, title_fa, description_fa",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    published: Annotated[
        bool,
        typer.Option(help="Enter the rows as published records without media (needs --by ADMIN)"),
    ] = False,
    source: Annotated[
        str | None, typer.Option(help="Who the records come from (shown with them)")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(help="Email of the team member doing the import (an admin for --published)"),
    ] = None,
    create_places: Annotated[
        bool,
        typer.Option(
            "--create-places",
            help="Allow provinces that are not in the gazetteer (they are created and listed)",
        ),
    ] = False,
) -> None:
    """Import catalogue rows from CSV: all or nothing; importing again changes nothing."""
    from app.accounts.service import get_user_by_email
    from app.clips.importer import ImportFailed
    from app.errors import AppError
    from app.tasks import session_scope

    try:
        with session_scope() as session:
            actor, user_id = cli_actor(), None
            if by:
                user = get_user_by_email(session, by)
                actor, user_id = f"user:{user.email}", user.id
                if published and user.role != "admin":
                    fail(f"{by} is a {user.role}; only admins may import published records")
            elif published:
                fail("--published needs --by EMAIL of an admin (the custody log records who)")
            if published and not source:
                fail("--published needs --source NAME: imported records are attributed to it")
            report = _run_import(session, file, actor, user_id, published, source, create_places)
    except ImportFailed as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        for row in exc.extra.get("rows", []):
            typer.echo(f"  {row}", err=True)
        raise typer.Exit(1) from None
    except AppError as exc:
        fail(exc.message)
    _print_report(report)


def _run_import(
    session: Session,
    file: Path,
    actor: str,
    user_id: int | None,
    published: bool,
    source: str | None,
    create_places: bool,
) -> ImportReport:
    from contextlib import ExitStack

    from app.clips.importer import import_csv

    threshold = get_settings().import_progress_threshold
    with ExitStack() as stack:
        bar: list[Any] = []
        done = [0]

        def progress(i: int, total: int) -> None:
            # The bar starts when the writing starts (progress(0, n)), with the number of
            # rows to write: its clock must not count reading and checking the file, or the
            # first estimate extrapolates that set-up cost over every row.
            if i == 0:
                if total > threshold and sys.stderr.isatty():
                    bar.append(
                        stack.enter_context(
                            typer.progressbar(length=total, label="importing", file=sys.stderr)
                        )
                    )
                return
            if bar:
                bar[0].update(i - done[0])
            done[0] = i

        return import_csv(
            session,
            file,
            actor=actor,
            user_id=user_id,
            published=published,
            source=source,
            progress=progress,
            create_places=create_places,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _print_report(report: ImportReport) -> None:
    typer.echo(
        f"{translate_plural('en', 'err.count.rows', report.rows)}: {len(report.created)} created, "
        f"{report.unchanged} already present"
    )
    for place in report.places_created:
        typer.echo(f"  new place: {place}")


@app.command()
def demo(
    if_empty: Annotated[
        bool,
        typer.Option("--if-empty", help="Only when the catalogue has no clips yet (first run)"),
    ] = False,
) -> None:
    """Load the demo archive (the 2019 protest listing) as published records."""
    from app.clips.demo import load_demo
    from app.config import get_settings
    from app.tasks import session_scope

    if if_empty and not get_settings().demo_on_first_run:
        typer.echo("ARCHIVE_DEMO_ON_FIRST_RUN is off; demo archive not loaded")
        return
    with session_scope() as session:
        report = load_demo(session, only_if_empty=if_empty)
    if report is None:
        typer.echo("catalogue is not empty; demo archive not loaded")
        return
    _print_report(report)


@users_app.command("create")
def users_create(
    email: str,
    role: Annotated[str, typer.Option(help="admin, reviewer or contributor")] = "contributor",
    name: Annotated[str, typer.Option(help="Display name")] = "",
    can_publish: Annotated[bool, typer.Option(help="Reviewer may publish")] = False,
) -> None:
    """Create a team member and print a one-time password."""
    from app.accounts.service import create_user
    from app.errors import AppError
    from app.tasks import session_scope

    try:
        with session_scope() as session:
            user, password = create_user(
                session,
                email=email,
                role=role,
                name=name,
                can_publish=can_publish,
                actor=cli_actor(),
            )
    except AppError as exc:
        fail(exc.message)
    typer.echo(f"created {role} {user.email}")
    typer.echo(f"one-time password: {password}")


@users_app.command("ensure-admin")
def users_ensure_admin(
    email: Annotated[str, typer.Option(help="Email of the first admin")] = "admin@localhost",
) -> None:
    """Create the first admin when there are no users yet, and print its one-time password."""
    from app.accounts.service import count_users, create_user
    from app.tasks import session_scope

    with session_scope() as session:
        if count_users(session):
            typer.echo("users exist; no admin created")
            return
        user, password = create_user(
            session, email=email, role="admin", name="Admin", actor=cli_actor()
        )
    typer.secho(
        f"first admin: {user.email}  one-time password: {password}",
        fg=typer.colors.GREEN,
        bold=True,
    )
    typer.echo("(shown once: write it down; log in at /login)")


@users_app.command("disable")
def users_disable(email: str) -> None:
    """Disable an account and end its sessions and tokens."""
    from app.accounts.service import UserChange, get_user_by_email, update_user
    from app.errors import AppError
    from app.tasks import session_scope

    try:
        with session_scope() as session:
            user = get_user_by_email(session, email)
            update_user(session, user.id, UserChange(is_active=False), by=None, actor=cli_actor())
    except AppError as exc:
        fail(exc.message)
    typer.echo(f"disabled {email}; its sessions and tokens no longer work")


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def _read_new_password() -> str:
    """Prompt twice on a terminal; otherwise read one line from stdin (for scripts)."""
    if _stdin_is_tty():
        first = getpass.getpass("new password: ")
        if getpass.getpass("new password again: ") != first:
            fail("the two passwords are not the same")
        return first
    line = sys.stdin.readline()
    if not line.strip():
        fail("no password on stdin")
    return line.rstrip("\r\n")


@users_app.command("set-password")
def users_set_password(email: str) -> None:
    """Set a user's password (prompted twice, or one line on stdin when not a terminal).

    The password must follow the rules (12+ characters, not a common one); the user's web
    sessions end and a one-time password no longer needs changing."""
    from app.accounts.service import change_password, get_user_by_email
    from app.errors import AppError
    from app.tasks import session_scope

    password = _read_new_password()
    try:
        with session_scope() as session:
            user = get_user_by_email(session, email)
            change_password(session, user, current=None, new=password, actor=cli_actor())
    except AppError as exc:
        fail(exc.message)
    typer.echo(f"password set for {email}; its web sessions were ended")


@users_app.command("reset-password")
def users_reset_password(
    email: str,
    two_factor: Annotated[
        bool, typer.Option("--two-factor", help="Also turn off two-factor log-in (lost phone)")
    ] = False,
) -> None:
    """Issue a new one-time password (to be changed at the next log-in); sessions end."""
    from app.accounts import two_factor as totp
    from app.accounts.service import get_user_by_email, reset_password
    from app.errors import AppError
    from app.tasks import session_scope

    try:
        with session_scope() as session:
            user = get_user_by_email(session, email)
            password = reset_password(session, user.id, by=None, actor=cli_actor())
            if two_factor:
                totp.disable(session, user, actor=cli_actor())
    except AppError as exc:
        fail(exc.message)
    typer.echo(f"one-time password for {email}: {password}")
    if two_factor:
        typer.echo("two-factor log-in is off; they set it up again after logging in")


@tokens_app.command("create")
def tokens_create(
    email: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "",
) -> None:
    """Create a personal API token for a team member (shown once)."""
    from app.accounts.service import create_token, get_user_by_email
    from app.errors import AppError
    from app.tasks import session_scope

    try:
        with session_scope() as session:
            user = get_user_by_email(session, email)
            token, plain = create_token(session, user, name, actor=cli_actor())
    except AppError as exc:
        fail(exc.message)
    typer.echo(f"token {token.id} for {email} (shown once; send as 'Authorization: Bearer …'):")
    typer.echo(plain)


@apikeys_app.command("create")
def apikeys_create(
    partner: str,
    scope: Annotated[list[str] | None, typer.Option(help="read, export, feed (repeatable)")] = None,
    rate: Annotated[int, typer.Option(help="Requests per minute")] = 600,
) -> None:
    """Create a partner API key (shown once, stored hashed)."""
    from app.errors import AppError
    from app.partners.service import create_key, get_or_create_partner
    from app.tasks import session_scope

    try:
        with session_scope() as session:
            p = get_or_create_partner(session, partner)
            key, plain = create_key(session, p, scope or ["read"], rate, actor=cli_actor())
    except AppError as exc:
        fail(exc.message)
    typer.echo(f"key {key.id} for {partner}, scopes {', '.join(key.scopes)} (shown once):")
    typer.echo(plain)


@apikeys_app.command("revoke")
def apikeys_revoke(key_id: int) -> None:
    """Revoke a partner API key; it stops working on the next request."""
    from app.errors import AppError
    from app.partners.service import revoke_key
    from app.tasks import session_scope

    try:
        with session_scope() as session:
            revoke_key(session, key_id, actor=cli_actor())
    except AppError as exc:
        fail(exc.message)
    typer.echo(f"revoked key {key_id}")


@apikeys_app.command("list")
def apikeys_list() -> None:
    """List partner keys (never the keys themselves)."""
    from app.partners.service import list_keys
    from app.tasks import session_scope

    with session_scope() as session:
        for key, partner in list_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            typer.echo(f"{key.id}\t{partner.name}\t{key.prefix}…\t{','.join(key.scopes)}\t{state}")


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="parallel jobs (default ARCHIVE_JOB_WORKERS)")
    ] = None,
    pool: Annotated[str, typer.Option(help="Celery pool (prefork, threads, solo)")] = "prefork",
) -> None:
    """Run processing jobs: a Celery worker when ARCHIVE_JOBS=celery, otherwise workers that
    claim queued jobs straight from the database (for servers run with ARCHIVE_JOBS=off)."""
    from app.worker import run

    run(concurrency, pool=pool)


from app.ingest.commands import register as _register_ingest_commands  # noqa: E402

_register_ingest_commands(app)

from app.custody.commands import register as _register_custody_commands  # noqa: E402

_register_custody_commands(app)
from app.evidence.commands import register as _register_evidence_commands  # noqa: E402

_register_evidence_commands(app)
from app.duplicates.commands import register as _register_duplicate_commands  # noqa: E402

_register_duplicate_commands(app)
from app.ingest.storage_commands import register as _register_storage_commands  # noqa: E402

_register_storage_commands(app)


if __name__ == "__main__":  # pragma: no cover
    app()
