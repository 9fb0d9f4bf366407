"""RFC 3161 timestamps on checkpoints, against a real offline TSA (``openssl ts`` behind a
loopback HTTP shim, tests/custody/tsa.py): good tokens are accepted, tokens for other data,
from an untrusted TSA or tampered are rejected with a clear reason, a TSA that is down,
slow or answers garbage leaves a failed stamp with a retry scheduled (and ingest and
review go on), the sweeper makes a checkpoint only when the log grew, and
``archive audit checkpoint`` stamps on demand. SQLite, and PostgreSQL with TEST_DB=postgres."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import get_settings
from app.custody import stamping, timestamps
from app.custody.models import CustodyCheckpoint, CustodyTimestamp
from app.db import session_scope
from app.evidence import proofs, proofs_check
from app.kit.clock import utcnow
from tests.custody.test_log import history, run
from tests.custody.tsa import Authority, Shim, closed_port_url, make_authority
from tests.review.conftest import Api, Team
from tests.review.test_team_web import HTML, login

NOTE = "archive.example/custody-log\n12\nq6tqrOWEcHMHsqTQa5NjUS6/XoQbPQtA3CbI5GUYaWA=\n\n— x\n"


@pytest.fixture(scope="module")
def tsa() -> Authority:
    return make_authority("Good")


@pytest.fixture(scope="module")
def rogue() -> Authority:
    return make_authority("Rogue")


@pytest.fixture()
def shim(tsa: Authority) -> Iterator[Shim]:
    s = Shim(tsa)
    yield s
    s.close()


def _configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tsa: Authority, *urls: str) -> Path:
    ca = tmp_path / "tsa-ca.pem"
    ca.write_text(tsa.root_pem)
    monkeypatch.setenv("ARCHIVE_TSA_URLS", ",".join(urls))
    monkeypatch.setenv("ARCHIVE_TSA_CA_FILE", str(ca))
    monkeypatch.setenv("ARCHIVE_TSA_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    return ca


def _stamp(authority: Authority, note: str) -> timestamps.Stamp:
    request = timestamps.build_request(note)
    return timestamps.accept_response(authority.reply(request.der), request, note)


@pytest.mark.nodb
def test_a_good_token_is_accepted_and_bad_ones_are_named(tsa: Authority, rogue: Authority) -> None:
    good = _stamp(tsa, NOTE)
    verdict = timestamps.verify(good.token, NOTE, good.chain_pem, tsa.root_pem)
    assert verdict.ok and verdict.reason == "" and verdict.gen_time is not None
    assert abs((verdict.gen_time - utcnow()).total_seconds()) < 120

    other = timestamps.verify(good.token, NOTE.replace("12", "13"), good.chain_pem, tsa.root_pem)
    assert not other.ok and other.reason == "token is for other data"

    foreign = _stamp(rogue, NOTE)
    untrusted = timestamps.verify(foreign.token, NOTE, foreign.chain_pem, tsa.root_pem)
    assert not untrusted.ok and untrusted.reason.startswith("untrusted TSA")
    # the rogue's own root in the chain changes nothing: only the trusted CA file counts
    chain = foreign.chain_pem + rogue.root_pem
    assert timestamps.verify(foreign.token, NOTE, chain, tsa.root_pem).reason.startswith(
        "untrusted TSA"
    )

    # tampered: the serial number inside the signed TSTInfo, then the signature itself
    der = bytearray(good.token)
    at = der.index(timestamps.digest(NOTE)) + 32 + 2  # the INTEGER after the imprint
    der[at] ^= 0x01
    assert timestamps.verify(bytes(der), NOTE, good.chain_pem, tsa.root_pem).reason == (
        "token signature invalid"
    )
    sig = bytearray(good.token)
    sig[-5] ^= 0x01
    assert timestamps.verify(bytes(sig), NOTE, good.chain_pem, tsa.root_pem).reason == (
        "token signature invalid"
    )
    cut = timestamps.verify(good.token[:-40], NOTE, good.chain_pem, tsa.root_pem)
    assert not cut.ok and cut.reason.startswith("token signature invalid")

    with pytest.raises(timestamps.TsaAnswerError, match="not an RFC 3161"):
        timestamps.accept_response(b"<html>busy</html>", timestamps.build_request(NOTE), NOTE)
    with pytest.raises(timestamps.TsaAnswerError, match="nonce"):
        timestamps.accept_response(good.token, timestamps.build_request(NOTE), NOTE)


def test_audit_checkpoint_stamps_and_the_bag_carries_a_token_openssl_accepts(
    client: TestClient, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    tsa: Authority, shim: Shim,
) -> None:  # fmt: skip
    ca = _configure(monkeypatch, tmp_path, tsa, shim.url)
    history(client, team)
    code, out = run("audit", "checkpoint")
    assert code == 0, out
    assert f"timestamp {shim.url}: stamped" in out and shim.hits == 1
    with session_scope() as s:
        (row,) = s.scalars(select(CustodyTimestamp)).all()
        assert row.status == "stamped" and row.attempts == 1 and row.next_attempt_at is None
        assert row.token and "BEGIN CERTIFICATE" in row.chain_pem
        cp = s.get(CustodyCheckpoint, row.checkpoint_id)
        assert cp is not None
        note = cp.note
        files = proofs.timestamp_files(s, cp)
    assert set(files) == {"custody/checkpoint.tsr", "custody/tsa-chain.pem"}
    tags = {**files, "custody/checkpoint.txt": note.encode()}
    check = proofs_check.timestamp_check(tags)
    assert check.ok is True and "ARCHIVE_TSA_CA_FILE" in check.detail
    forged = {**tags, "custody/checkpoint.txt": note.replace("\n", "\n\n", 1).encode()}
    assert proofs_check.timestamp_check(forged).detail == "token is for other data"
    assert proofs_check.timestamp_check({"custody/checkpoint.txt": b"x"}).ok is None

    # by hand, as the README says: the chain in the bag holds the root as well
    (tmp_path / "note.txt").write_text(note)
    (tmp_path / "checkpoint.tsr").write_bytes(files["custody/checkpoint.tsr"])
    (tmp_path / "chain.pem").write_bytes(files["custody/tsa-chain.pem"])
    hand = subprocess.run(
        ["openssl", "ts", "-verify", "-data", "note.txt", "-in", "checkpoint.tsr",
         "-CAfile", "chain.pem"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert hand.returncode == 0 and "Verification: OK" in hand.stdout, hand.stderr
    # without the CA file the bag's own root is used, and the check says so
    monkeypatch.delenv("ARCHIVE_TSA_CA_FILE")
    get_settings.cache_clear()
    assert "bag's own TSA chain" in proofs_check.timestamp_check(tags).detail
    assert ca.exists()

    login(client, team.r1)
    page = client.get("/team/", headers=HTML).text
    section = page[page.index('data-testid="checkpoint"') :].split("</section>")[0]
    assert "Last checkpoint:" in section and "timestamped at" in section
    assert shim.url in section


def test_a_tsa_down_slow_or_talking_garbage_is_retried_and_blocks_nothing(
    client: TestClient, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    tsa: Authority, shim: Shim,
) -> None:  # fmt: skip
    slow = Shim(tsa)
    slow.mode = "slow"
    shim.mode = "garbage"
    down = closed_port_url()
    _configure(monkeypatch, tmp_path, tsa, down, shim.url, slow.url)
    try:
        code = history(client, team)
        exit_code, out = run("audit", "checkpoint")
        assert exit_code == 1 and "a TSA failed" in out
        with session_scope() as s:
            assert len(s.scalars(select(CustodyCheckpoint)).all()) == 1  # stored all the same
            rows = {r.tsa_url: r for r in s.scalars(select(CustodyTimestamp))}
            assert {r.status for r in rows.values()} == {"failed"}
            assert "did not answer" in rows[down].last_error
            assert "not an RFC 3161" in rows[shim.url].last_error
            assert "timed out" in rows[slow.url].last_error
            now = utcnow()
            for r in rows.values():
                assert r.attempts == 1 and r.token is None
                assert r.next_attempt_at is not None and r.next_attempt_at > now

        # ingest and review go on while every TSA fails
        api = Api(client)
        fresh = api.new_clip(team.uploader)
        assert api.clip(fresh, team.uploader)["code"] == fresh
        r = client.post(
            f"/api/v1/clips/{code}/comments", json={"body": "1:02"}, headers=team.r2.headers
        )
        assert r.status_code == 201, r.text

        login(client, team.r1)
        page = client.get("/team/", headers=HTML).text
        section = page[page.index('data-testid="checkpoint"') :].split("</section>")[0]
        assert section.count("timestamp failed (1 attempt)") == 3 and "next try" in section

        # nothing is due before the back-off is over; after it, the sweeper retries
        assert stamping.stamp_due() == []
        shim.mode = "ok"
        later = utcnow() + timedelta(seconds=stamping.BACKOFF_FIRST_SECONDS + 1)
        monkeypatch.setattr(stamping, "utcnow", lambda: later)
        monkeypatch.setenv("ARCHIVE_TSA_MAX_ATTEMPTS", "2")
        get_settings.cache_clear()
        outcomes = {o.tsa_url: o.status for o in stamping.stamp_due()}
        assert outcomes == {down: "failed", shim.url: "stamped", slow.url: "failed"}
        with session_scope() as s:
            rows = {r.tsa_url: r for r in s.scalars(select(CustodyTimestamp))}
            assert rows[shim.url].status == "stamped" and rows[shim.url].attempts == 2
            assert rows[down].attempts == 2 and rows[down].next_attempt_at is None  # gave up
    finally:
        slow.close()


def test_the_sweeper_makes_a_checkpoint_only_when_the_log_grew(
    client: TestClient, team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    tsa: Authority, shim: Shim,
) -> None:  # fmt: skip
    from app.jobs import registry
    from app.tasks import bootstrap

    bootstrap()
    assert "checkpoint" in registry.sweepers()
    _configure(monkeypatch, tmp_path, tsa, shim.url)

    def checkpoints() -> list[tuple[int, str]]:
        with session_scope() as s:
            cps = s.scalars(select(CustodyCheckpoint).order_by(CustodyCheckpoint.id)).all()
            return [(c.size, c.note) for c in cps]

    history(client, team)
    assert stamping.scheduled() == 2  # a checkpoint, and its stamp
    assert len(checkpoints()) == 1 and shim.hits == 1
    assert stamping.scheduled() == 0  # the log did not grow
    Api(client).new_clip(team.uploader)
    assert stamping.scheduled() == 0  # it grew, but the hour is not over
    assert len(checkpoints()) == 1
    later = utcnow() + timedelta(seconds=get_settings().checkpoint_interval_seconds + 1)
    monkeypatch.setattr(stamping, "utcnow", lambda: later)
    assert stamping.scheduled() == 2
    (first, _), (second, _) = checkpoints()
    assert second > first and shim.hits == 2
    assert stamping.scheduled() == 0
    code, out = run("audit", "checkpoint")  # the CLI repeats the last one, stamps nothing new
    assert code == 0 and "has not grown" in out and shim.hits == 2
