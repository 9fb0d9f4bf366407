"""Run Alembic programmatically (used by `archive migrate` and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from app.config import PROJECT_ROOT, get_settings


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def check(url: str | None = None) -> None:
    """Raise when the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(url))


# The custody log's tables: the serving role may add to them and read them, nothing else.
APPEND_ONLY_TABLES = ("custody_event", "custody_node", "custody_checkpoint")


class RoleError(ValueError):
    """`archive migrate --app-role` cannot grant to this role; str() says why."""


def grant_app_role(role: str, url: str | None = None) -> list[str]:
    """PostgreSQL: give the serving role ``role`` what the app needs and no more.

    The migration role (the one running this, which owns the tables) keeps ownership, so
    the serving role can neither ``ALTER TABLE ... DISABLE TRIGGER`` nor rename, drop or
    replace a table, nor create one in ``public``. It gets SELECT, INSERT, UPDATE, DELETE on
    every table except the custody log's, where it gets SELECT and INSERT only, and
    read-only access to ``alembic_version``. Returns the statements run."""
    import re

    from sqlalchemy import create_engine, text

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise RoleError(f"{role!r} is not a plain role name (lower case, digits, _)")
    engine = create_engine(url or get_settings().database_url)
    try:
        if engine.dialect.name != "postgresql":
            raise RoleError("--app-role is for PostgreSQL (SQLite has no roles)")
        with engine.begin() as conn:
            if (
                conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
                is None
            ):
                raise RoleError(
                    f"role {role} does not exist; create it first, e.g. "
                    f"CREATE ROLE {role} LOGIN PASSWORD '...'"
                )
            if conn.execute(text("SELECT current_user")).scalar() == role:
                raise RoleError("the serving role must not be the migration role (the owner)")
            tables = ", ".join(APPEND_ONLY_TABLES)
            statements = [
                f'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "{role}"',
                f'GRANT USAGE ON SCHEMA public TO "{role}"',
                f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
                f'REVOKE UPDATE, DELETE, TRUNCATE ON {tables} FROM "{role}"',
                f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM "{role}"',
                f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
            ]
            for statement in statements:
                conn.execute(text(statement))
        return statements
    finally:
        engine.dispose()
