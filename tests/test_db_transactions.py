"""Read-only transactions (app/db.py): reads never take the write lock, and a write inside
one fails loudly instead of trying SQLite's read-to-write upgrade."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.db import new_session, session_scope
from app.places.models import Place


def test_a_write_in_a_read_only_transaction_fails_and_the_connection_recovers(
    db_url: str,
) -> None:
    reader = new_session(read_only=True)
    try:
        assert reader.scalar(select(func.count(Place.id)))
        with pytest.raises(DBAPIError):
            reader.execute(text("UPDATE place SET name_en = name_en WHERE id = 1"))
    finally:
        reader.rollback()
        reader.close()
    for _ in range(3):  # the same pooled connections then write as usual
        with session_scope() as writer:
            writer.execute(text("UPDATE place SET name_en = name_en WHERE id = 1"))
        reader = new_session(read_only=True)
        assert reader.scalar(select(func.count(Place.id)))
        reader.close()


def test_readers_share_the_database_with_a_writer_holding_its_lock(db_url: str) -> None:
    with session_scope() as writer:
        writer.execute(text("UPDATE place SET name_en = name_en WHERE id = 1"))  # lock held
        readers = [new_session(read_only=True) for _ in range(3)]
        try:
            assert all(r.scalar(select(func.count(Place.id))) for r in readers)
        finally:
            for r in readers:
                r.close()
