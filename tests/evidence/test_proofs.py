"""The custody proofs in a bag: the checkpoint, each event's inclusion proof and the log key,
checked offline by `archive verify-bag` (and by hand, with the README's OpenSSL commands);
a removed or edited event and a forged checkpoint are each caught and named, even when the
forger recomputes every hash and manifest."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bagit
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from app.cli import app as cli
from app.custody import checkpoint, merkle
from app.custody.service import chain_hash
from app.evidence.proofs_check import leaf_data

runner = CliRunner()


@pytest.fixture
def bag(client: Any, contributor: Any, processed_clip: str, tmp_path: Path) -> Path:
    """The API's bag of a processed clip, extracted."""
    r = client.get(f"/api/v1/clips/{processed_clip}/evidence.tar", headers=contributor.headers)
    assert r.status_code == 200, r.text
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    return tmp_path / "x" / processed_clip


def _verify(path: Path, *args: str) -> Any:
    return runner.invoke(cli, ["verify-bag", str(path), *args])


def _events(root: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (root / "custody/events.jsonl").read_text().splitlines()]


def _write_events(root: Path, events: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in events)
    (root / "custody/events.jsonl").write_text(text)


def _proofs(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / "custody/inclusion-proofs.json").read_text()))


def _write_proofs(root: Path, doc: dict[str, Any]) -> None:
    (root / "custody/inclusion-proofs.json").write_text(json.dumps(doc, indent=2))


def _caught(root: Path, check: str, why: str, *args: str) -> None:
    """bagit sees the change; after the forger recomputes every manifest, bagit is content
    and `archive verify-bag` still fails, naming ``check``."""
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(root)).validate()
    bagit.Bag(str(root)).save(manifests=True)
    bagit.Bag(str(root)).validate()
    result = _verify(root, *args)
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stdout.splitlines() if f"  {check}:" in x)
    assert line.strip().startswith("FAIL") and why in line, result.stdout


def test_a_bag_carries_its_checkpoint_proofs_and_key_and_they_verify(
    client: Any, bag: Path
) -> None:
    bagit.Bag(str(bag)).validate()
    note = (bag / "custody/checkpoint.txt").read_text()
    published = client.get("/.well-known/archive-log-key").text
    assert (bag / "custody/log-key.pub").read_text() == published
    assert client.get("/api/v1/custody/checkpoint").text == note  # made and kept at export
    cp = checkpoint.verify(note, published)
    events, doc = _events(bag), _proofs(bag)
    assert [p["event_id"] for p in doc["events"]] == [e["id"] for e in events]
    assert doc["root"] == cp.root.hex() and doc["tree_size"] == cp.size
    for e, p in zip(events, doc["events"], strict=True):
        assert p["leaf_data"].encode() == leaf_data(e)
        leaf = merkle.leaf_hash(leaf_data(e))
        assert p["leaf_hash"] == leaf.hex()
        path = [bytes.fromhex(h) for h in p["audit_path"]]
        assert [base64.b64decode(h) for h in p["audit_path_base64"]] == path
        assert merkle.verify_inclusion(leaf, p["leaf_index"], cp.size, path, cp.root)
    assert events[-1]["action"] == "evidence.exported"
    assert doc["events"][-1]["leaf_index"] == cp.size - 1
    assert events[-1]["payload"]["custody_events"] == len(events) - 1
    result = _verify(bag, "--key", published)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"PASS  custody.inclusion-proofs: {len(events)} events proven" in out
    assert "PASS  custody.checkpoint-signature:" in out and "published key given" in out
    assert "SKIP  custody.timestamp-token: no timestamp token in this bag" in out
    plain = _verify(bag)
    assert plain.exit_code == 0 and published.strip() in plain.stdout  # the key to compare


def test_the_readmes_openssl_commands_check_the_signature_by_hand(bag: Path) -> None:
    readme = (bag / "README.txt").read_text()
    block = readme.split("Then, with OpenSSL 3:\n\n", 1)[1].split("\n\n", 1)[0]
    script = "\n".join(line[4:] for line in block.splitlines())
    good = subprocess.run(["sh", "-c", script], cwd=bag, capture_output=True, text=True)
    assert "Signature Verified Successfully" in good.stdout, good.stdout + good.stderr
    note = bag / "custody/checkpoint.txt"
    lines = note.read_text().split("\n")
    lines[1] = str(int(lines[1]) + 1)  # one more event than the archive signed
    note.write_text("\n".join(lines))
    bad = subprocess.run(["sh", "-c", script], cwd=bag, capture_output=True, text=True)
    assert bad.returncode != 0 and "Signature Verified Successfully" not in bad.stdout


