from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings


def test_development_generates_a_secret_once_and_keeps_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ARCHIVE_SECRET_KEY", raising=False)
    first = Settings(var_dir=tmp_path)
    second = Settings(var_dir=tmp_path)
    assert len(first.secret_key) >= 32 and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("secret", ["", "change-me", "short"])
def test_production_refuses_to_start_without_a_real_secret(
    tmp_path: Path, monkeypatch, secret: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ARCHIVE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="ARCHIVE_SECRET_KEY"):
        Settings(environment="production", secret_key=secret, var_dir=tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_defaults_are_sqlite_under_var_and_env_prefix(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ARCHIVE_DATABASE_URL", raising=False)
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ARCHIVE_MAX_UPLOAD_BYTES", "1234")
    s = Settings()
    assert s.database_url == f"sqlite:///{tmp_path / 'archive.db'}"
    assert s.max_upload_bytes == 1234 and s.is_sqlite


def test_sqlite_runs_wal_full_sync_foreign_keys_busy_timeout(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite pragmas")
    from sqlalchemy import text

    from app.db import get_engine

    with get_engine().connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    missing = [
        f"ARCHIVE_{name.upper()}"
        for name in Settings.model_fields
        if f"ARCHIVE_{name.upper()}" not in readme
    ]
    assert not missing, f"settings missing from the README's configuration table: {missing}"
