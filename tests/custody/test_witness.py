"""The witness script of docs/partners.md, run as written against the app: it passes on a
log that only grew and fails on a log rewritten after the partner saved a checkpoint. (The
same forgery caught by `archive audit verify --checkpoint` is
tests/custody/test_log.py::test_a_partners_checkpoint_catches_a_fully_recomputed_forgery.)"""

from __future__ import annotations

import io
import shutil
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.custody.conftest import forge
from tests.custody.test_log import history, run, save_checkpoint
from tests.review.conftest import Team

ROOT = Path(__file__).resolve().parents[2]


def _script() -> str:
    doc = (ROOT / "docs/partners.md").read_text()
    block = doc.split("# witness.py OLD.txt NEW.txt", 1)[1].split("```", 1)[0]
    return "# witness.py" + block


def _witness(
    client: TestClient, tmp: Path, old: Path, new: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """Run the doc's script in ``tmp`` with the two modules copied next to it; its one
    HTTP request goes to the app (the internet is the only thing replaced)."""
    for name in ("merkle.py", "checkpoint.py"):
        shutil.copy(ROOT / "app/custody" / name, tmp / name)
    (tmp / "archive-log-key.txt").write_text(client.get("/.well-known/archive-log-key").text)

    def urlopen(url: str) -> Any:
        r = client.get(url.replace("https://archive.example.org", ""))
        assert r.status_code == 200, r.text
        return io.BytesIO(r.content)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.chdir(tmp)
    monkeypatch.syspath_prepend(str(tmp))
    monkeypatch.setattr(sys, "argv", ["witness.py", str(old), str(new)])
    for name in ("merkle", "checkpoint"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    try:
        exec(compile(_script(), "witness.py", "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        return 1, str(exc.code)
    return 0, out.getvalue()


def test_the_partners_witness_script_passes_growth_and_catches_a_rewrite(
    client: TestClient, team: Team, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(client, team)
    old = save_checkpoint(client, tmp_path / "old.txt")
    history(client, team)
    new = save_checkpoint(client, tmp_path / "new.txt")
    assert new.size > old.size
    code, out = _witness(client, tmp_path, tmp_path / "old.txt", tmp_path / "new.txt", monkeypatch)
    assert code == 0 and f"the log of {new.size} events extends the log of {old.size}" in out

    def rewrite(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[1]["actor"] = "user:forger@example.org"  # an early event, every hash recomputed
        return rows

    forge(db_url, rewrite)
    assert run("audit", "checkpoint")[0] == 0
    (tmp_path / "today.txt").write_text(client.get("/api/v1/custody/checkpoint").text)
    code, out = _witness(
        client, tmp_path, tmp_path / "old.txt", tmp_path / "today.txt", monkeypatch
    )
    assert code == 1 and "THE LOG WAS REWRITTEN" in out, out
