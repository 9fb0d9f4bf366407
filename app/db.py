"""Database: declarative Base with a naming convention, engine, and the session boundary.

One transaction per request or job: services only ``flush()``; ``session_scope`` and the
web's session dependency (app/web/session.py) commit or roll back at the boundary. No web
framework here: services, jobs and the CLI import this module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Executable, MetaData, create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


READ_ONLY = "archive_read_only"
"""Execution option of the read-only engine (:func:`read_engine`): its transactions only read."""


def make_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """The engine, its pool sized for ``pool_size`` connections checked out at once (by
    default ``Settings.effective_db_pool_size``: the request threads plus the job workers;
    the pool never opens more, and a checkout waits at most 30 s)."""
    size = pool_size or get_settings().effective_db_pool_size
    pool = {"pool_size": size, "max_overflow": 0, "pool_timeout": 30}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # SQLAlchemy emits BEGIN itself (the DBAPI's own transaction handling is off), so
        # transactions behave as on PostgreSQL; which BEGIN depends on the engine (below).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun by the "begin" listener
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock up front (``BEGIN IMMEDIATE``): a transaction that read
    first and then tried to write would get SQLITE_BUSY at once whenever another writer had
    committed since its read began (WAL cannot upgrade a stale snapshot), and the busy
    timeout does not help then. Readers (``READ_ONLY``) begin deferred: under WAL they never
    wait for the write lock, and ``query_only`` makes any write in them fail loudly instead
    of trying that upgrade."""
    read_only = bool(conn.get_execution_options().get(READ_ONLY))
    info = conn.connection.info  # per DBAPI connection, kept by the pool
    if info.get("query_only") is not read_only:
        conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
        info["query_only"] = read_only
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def read_engine() -> Engine:
    """The same engine and pool, for transactions that only read: deferred on SQLite (they
    never wait for a writer), ``READ ONLY`` on PostgreSQL. A write in one is an error."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{READ_ONLY: True, "postgresql_readonly": True})
    return engine.execution_options(**{READ_ONLY: True})


@lru_cache
def _session_factory(read_only: bool = False) -> sessionmaker[Session]:
    bind = read_engine() if read_only else get_engine()
    return sessionmaker(bind=bind, expire_on_commit=False)


def reset_engine() -> None:
    """Forget the cached engine (tests and the CLI switch databases)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    read_engine.cache_clear()
    _session_factory.cache_clear()


def fetch_rows(session: Session, stmt: Executable, params: dict[str, Any]) -> list[Any]:
    """All rows of a column-only SELECT, run through Core on the session's connection.

    For listings: it skips the ORM's row loading (a quarter of a 50-row page's cost) and
    returns the same named rows. Pending ORM changes are flushed first, as autoflush would."""
    session.flush()
    return list(session.connection().execute(stmt, params).all())


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def new_session(*, read_only: bool = False) -> Session:
    """A session; ``read_only`` ones run in read transactions (:func:`read_engine`)."""
    return _session_factory(read_only)()


_ON_END = "archive_on_transaction_end"
_COMMITTED = "archive_committed"


def on_transaction_end(session: Session, fn: Callable[[bool], None]) -> None:
    """Call ``fn(committed)`` once the session's current transaction is over: committed,
    rolled back, or closed without a commit (``committed`` is False then)."""
    session.info.setdefault(_ON_END, []).append(fn)


@event.listens_for(Session, "after_commit")
def _mark_committed(session: Session) -> None:
    # also emitted when a savepoint is released: only the outermost commit counts
    if session.info.get(_ON_END) and not session.in_nested_transaction():
        session.info[_COMMITTED] = True


@event.listens_for(Session, "after_transaction_end")
def _run_on_end(session: Session, transaction: Any) -> None:
    if transaction.parent is not None:  # a savepoint or subtransaction: not the end yet
        return
    fns: list[Callable[[bool], None]] = session.info.pop(_ON_END, [])
    committed = bool(session.info.pop(_COMMITTED, False))
    for fn in fns:
        try:
            fn(committed)
        except Exception:  # noqa: BLE001 - never turn a finished transaction into an error
            logging.getLogger("archive.db").exception("a transaction-end callback failed")


def ping(session: Session) -> None:
    """A round trip to the database on this session (the health check)."""
    session.execute(text("SELECT 1"))
