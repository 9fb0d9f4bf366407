"""An exported bag carries the RFC 3161 token of the checkpoint made for it (stamped at
export time by the configured TSA), `archive verify-bag` checks it offline, and a token
for other data swapped into the bag is caught and named."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bagit
import pytest

from app.config import get_settings
from tests.custody.tsa import Authority, Shim, make_authority
from tests.evidence.test_proofs import _caught, _verify


@pytest.fixture(scope="module")
def tsa() -> Authority:
    return make_authority("Bag Test")


@pytest.fixture()
def shim(tsa: Authority) -> Iterator[Shim]:
    s = Shim(tsa)
    yield s
    s.close()


def _line(output: str, check: str) -> str:
    return next(x for x in output.splitlines() if f"  {check}:" in x).strip()


def test_an_exported_bag_carries_a_token_that_verifies_and_a_swapped_one_fails(
    client: Any, contributor: Any, processed_clip: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, tsa: Authority, shim: Shim,
) -> None:  # fmt: skip
    ca = tmp_path / "tsa-ca.pem"
    ca.write_text(tsa.root_pem)
    monkeypatch.setenv("ARCHIVE_TSA_URLS", shim.url)
    monkeypatch.setenv("ARCHIVE_TSA_CA_FILE", str(ca))
    monkeypatch.setenv("ARCHIVE_TSA_TIMEOUT_SECONDS", "5")
    get_settings.cache_clear()
    r = client.get(f"/api/v1/clips/{processed_clip}/evidence.tar", headers=contributor.headers)
    assert r.status_code == 200, r.text
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    root = tmp_path / "x" / processed_clip
    assert shim.hits == 1
    assert (root / "custody/checkpoint.tsr").stat().st_size > 0
    assert "BEGIN CERTIFICATE" in (root / "custody/tsa-chain.pem").read_text()
    bagit.Bag(str(root)).validate()
    good = _verify(root)
    assert good.exit_code == 0, good.output
    assert _line(good.stdout, "custody.timestamp-token").startswith("PASS"), good.stdout

    # a genuine token from the same TSA, but over another note
    from app.custody import timestamps

    other = "archive.example/log\n7\nAAAA\n"
    request = timestamps.build_request(other)
    token = timestamps.accept_response(tsa.reply(request.der), request, other).token
    (root / "custody/checkpoint.tsr").write_bytes(token)
    _caught(root, "custody.timestamp-token", "token is for other data")


def test_with_the_tsa_down_the_bag_is_still_exported_and_says_it_has_no_token(
    client: Any, contributor: Any, processed_clip: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from tests.custody.tsa import closed_port_url

    monkeypatch.setenv("ARCHIVE_TSA_URLS", closed_port_url())
    monkeypatch.setenv("ARCHIVE_TSA_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    r = client.get(f"/api/v1/clips/{processed_clip}/evidence.tar", headers=contributor.headers)
    assert r.status_code == 200, r.text
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        names = tar.getnames()
    assert not any(n.endswith("custody/checkpoint.tsr") for n in names)
