"""`archive duplicates rebuild` (backfill + match) and `archive duplicates scan [CODE]`
on clips processed by the real pipeline, on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from app.cli import app as cli
from app.db import session_scope
from app.duplicates import index as frame_index
from app.duplicates.models import DuplicateCandidate
from app.ingest.models import FrameHash
from app.jobs import runner
from tests.ingest.conftest import upload


def _count(model: Any) -> int:
    with session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_rebuild_backfills_hashes_and_scan_matches(
    client: Any, contributor: Any, source_clip: Path, variants: dict[str, Path],
    unrelated: dict[str, Path],
) -> None:  # fmt: skip
    frame_index.reset()
    codes = []
    for path in (source_clip, variants["subclip_10s"], unrelated["testsrc"]):
        body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"}
        code = client.post("/api/v1/clips", json=body, headers=contributor.headers).json()["code"]
        assert upload(client, contributor, code, path.read_bytes()).status_code == 201
        codes.append(code)
    for _ in range(40):
        if not runner.execute("test-worker"):
            break
    hashed = _count(FrameHash)
    assert hashed > 30 and _count(DuplicateCandidate) == 1
    with session_scope() as s:  # clips stored before frame hashes existed
        s.execute(delete(DuplicateCandidate))
        s.execute(delete(FrameHash))
    frame_index.reset()

    cli_runner = CliRunner()
    r = cli_runner.invoke(cli, ["duplicates", "rebuild"])
    assert r.exit_code == 0, r.output
    assert "3 original(s) without frame hashes hashed, 0 failed" in r.output
    assert "3 clip(s) matched, 1 new candidate pair(s), 0 failed" in r.output
    assert f"{codes[1]}  " in r.output
    assert _count(FrameHash) == hashed
    with session_scope() as s:
        pair = s.scalars(select(DuplicateCandidate)).one()
        assert pair.a_pct <= 65 and pair.b_pct >= 90  # the sub-clip covers half the source

    r = cli_runner.invoke(cli, ["duplicates", "scan", codes[1]])
    assert r.exit_code == 0, r.output
    assert r.output.strip().endswith("1 clip(s) matched, 0 new candidate pair(s), 0 failed")
    r = cli_runner.invoke(cli, ["duplicates", "scan"])
    assert r.exit_code == 0 and "3 clip(s) matched" in r.output, r.output
    assert _count(DuplicateCandidate) == 1
    r = cli_runner.invoke(cli, ["duplicates", "scan", "NOPE99"])
    assert r.exit_code == 1 and "NOPE99" in r.output
    frame_index.reset()
