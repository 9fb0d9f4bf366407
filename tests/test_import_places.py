"""`archive import` cannot corrupt the gazetteer (issue 13 §3): unknown provinces are
refused with the closest known names, every place error is reported in one pass, explicit
codes are reserved before numbers are allocated, and the progress bar's first estimate is
sane. All or nothing, as every import."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from app import cli as cli_module
from app.cli import app as cli
from app.clips.importer import ImportFailed, import_csv
from app.clips.models import Clip
from app.db import session_scope
from app.places import service as places
from app.places.models import Place

runner = CliRunner()


def write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def place_count() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count(Place.id))) or 0


def clip_codes() -> list[str]:
    with session_scope() as s:
        return sorted(s.scalars(select(Clip.code)))


def test_a_misspelt_province_is_refused_naming_line_value_and_closest_names(
    db_url: str, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "city,province,date\n"
        "Ahvaz,Khuzestan,16 Nov 2019\n"
        "Ahvaz,Khuzestn,16 Nov 2019\n"
        "Isfahan,Isfahn,17 Nov 2019\n"
        "Newtown,Gillan,17 Nov 2019\n",
    )
    before = place_count()
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 1, result.output
    assert "nothing was imported: 3 bad rows" in result.output
    assert "line 3: unknown province 'Khuzestn' in IRN; did you mean Khuzestan" in result.output
    assert "line 4: unknown province 'Isfahn' in IRN; did you mean Esfahan?" in result.output
    assert "(Isfahan is in Esfahan)" in result.output
    line5 = next(x for x in result.output.splitlines() if "line 5" in x).strip()
    assert line5.startswith("line 5: unknown province 'Gillan' in IRN; did you mean Gilan")
    assert line5.endswith("? (--create-places adds new provinces)")
    assert place_count() == before and clip_codes() == []


def test_create_places_allows_new_provinces_and_lists_them(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "city,province,date\nNewtown,Newland,16 Nov 2019\n")
    assert runner.invoke(cli, ["import", str(path)]).exit_code == 1
    result = runner.invoke(cli, ["import", str(path), "--create-places"])
    assert result.exit_code == 0, result.output
    assert "new place: province Newland" in result.output
    assert "new place: city Newtown (Newland)" in result.output
    with session_scope() as s:
        city = s.scalars(select(Place).where(Place.name_en == "Newtown")).one()
        province = s.get(Place, city.parent_id)
    assert province is not None and province.name_en == "Newland"


def test_an_unknown_city_under_a_known_province_is_still_created(
    db_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "city,province,date\nVaramin,Tehran,16 Nov 2019\n")
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "new place: city Varamin (Tehran)" in result.output


def test_a_wrong_province_is_reported_in_the_same_pass_as_other_errors(
    db_url: str, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "city,province,date\n"
        "Shiraz,Fars,31 Feb 2019\n"
        "Ahvaz,Fars,16 Nov 2019\n"
        "Tabriz,East Azerbaijan,16 Nov 2019\n"
        "Shiraz,Frs,16 Nov 2019\n",
    )
    with pytest.raises(ImportFailed) as err, session_scope() as s:
        import_csv(s, path, actor="test")
    rows = err.value.extra["rows"]
    assert [r.split(":")[0] for r in rows] == ["line 2", "line 3", "line 5"]
    assert "31 Feb 2019" in rows[0]
    assert rows[1] == "line 3: city 'Ahvaz' is in Khuzestan, not 'Fars'"
    assert rows[2].startswith("line 5: unknown province 'Frs' in IRN; did you mean Fars")
    assert rows[2].endswith("(Shiraz is in Fars)")
    assert clip_codes() == []


def test_a_row_without_a_code_never_takes_a_number_a_later_row_names(
    db_url: str, tmp_path: Path
) -> None:
    first = write(tmp_path, "code,city,province,date\nIRN500,Shiraz,Fars,15 Nov 2019\n", "a.csv")
    with session_scope() as s:
        import_csv(s, first, actor="test")
    mixed = write(
        tmp_path,
        "code,city,province,date,title\n"
        ",Shiraz,Fars,16 Nov 2019,no code\n"
        "IRN501,Shiraz,Fars,17 Nov 2019,named\n"
        ",Tabriz,East Azerbaijan,18 Nov 2019,no code either\n",
        "mixed.csv",
    )
    with session_scope() as s:
        report = import_csv(s, mixed, actor="test")
    assert sorted(report.created) == ["IRN501", "IRN502", "IRN503"]
    with session_scope() as s:
        titles = {c: t for c, t in s.execute(select(Clip.code, Clip.title_en))}
    assert titles["IRN501"] == "named"
    assert titles["IRN502"] == "no code" and titles["IRN503"] == "no code either"
    with session_scope() as s:  # the same file again changes nothing
        assert import_csv(s, mixed, actor="test").unchanged == 3
    assert len(clip_codes()) == 4


def test_a_code_of_a_deleted_clip_is_reported_with_the_other_errors(
    db_url: str, tmp_path: Path
) -> None:
    from app.clips import service

    with session_scope() as s:
        first = write(tmp_path, "code,city,province,date\nIRN007,Shiraz,Fars,16 Nov 2019\n")
        import_csv(s, first, actor="t")
    with session_scope() as s:
        service.delete(s, "IRN007", actor="t")
    path = write(
        tmp_path,
        "code,city,province,date\n,Shiraz,Fars,16 Nov 2019\nIRN007,Ahvaz,Khuzestan,16 Nov 2019\n"
        ",Ahvaz,Fars,16 Nov 2019\n",
        "again.csv",
    )
    with pytest.raises(ImportFailed) as err, session_scope() as s:
        import_csv(s, path, actor="t")
    assert err.value.extra["rows"] == [
        "line 3: code IRN007 already exists with different details",
        "line 4: city 'Ahvaz' is in Khuzestan, not 'Fars'",
    ]
    assert clip_codes() == ["IRN007"]


def test_the_progress_bar_first_estimate_ignores_the_set_up_cost(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 71 s import first showed 3.5 h: the bar's clock started before the file was read
    and checked, so the first row 'took' the whole set-up and that was multiplied by the
    number of rows."""
    rows = "".join(f"Shiraz,Fars,{1 + i % 28} Nov 2019,Clip {i}\n" for i in range(400))
    path = write(tmp_path, "city,province,date,title\n" + rows)
    real_check = places.check
    slow = [True]

    def slow_check(*args: Any, **kwargs: Any) -> list[str]:
        if slow:  # a set-up of 1.5 s before the first row is written
            slow.clear()
            time.sleep(1.5)
        return real_check(*args, **kwargs)

    monkeypatch.setattr(places, "check", slow_check)
    monkeypatch.setenv("ARCHIVE_IMPORT_PROGRESS_THRESHOLD", "10")
    from app.config import get_settings

    get_settings.cache_clear()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    bars: list[Any] = []
    etas: list[float] = []
    real_bar = typer.progressbar

    def recording_bar(*args: Any, **kwargs: Any) -> Any:
        bar = real_bar(*args, **kwargs)
        bars.append(bar)
        real_update = bar.update

        def update(n: int, *a: Any) -> None:
            real_update(n, *a)
            if bar.eta_known:
                etas.append(bar.eta)

        bar.update = update  # type: ignore[method-assign]
        return bar

    monkeypatch.setattr(typer, "progressbar", recording_bar)
    started = time.monotonic()
    with session_scope() as s:
        report = cli_module._run_import(s, path, "test", None, False, None, False)
    took = time.monotonic() - started
    assert len(report.created) == 400
    assert len(bars) == 1 and bars[0].length == 400 and bars[0].pos == 400
    # every estimate shown is of the order of the whole import, never hours
    assert all(eta <= max(5.0, 3 * took) for eta in etas), (etas, took)
