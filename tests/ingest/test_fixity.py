"""The fixity cycle (app/ingest/fixity.py): scheduled slices spread over the cycle, oldest
first, throttled; findings ok/changed/missing/unreadable; custody; dashboard; the CLI."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import get_settings
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.ingest import fixity
from app.ingest.models import FixityRun, Media
from app.storage.fixity import Throttle, check_file
from tests.ingest.conftest import upload
from tests.media import X264, ffmpeg
from tests.review.test_team_web import HTML, login

runner = CliRunner()


@pytest.fixture(scope="module")
def more_clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("fixity-clips")
    made = []
    for i, src in enumerate(("testsrc=s=96x64:r=10:d=1", "cellauto=s=96x64:r=10")):
        path = out / f"extra{i}.mp4"
        ffmpeg("-f", "lavfi", "-i", src, "-t", "1", *X264, str(path))
        made.append(path)
    return made


def _uploaded(client: Any, who: Any, new_clip: Any, files: list[Path]) -> list[tuple[str, str]]:
    done = []
    for f in files:
        code = new_clip()
        r = upload(client, who, code, f.read_bytes())
        assert r.status_code == 201, r.text
        done.append((code, r.json()["sha256"]))
    return done


def _path(sha: str) -> Path:
    return Path(get_settings().media_root) / "originals" / sha[:2] / sha[2:4] / sha


def _cycle(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    monkeypatch.setenv("ARCHIVE_FIXITY_CYCLE_DAYS", str(days))
    get_settings.cache_clear()


def test_a_slice_is_the_share_of_the_cycle_and_never_less_than_what_is_overdue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _cycle(monkeypatch, 90)
    day = 86400.0
    assert fixity.slice_size(0, 900, 0) == 0
    assert fixity.slice_size(1000, 900, 0) == 1  # 1000 * 900 s / 90 days, at least one
    assert fixity.slice_size(100_000, 3600, 0) == 47  # ceil(100000 / 2160)
    assert fixity.slice_size(100_000, 90 * day, 0) == 100_000  # a whole cycle: everything
    assert fixity.slice_size(100_000, 365 * day, 0) == 100_000
    assert fixity.slice_size(1000, 900, 30) == 30  # the overdue ones all go now


def test_scheduled_runs_check_the_oldest_originals_in_slices(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    other_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _cycle(monkeypatch, 90)
    (a, _), (b, _) = _uploaded(client, contributor, new_clip, [phone_clip, other_clip])
    first = fixity.scheduled(900, 30)
    assert first is not None and [c.target.code for c in first.checked] == [a]
    assert first.failures == []
    assert fixity.scheduled(900, 30) is None  # another run started moments ago
    second = fixity.scheduled(0, 30)
    assert second is not None and [c.target.code for c in second.checked] == [b]
    third = fixity.scheduled(0, 30)
    assert third is not None and [c.target.code for c in third.checked] == [a]
    with session_scope() as s:
        runs = s.scalars(select(FixityRun).order_by(FixityRun.id)).all()
        assert [(r.trigger, r.files, r.failures) for r in runs] == [("schedule", 1, 0)] * 3
        assert all(r.finished_at is not None and r.bytes > 0 for r in runs)
        assert all(
            m.fixity_status == "ok" and m.fixity_checked_at for m in s.scalars(select(Media))
        )


def test_each_finding_is_recorded_in_custody_and_on_the_dashboard(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    other_clip: Path,
    more_clips: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clips = _uploaded(client, contributor, new_clip, [phone_clip, other_clip, *more_clips])
    (ok, _), (changed, sha_c), (missing, sha_m), (unreadable, sha_u) = clips
    path = _path(sha_c)
    os.chmod(path, 0o644)
    with open(path, "r+b") as fh:  # same size, one byte different: size alone proves nothing
        fh.seek(200)
        byte = fh.read(1)
        fh.seek(200)
        fh.write(bytes([byte[0] ^ 1]))
    _path(sha_m).unlink()
    _path(sha_u).unlink()
    _path(sha_u).mkdir()  # there, but not a file that can be read
    _cycle(monkeypatch, 1e-6)  # a cycle of 0.09 s: all four are overdue
    time.sleep(0.2)
    report = fixity.scheduled(900, 30)
    assert report is not None and report.files == 4
    found = {c.target.code: c.result.status for c in report.checked}
    assert found == {ok: "ok", changed: "changed", missing: "missing", unreadable: "unreadable"}
    with session_scope() as s:
        events = s.scalars(select(CustodyEvent).where(CustodyEvent.action.like("fixity.%"))).all()
        failed = {e.clip_code: e.payload for e in events if e.action == "fixity.failed"}
        assert {k: v["finding"] for k, v in failed.items()} == {
            changed: "changed",
            missing: "missing",
            unreadable: "unreadable",
        }
        assert failed[changed]["found_sha256"] not in (None, sha_c)
        (run,) = [e for e in events if e.action == "fixity.run"]
        assert run.payload["files"] == 4 and run.payload["failures"] == 3
        assert sorted(run.payload["failed"]) == sorted([changed, missing, unreadable])

    login(client, contributor)
    page = client.get("/team/", headers=HTML).text
    assert "Last run: 4 originals, 3 failed" in page
    assert "Every original checked since" in page
    assert "4 of 4 originals are overdue" in page  # the 0.09 s cycle is long over
    section = page[page.index('data-testid="fixity-failures"') :]
    for code, finding in ((changed, "changed"), (missing, "missing"), (unreadable, "unreadable")):
        assert code in section and finding in section
    assert ok not in section.split("</table>")[0]
    shutil.rmtree(_path(sha_u))


def test_the_dashboard_says_when_nothing_was_checked(client: Any, contributor: Any) -> None:
    login(client, contributor)
    page = client.get("/team/", headers=HTML).text
    assert "No fixity check has run yet." in page and "0 of 0 originals are overdue" in page


@pytest.mark.nodb
def test_reads_are_throttled_and_every_byte_is_read(tmp_path: Path) -> None:
    import hashlib

    data = os.urandom(300_000)
    f = tmp_path / "f"
    f.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    start = time.monotonic()
    result = check_file(f, sha, len(data), Throttle(1.0))  # 1 MB/s: 0.3 s at least
    assert time.monotonic() - start >= 0.28
    assert result.status == "ok" and result.read == len(data)
    assert check_file(f, sha, len(data) + 1).status == "changed"
    assert check_file(tmp_path / "nope", sha, 1).status == "missing"


def test_archive_fixity_prints_figures_and_exits_1_on_any_failure(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, other_clip: Path
) -> None:
    (a, _), (b, sha_b) = _uploaded(client, contributor, new_clip, [phone_clip, other_clip])
    size = phone_clip.stat().st_size + other_clip.stat().st_size
    result = runner.invoke(cli, ["fixity"])
    assert result.exit_code == 0, result.output
    assert f"2 file(s), {size} bytes in " in result.stdout and "0 failure(s)" in result.stdout
    assert "MB/s" in result.stdout
    _path(sha_b).unlink()
    result = runner.invoke(cli, ["fixity"])
    assert result.exit_code == 1
    assert f"{b}  SHA-256:{sha_b}  FAILED: missing" in result.stdout
    assert f"{a}  SHA-256:" in result.stdout and "1 failure(s)" in result.stdout
    result = runner.invoke(cli, ["fixity", a])
    assert result.exit_code == 0 and "1 file(s)" in result.stdout
    with session_scope() as s:
        runs = s.scalars(select(FixityRun).order_by(FixityRun.id)).all()
        assert [(r.trigger, r.files, r.failures) for r in runs] == [
            ("cli", 2, 0),
            ("cli", 2, 1),
            ("cli", 1, 0),
        ]
