"""Which database errors mean "the database is unavailable" (503) or "its disk is full" (507).

Every request runs in one transaction, so when the database fails under a request nothing
of it is saved; the client gets a JSON 503 ``database_unavailable`` with ``Retry-After``
instead of a bare 500, and the server recovers by itself: PostgreSQL connections are
pre-pinged when taken from the pool, and SQLAlchemy drops the whole pool after a
disconnect, so the first request once the server is back gets a fresh connection.

- PostgreSQL: connection failures (refused, reset, closed: no SQLSTATE, or class 08),
  an administrator or crash shutdown (57P01-57P03), too many connections (53300); a full
  disk (53100) is a 507.
- SQLite: "database is locked" after the busy timeout (SQLITE_BUSY/LOCKED), a file that
  cannot be opened or read (CANTOPEN, IOERR, NOTADB); "database or disk is full"
  (SQLITE_FULL) is a 507. Not SQLITE_READONLY: a write inside a read-only request's
  transaction (``query_only``, app/db.py) is a bug and stays a 500.

Anything else stays what it is (an integrity error is a bug or a 409 handled elsewhere).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from app.errors import AppError, DatabaseUnavailable, InsufficientStorage

SQLITE_UNAVAILABLE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_NOTADB",
    "SQLITE_PROTOCOL",
)
PG_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03", "53300")
PG_FULL_STATES = ("53100",)

UNAVAILABLE = "the database is unavailable right now; nothing was saved. Try again shortly."
BUSY = "the database is busy right now; nothing was saved. Try again shortly."
FULL = "the database's disk is full; nothing was saved. Try again once there is space."


def classify(exc: BaseException) -> AppError | None:
    """The AppError a database failure means for the client, or None (not one of ours)."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "") or ""
        if name.startswith("SQLITE_FULL"):
            return InsufficientStorage(FULL)
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return DatabaseUnavailable(BUSY)
        if name.startswith(SQLITE_UNAVAILABLE):
            return DatabaseUnavailable(UNAVAILABLE)
        return None
    state = getattr(orig, "sqlstate", None)
    if state in PG_FULL_STATES:
        return InsufficientStorage(FULL)
    if exc.connection_invalidated or (state or "").startswith("08"):
        return DatabaseUnavailable(UNAVAILABLE)
    if state in PG_UNAVAILABLE_STATES:
        return DatabaseUnavailable(UNAVAILABLE)
    if state is None and isinstance(exc, OperationalError | InterfaceError):
        return DatabaseUnavailable(UNAVAILABLE)  # the driver's own: cannot connect, closed
    return None
