"""`archive import`: all or nothing, idempotent, every bad row listed; and the demo archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app as cli
from app.clips.importer import ImportFailed, import_csv
from app.clips.models import Clip
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.places.models import Place

runner = CliRunner()


def write(tmp_path: Path, text: str, name: str = "in.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def counts() -> tuple[int, int]:
    with session_scope() as s:
        return (
            s.scalar(select(func.count(Clip.id))) or 0,
            s.scalar(select(func.count(CustodyEvent.id))) or 0,
        )


def run_import(path: Path) -> object:
    with session_scope() as s:
        return import_csv(s, path, actor="test")


def test_demo_archive_imports_103_clips_25_cities_11_provinces(db_url: str) -> None:
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "103 rows: 103 created" in result.output
    with session_scope() as s:
        rows = s.execute(
            select(
                Clip.code,
                Clip.status,
                Clip.source,
                Clip.date_display_en,
                Clip.title_en,
                Clip.place_id,
            )
        ).all()
        cities = {r.place_id for r in rows}
        provinces = set(s.scalars(select(Place.parent_id).where(Place.id.in_(cities))))
    assert len(rows) == 103 and len(cities) == 25 and len(provinces) == 11
    assert {r.status for r in rows} == {"published"}
    assert all("Amnesty International" in (r.source or "") for r in rows)
    by_code = {r.code: r for r in rows}
    assert by_code["IRN091"].date_display_en == "15 – 23 Nov 2019"
    assert by_code["IRN097"].date_display_en == "15 or 16 Nov 2019"
    assert by_code["IRN091"].title_en == "Protest footage, Abadan"
    again = runner.invoke(cli, ["demo", "--if-empty"])
    assert "not loaded" in again.output
    assert counts()[0] == 103


def test_bom_and_optional_columns_and_reimport_changes_nothing(db_url: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "city,province,date,title,title_fa\n"
        "Ahvaz,Khuzestan,16 Nov 2019,A,الف\n"
        "Ahvaz,Khuzestan,16 Nov 2019,A,الف\n"
        "Tabriz,East Azerbaijan,Nov 16 2019,,\n",
        bom=True,
    )
    first = run_import(path)
    assert len(first.created) == 3  # type: ignore[attr-defined]
    before = counts()
    second = run_import(path)
    assert second.created == [] and second.unchanged == 3  # type: ignore[attr-defined]
    assert counts()[0] == before[0]


def test_imported_codes_are_kept_and_reimport_matches_by_code(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "code,city,province,date\nIRN148,Isfahan,Isfahan,16 Nov 2019\n")
    assert run_import(path).created == ["IRN148"]  # type: ignore[attr-defined]
    assert run_import(path).unchanged == 1  # type: ignore[attr-defined]
    changed = write(
        tmp_path, "code,city,province,date\nIRN148,Isfahan,Isfahan,17 Nov 2019\n", "changed.csv"
    )
    with pytest.raises(ImportFailed) as err:
        run_import(changed)
    assert "line 2: code IRN148 already exists with different details" in err.value.extra["rows"]


def test_every_bad_row_is_listed_and_nothing_is_imported(db_url: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "code,city,province,date\n"
        "IRN001,Ahvaz,Khuzestan,16 Nov 2019\n"
        "IRN002,,Khuzestan,16 Nov 2019\n"
        "IRN003,Ahvaz,Khuzestan,31 Feb 2019\n"
        "IRN001,Ahvaz,Khuzestan,17 Nov 2019\n"
        "BAD,Ahvaz,Khuzestan,17 Nov 2019\n"
        "IRN006,Ahvaz,Khuzestan\n"
        "IRN007,Ahvaz,Khuzestan,16 Nov 2019\n",
    )
    before = counts()
    with pytest.raises(ImportFailed) as err:
        run_import(path)
    rows = err.value.extra["rows"]
    assert [r.split(":")[0] for r in rows] == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "city is empty" in rows[0]
    assert "31 Feb 2019" in rows[1]
    assert "also on line 2" in rows[2]
    assert "BAD" in rows[3]
    assert "3 fields" in rows[4]
    assert counts() == before


def test_unknown_city_is_created_under_its_province_and_reported(
    db_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "city,province,date\nVaramin,Tehran,16 Nov 2019\n")
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "new place: city Varamin (Tehran)" in result.output
    with session_scope() as s:
        city = s.scalars(select(Place).where(Place.name_en == "Varamin")).one()
        province = s.get(Place, city.parent_id)
    assert province is not None and province.name_en == "Tehran"


@pytest.mark.parametrize(
    "text,message",
    [
        ("city,province,date,camera\nAhvaz,Khuzestan,16 Nov 2019,x\n", "unknown column 'camera'"),
        ("city,date\nAhvaz,16 Nov 2019\n", "missing required column(s) province"),
        ("", "the file is empty"),
        ("city,city,province,date\n", "appear more than once"),
        ('city,province,date\n"Ahvaz,Khuzestan,16 Nov 2019\n', "line"),
    ],
)
def test_malformed_files_are_refused_with_a_clear_message(
    db_url: str, tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 1
    assert message in result.output
    assert counts() == (0, 0)


def test_non_utf8_file_is_refused(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("city,province,date\nTabriz,East Azerbaijan,16 Nov 2019 é\n".encode("latin-1"))
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 1 and "not UTF-8" in result.output and "line 2" in result.output
    assert counts() == (0, 0)


def test_published_import_needs_an_admin_and_a_source(
    db_url: str, tmp_path: Path, make_user
) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "city,province,date\nAhvaz,Khuzestan,16 Nov 2019\n")
    reviewer = make_user("reviewer")
    admin = make_user("admin")
    assert "needs --by" in runner.invoke(cli, ["import", str(path), "--published"]).output
    out = runner.invoke(
        cli, ["import", str(path), "--published", "--by", reviewer.email, "--source", "X"]
    ).output
    assert "only admins" in out
    assert (
        "needs --source"
        in runner.invoke(cli, ["import", str(path), "--published", "--by", admin.email]).output
    )
    assert counts()[0] == 0
    ok = runner.invoke(
        cli,
        ["import", str(path), "--published", "--by", admin.email, "--source", "Partner newsroom"],
    )
    assert ok.exit_code == 0, ok.output
    with session_scope() as s:
        clip = s.scalars(select(Clip)).one()
        event = s.scalars(
            select(CustodyEvent).where(CustodyEvent.action == "catalogue.imported")
        ).one()
    assert clip.status == "published" and clip.source == "Partner newsroom"
    assert event.actor == f"user:{admin.email}" and event.payload["published"] is True


def test_progress_is_reported_for_every_row_written(db_url: str, tmp_path: Path) -> None:
    rows = "".join(f"Ahvaz,Khuzestan,{d} Nov 2019,Clip {d}\n" for d in range(1, 6))
    path = write(tmp_path, "city,province,date,title\n" + rows)
    seen: list[tuple[int, int]] = []
    with session_scope() as s:
        import_csv(s, path, actor="test", progress=lambda i, n: seen.append((i, n)))
    assert seen == [(i, 5) for i in range(0, 6)]  # 0: the checks are done, writing starts


def test_first_run_demo_can_be_turned_off(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import get_settings

    monkeypatch.setenv("ARCHIVE_DEMO_ON_FIRST_RUN", "false")
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli, ["demo", "--if-empty"])
        assert result.exit_code == 0, result.output
        assert "ARCHIVE_DEMO_ON_FIRST_RUN is off" in result.output
        assert counts()[0] == 0
        # asked for explicitly, the demo still loads
        assert "103 created" in runner.invoke(cli, ["demo"]).output
    finally:
        get_settings.cache_clear()


def test_a_nul_inside_a_field_is_a_line_error_and_nothing_is_stored(
    db_url: str, tmp_path: Path
) -> None:
    """PostgreSQL crashed with a psycopg traceback; SQLite stored the NUL in the title."""
    path = write(
        tmp_path,
        "city,province,date,title\n"
        "Shiraz,Fars,16 Nov 2019,fine\n"
        "Shiraz,Fars,16 Nov 2019,bad\x00title\n"
        "Shiraz,Fars\x00,17 Nov 2019,\n",
    )
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "nothing was imported: 2 bad rows" in result.output
    assert "line 3: title contains a NUL (0x00) character" in result.output
    assert "line 4: province contains a NUL (0x00) character" in result.output
    assert counts() == (0, 0)


def test_a_file_with_100000_unknown_columns_names_only_a_few(db_url: str, tmp_path: Path) -> None:
    header = ["city", "province", "date"] + [f"extra_column_{i}" for i in range(100_000)]
    path = write(tmp_path, ",".join(header) + "\n")
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 1
    assert "100000 unknown columns 'extra_column_0'," in result.output
    assert "'extra_column_9' and 99990 more" in result.output
    assert "extra_column_10'" not in result.output and len(result.output) < 1000
    long_name = write(tmp_path, "city,province,date," + "x" * 5000 + "\n", name="long.csv")
    result = runner.invoke(cli, ["import", str(long_name)])
    assert result.exit_code == 1 and len(result.output) < 1000, result.output


def test_a_header_repeating_a_column_100000_times_is_refused_at_once(
    db_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path, ",".join(["city", "province"] + ["date"] * 100_000) + "\n")
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 1 and "date appear more than once" in result.output
