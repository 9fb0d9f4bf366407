"""Migrations build every schema: upgrade on an empty DB, no drift, down to base and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from app.config import get_settings
from app.db import reset_engine
from app.migrate import check, downgrade, upgrade
from app.models import Base


def _round_trip(url: str) -> None:
    upgrade(url)
    check(url)  # raises when models and migrations disagree
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
    downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    check(url)


def test_sqlite_upgrade_check_downgrade_upgrade(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    _round_trip(f"sqlite:///{tmp_path / 'm.db'}")
    reset_engine()


@pytest.mark.postgres
def test_postgres_upgrade_check_downgrade_upgrade(
    fresh_pg_url: str, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    _round_trip(fresh_pg_url)


def test_migration_file_names_follow_the_template() -> None:
    import re

    names = [p.name for p in (Path(__file__).parents[1] / "migrations" / "versions").glob("*.py")]
    assert names
    bad = [n for n in names if not re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{4}_[a-z0-9_]+\.py", n)]
    assert not bad
