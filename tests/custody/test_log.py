"""The Merkle custody log end to end (SQLite, and PostgreSQL with TEST_DB=postgres):
signed checkpoints, the public routes partners use, proofs that verify with the pure
module, and `archive audit verify` catching a forger who recomputed every hash."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import app as cli
from app.config import get_settings
from app.custody import checkpoint, merkle
from app.db import reset_engine
from tests.custody.conftest import forge
from tests.review.conftest import Api, Team

b64 = base64.b64decode


def run(*args: str) -> tuple[int, str]:
    get_settings.cache_clear()
    reset_engine()
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def history(client: TestClient, team: Team) -> str:
    api = Api(client)
    code = api.in_review(team.uploader, team.r1)
    api.c.post(f"/api/v1/clips/{code}/comments", json={"body": "0:12"}, headers=team.r1.headers)
    api.approve(code, team.r1)
    return code


def save_checkpoint(client: TestClient, path: Path) -> checkpoint.Checkpoint:
    """What a partner does: curl the checkpoint and the key, keep both."""
    code, out = run("audit", "checkpoint")
    assert code == 0, out
    note = client.get("/api/v1/custody/checkpoint").text
    vkey = client.get("/.well-known/archive-log-key").text
    path.write_text(note, encoding="utf-8")
    return checkpoint.verify(note, vkey)


def test_checkpoints_and_proofs_verify_with_the_pure_module(
    client: TestClient, team: Team, tmp_path: Path
) -> None:
    assert client.get("/api/v1/custody/checkpoint").json()["error"] == "no_checkpoint"
    history(client, team)
    r = client.get("/.well-known/archive-log-key")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    vkey = r.text.strip()
    name, _, _ = checkpoint.parse_verifier_key(vkey)
    first = save_checkpoint(client, tmp_path / "a.txt")
    assert first.origin == name and first.size > 5 and first.time is not None
    note = (tmp_path / "a.txt").read_text()
    assert note.splitlines()[1] == str(first.size)
    assert "\n\n\u2014 " + name + " " in note

    for event_id in (1, 3, first.size):
        anon = client.get(f"/api/v1/custody/inclusion?event={event_id}")
        assert anon.status_code == 401
        p = client.get(
            f"/api/v1/custody/inclusion?event={event_id}", headers=team.r1.headers
        ).json()
        assert p["tree_size"] == first.size
        leaf = merkle.leaf_hash(p["leaf_data"].encode())
        assert leaf == b64(p["leaf_hash"])
        proof = [b64(h) for h in p["proof"]]
        assert merkle.verify_inclusion(leaf, p["leaf_index"], first.size, proof, first.root)
        assert not merkle.verify_inclusion(
            merkle.leaf_hash(b"other"), p["leaf_index"], first.size, proof, first.root
        )

    Api(client).new_clip(team.uploader)
    second = save_checkpoint(client, tmp_path / "b.txt")
    assert second.size > first.size
    c = client.get(f"/api/v1/custody/consistency?from={first.size}&to={second.size}").json()
    assert b64(c["from_root"]) == first.root and b64(c["to_root"]) == second.root
    proof = [b64(h) for h in c["proof"]]
    assert merkle.verify_consistency(first.size, second.size, proof, first.root, second.root)
    latest = client.get(f"/api/v1/custody/consistency?from={first.size}").json()
    assert latest["to_size"] == second.size

    too_big = client.get(f"/api/v1/custody/consistency?from=1&to={second.size + 50}")
    assert too_big.status_code == 422 and too_big.json()["field"] == "to"
    backwards = client.get(f"/api/v1/custody/consistency?from={second.size}&to=1")
    assert backwards.status_code == 422 and backwards.json()["field"] == "from"
    assert client.get("/api/v1/custody/consistency?from=-1").status_code == 422
    gone = client.get("/api/v1/custody/inclusion?event=99999", headers=team.r1.headers)
    assert gone.status_code == 404 and gone.json()["error"] == "event_not_found"

    code, out = run(
        "audit",
        "verify",
        "--checkpoint",
        str(tmp_path / "a.txt"),
        "--checkpoint",
        str(tmp_path / "b.txt"),
    )
    assert code == 0, out
    assert f"a.txt: size {first.size} consistent" in out and "Merkle tree intact" in out


def _edit_actor(index: int) -> Any:
    def edit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        i = index if index >= 0 else len(rows) + index
        rows[i]["actor"] = "user:forger@example.org"
        return rows

    return edit


FORGERIES = {
    "edited early": (_edit_actor(2), "does not match today's log"),
    "edited last": (_edit_actor(-1), "does not match today's log"),
    "deleted early": (lambda rows: rows[:3] + rows[4:], "events were deleted"),
    "deleted early, forged at the end": (
        lambda rows: rows[:3] + rows[4:] + [dict(rows[-1], actor="user:forger@example.org")],
        "does not match today's log",
    ),
    "inserted early": (
        lambda rows: rows[:3] + [dict(rows[3], id=None)] + rows[3:],
        "does not match",
    ),
    "truncated at the end": (lambda rows: rows[:-3], "log was truncated"),
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_a_partners_checkpoint_catches_a_fully_recomputed_forgery(
    case: str, client: TestClient, team: Team, db_url: str, tmp_path: Path
) -> None:
    history(client, team)
    saved = save_checkpoint(client, tmp_path / "partner.txt")
    edit, expect = FORGERIES[case]

    def renumber(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = edit(rows)
        for i, row in enumerate(out, 1):
            row["id"] = i  # ids recomputed too: no gap, nothing out of order
        return out

    forge(db_url, renumber)
    code, out = run("audit", "verify")
    assert code == 0, "without a saved checkpoint the forgery is consistent: " + out
    code, out = run("audit", "verify", "--checkpoint", str(tmp_path / "partner.txt"))
    assert code == 1, out
    assert "TAMPERED" in out and "partner.txt" in out and expect in out, out
    assert saved.size > 0


def test_the_stored_checkpoint_catches_a_truncation_the_forger_left_it(
    client: TestClient, team: Team, db_url: str
) -> None:
    history(client, team)
    assert run("audit", "checkpoint")[0] == 0
    forge(db_url, lambda rows: rows[:-3], drop_checkpoints=False)
    code, out = run("audit", "verify")
    assert code == 1 and "stored checkpoint #1" in out and "log was truncated" in out, out


def test_a_log_emptied_or_cut_below_its_records_is_tampered(
    client: TestClient, team: Team, db_url: str
) -> None:
    history(client, team)
    forge(db_url, lambda rows: [])
    rc, out = run("audit", "verify")
    assert rc == 1, out
    assert "has no clip.created event" in out or "has no user.created event" in out, out
    assert "0 events" not in out


def test_a_clip_without_its_creating_event_is_named(
    client: TestClient, team: Team, db_url: str
) -> None:
    code = history(client, team)
    forge(db_url, lambda rows: [r for r in rows if r["action"] != "clip.created"])
    rc, out = run("audit", "verify")
    assert rc == 1 and f"clip {code} has no clip.created event" in out, out


def test_a_forged_or_foreign_checkpoint_is_refused(
    client: TestClient, team: Team, tmp_path: Path
) -> None:
    history(client, team)
    saved = save_checkpoint(client, tmp_path / "cp.txt")
    note = (tmp_path / "cp.txt").read_text()
    bigger = note.replace(f"\n{saved.size}\n", f"\n{saved.size + 1}\n", 1)
    (tmp_path / "forged.txt").write_text(bigger)
    code, out = run("audit", "verify", "--checkpoint", str(tmp_path / "forged.txt"))
    assert code == 1 and "signature does not match" in out, out

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate()
    _, foreign = checkpoint.make(saved.origin, saved.size, saved.root, saved.time, other)  # type: ignore[arg-type]
    (tmp_path / "foreign.txt").write_text(foreign)
    code, out = run("audit", "verify", "--checkpoint", str(tmp_path / "foreign.txt"))
    assert code == 1 and "not signed by the archive's key" in out, out
    (tmp_path / "junk.txt").write_text("hello\n")
    code, out = run("audit", "verify", "--checkpoint", str(tmp_path / "junk.txt"))
    assert code == 1 and "not a valid checkpoint" in out, out


def test_keys_init_writes_a_private_file_and_production_needs_it(
    client: TestClient, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import stat

    from app.custody.service import check_startup
    from app.errors import AppError

    key = tmp_path / "keys" / "log.key"
    monkeypatch.setenv("ARCHIVE_LOG_KEY_PATH", str(key))
    code, out = run("keys", "init")
    assert code == 0, out
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    vkey = out.strip().splitlines()[-1]
    assert checkpoint.parse_verifier_key(vkey)[0].endswith("/custody-log")
    code, out = run("keys", "init")
    assert code == 1 and "exists" in out
    assert run("keys", "show")[1].strip() == vkey
    assert client.get("/.well-known/archive-log-key").text.strip() == vkey

    history(client, team)  # the log now has events
    monkeypatch.setenv("ARCHIVE_ENVIRONMENT", "production")
    get_settings.cache_clear()
    check_startup()  # the key is there
    key.unlink()
    with pytest.raises(AppError, match="archive keys init"):
        check_startup()