def _drop_with_proof(index: int) -> Any:
    def tamper(root: Path) -> None:
        events = _events(root)
        gone = events.pop(index)
        _write_events(root, events)
        doc = _proofs(root)
        doc["events"] = [p for p in doc["events"] if p["event_id"] != gone["id"]]
        _write_proofs(root, doc)

    return tamper


def _drop_event_only(root: Path) -> None:
    events = _events(root)
    del events[1]
    _write_events(root, events)


def _edit_event(root: Path) -> None:
    """Change who ingested the clip and recompute the event's chain hash."""
    events = _events(root)
    e = next(e for e in events if e["action"] == "media.ingested")
    e["actor"] = "user:someone-else@example.org"
    body = {k: e[k] for k in ("occurred_at", "actor", "action", "clip_code", "payload")}
    e["hash"] = chain_hash(e["prev_hash"], body)
    _write_events(root, events)


REMOVED_OR_EDITED = {
    "removed event": (_drop_event_only, "has a proof but is not in custody/events.jsonl"),
    "removed event and its proof": (_drop_with_proof(1), "the export counted"),
    "removed export and its proof": (_drop_with_proof(-1), "not the export the checkpoint"),
    "edited event, hash recomputed": (_edit_event, "does not hash to the leaf"),
}


@pytest.mark.parametrize("case", sorted(REMOVED_OR_EDITED))
def test_a_removed_or_edited_event_is_caught_by_the_inclusion_proofs(bag: Path, case: str) -> None:
    tamper, why = REMOVED_OR_EDITED[case]
    tamper(bag)
    _caught(bag, "custody.inclusion-proofs", why)


def _resign(root: Path, key: Ed25519PrivateKey, *, root_hash: bytes | None = None) -> None:
    note = root / "custody/checkpoint.txt"
    cp, _ = checkpoint.parse(note.read_text())
    _, forged = checkpoint.make(cp.origin, cp.size, root_hash or cp.root, datetime.now(UTC), key)
    note.write_text(forged)


def test_a_checkpoint_with_a_changed_root_is_caught(bag: Path) -> None:
    note = bag / "custody/checkpoint.txt"
    lines = note.read_text().split("\n")
    lines[2] = base64.b64encode(hashlib.sha256(b"another log").digest()).decode()
    note.write_text("\n".join(lines))
    _caught(bag, "custody.checkpoint-signature", "does not match the checkpoint")
    assert "FAIL  custody.inclusion-proofs:" in _verify(bag).stdout


def test_a_checkpoint_resigned_with_another_key_is_caught(bag: Path) -> None:
    _resign(bag, Ed25519PrivateKey.generate())
    _caught(bag, "custody.checkpoint-signature", "not signed by the archive's key")


def test_a_swapped_key_is_caught_against_the_published_key(client: Any, bag: Path) -> None:
    """A forger who builds his own log, signs it and swaps the bag's key file passes the
    bag's own checks; the archive's published key (kept by the court) catches him."""
    published = client.get("/.well-known/archive-log-key").text
    forger = Ed25519PrivateKey.generate()
    origin = checkpoint.parse((bag / "custody/checkpoint.txt").read_text())[0].origin
    _resign(bag, forger)
    (bag / "custody/log-key.pub").write_text(
        checkpoint.verifier_key(origin, forger.public_key()) + "\n"
    )
    bagit.Bag(str(bag)).save(manifests=True)
    alone = _verify(bag)
    assert alone.exit_code == 0 and published.strip() not in alone.stdout
    key_file = bag.parent / "published.key"
    key_file.write_text(published)
    result = _verify(bag, "--key", str(key_file))
    assert result.exit_code == 1
    assert "FAIL  custody.checkpoint-signature: custody/log-key.pub is not the archive's" in (
        result.stdout
    )


def test_a_bag_stripped_of_its_proofs_fails(bag: Path) -> None:
    for name in ("checkpoint.txt", "inclusion-proofs.json", "log-key.pub"):
        (bag / "custody" / name).unlink()
    _caught(bag, "custody.checkpoint-signature", "custody/checkpoint.txt is missing")
    assert "FAIL  custody.inclusion-proofs: custody/checkpoint.txt is missing" in (
        _verify(bag).stdout
    )
