"""BagIt evidence packages: exported by the API and the CLI, checked by the standard
`bagit` tool (full validation) and by `archive verify-bag`; each tampering caught."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import bagit
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from app.custody.models import CustodyEvent
from app.db import session_scope
from tests.evidence.conftest import NOTE

runner = CliRunner()


def _extract(data: bytes, into: Path) -> list[Path]:
    into = into / "extracted"
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return sorted(p for p in into.iterdir() if p.is_dir())


def _verify(path: Path) -> Any:
    return runner.invoke(cli, ["verify-bag", str(path)])


@pytest.fixture
def bag_tar(client: Any, contributor: Any, processed_clip: str) -> bytes:
    r = client.get(f"/api/v1/clips/{processed_clip}/evidence.tar", headers=contributor.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-tar"
    assert f'filename="{processed_clip}-evidence.tar"' in r.headers["content-disposition"]
    return r.content


def test_the_api_bag_holds_the_evidence_and_validates_with_bagit(
    bag_tar: bytes, processed_clip: str, phone_clip: Path, tmp_path: Path
) -> None:
    (root,) = _extract(bag_tar, tmp_path)
    assert root.name == processed_clip
    bag = bagit.Bag(str(root))
    bag.validate()  # full: every file re-hashed, both algorithms, the tag manifests too
    assert bag.is_valid()
    assert set(bag.algorithms) == {"sha256", "sha512"}
    original = root / "data" / "original" / f"{processed_clip}.mp4"
    assert original.read_bytes() == phone_clip.read_bytes()  # byte for byte
    derivatives = {p.name for p in (root / "data" / "derivatives").iterdir()}
    assert {"poster.jpg", "contact.jpg", "original.json"} <= derivatives
    assert "kf_0000.jpg" in derivatives and "thumb_0000.jpg" in derivatives
    assert not (root / "fetch.txt").exists()
    info = bag.info
    assert info["External-Identifier"] == processed_clip
    assert info["Source-Organization"] and info["Bagging-Date"]
    size = sum(p.stat().st_size for p in (root / "data").rglob("*") if p.is_file())
    count = sum(1 for p in (root / "data").rglob("*") if p.is_file())
    assert info["Payload-Oxum"] == f"{size}.{count}"
    sha = hashlib.sha256(phone_clip.read_bytes()).hexdigest()
    assert (
        f"{sha}  data/original/{processed_clip}.mp4" in (root / "manifest-sha256.txt").read_text()
    )
    tagged = (root / "tagmanifest-sha512.txt").read_text()
    for name in (
        "metadata/record.json",
        "metadata/checklist.json",
        "custody/events.jsonl",
        "README.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
    ):
        assert f"  {name}\n" in tagged
    record = json.loads((root / "metadata" / "record.json").read_text())
    assert record["code"] == processed_clip and record["title_en"] == "Night march on the bridge"
    probe = json.loads((root / "metadata" / "probe.json").read_text())
    assert probe["width"] == 160
    checklist = json.loads((root / "metadata" / "checklist.json").read_text())
    (answered,) = [i for i in checklist if i["key"] == "source_found"]
    assert answered["done"] and answered["note"] == NOTE and answered["updated_by"]
    video = json.loads((root / "metadata" / "videoobject.jsonld").read_text())
    assert video["@type"] == "VideoObject" and video["@context"] == "https://schema.org"
    assert video["sha256"] == sha and video["width"] == 160
    events = [json.loads(x) for x in (root / "custody" / "events.jsonl").read_text().splitlines()]
    actions = [e["action"] for e in events]
    assert actions[0] == "clip.created" and "media.ingested" in actions
    assert actions[-1] == "evidence.exported"  # the export itself is in the log, and in the bag
    readme = (root / "README.txt").read_text()
    assert "sha256sum -c manifest-sha256.txt" in readme and "openssl ts -verify" in readme
    assert sha in readme


def test_verify_bag_passes_a_good_bag_as_a_tar_and_as_a_directory(
    bag_tar: bytes, tmp_path: Path
) -> None:
    tar = tmp_path / "bag.tar"
    tar.write_bytes(bag_tar)
    (root,) = _extract(bag_tar, tmp_path / "x")
    for path in (tar, root, root.parent):
        result = _verify(path)
        assert result.exit_code == 0, result.output
        for name in (
            "bagit.declaration",
            "bagit.bag-info",
            "bagit.no-fetch",
            "bagit.manifest-sha256.txt",
            "bagit.manifest-sha512.txt",
            "bagit.tagmanifest-sha256.txt",
            "bagit.tagmanifest-sha512.txt",
            "custody.events",
            "custody.original",
            "custody.inclusion-proofs",  # tests/evidence/test_proofs.py: the proofs themselves
            "custody.checkpoint-signature",
        ):
            assert f"PASS  {name}:" in result.stdout
        assert "ok: 1 bag(s) verified" in result.stdout


def _flip(path: Path, at: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 1
    path.write_bytes(bytes(data))


def _drop_event(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:1] + lines[2:]))  # the second event goes


def _edit_record(path: Path) -> None:
    path.write_text(path.read_text().replace("Night march", "Day march"))


@pytest.mark.parametrize(
    ("what", "tamper", "failing"),
    [
        ("data/original/{code}.mp4", _flip, "bagit.manifest-sha256.txt"),
        ("metadata/record.json", _edit_record, "bagit.tagmanifest-sha256.txt"),
        ("custody/events.jsonl", _drop_event, "bagit.tagmanifest-sha256.txt"),
    ],
    ids=["flipped-byte-in-original", "changed-metadata", "removed-custody-event"],
)
def test_each_tampering_is_caught_by_bagit_and_by_verify_bag(
    bag_tar: bytes, processed_clip: str, tmp_path: Path, what: str, tamper: Any, failing: str
) -> None:
    (root,) = _extract(bag_tar, tmp_path)
    tamper(root / what.format(code=processed_clip))
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(root)).validate()
    result = _verify(root)
    assert result.exit_code == 1
    assert f"FAIL  {failing}:" in result.stdout
    assert "1 bag(s) failed verification" in result.stderr


def test_a_tampered_tar_fails_without_being_extracted(
    bag_tar: bytes, processed_clip: str, phone_clip: Path, tmp_path: Path
) -> None:
    data = bytearray(bag_tar)
    at = data.index(phone_clip.read_bytes()[:4096]) + 2000  # inside the original's bytes
    data[at] ^= 0xFF
    tar = tmp_path / "bag.tar"
    tar.write_bytes(bytes(data))
    result = _verify(tar)
    assert result.exit_code == 1
    assert f"FAIL  bagit.manifest-sha256.txt: data/original/{processed_clip}.mp4 does not" in (
        result.stdout
    )


def test_a_recomputed_event_hash_cannot_hide_an_edit(bag_tar: bytes, tmp_path: Path) -> None:
    """Editing an event and fixing the manifests still leaves the event's own hash wrong."""
    (root,) = _extract(bag_tar, tmp_path)
    path = root / "custody" / "events.jsonl"
    path.write_text(path.read_text().replace('"media.ingested"', '"media.ingestedX"'))
    bag = bagit.Bag(str(root))
    bag.save(manifests=True)  # the forger recomputes every manifest
    bag.validate()
    result = _verify(root)
    assert result.exit_code == 1 and "FAIL  custody.events: event" in result.stdout


def test_archive_export_bag_writes_tars_and_directories_and_logs_each_export(
    client: Any, contributor: Any, processed_clip: str, new_clip: Any, tmp_path: Path
) -> None:
    listing = new_clip()  # a record without an original is still exportable
    out = tmp_path / "two.tar"
    result = runner.invoke(cli, ["export", "bag", processed_clip, listing, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _verify(out).exit_code == 0
    with tarfile.open(out) as tar:
        roots = {n.split("/")[0] for n in tar.getnames()}
    assert roots == {processed_clip, listing}
    folder = tmp_path / "bags"
    result = runner.invoke(cli, ["export", "bag", "--city", "Abadan", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    for code in (processed_clip, listing):
        bagit.Bag(str(folder / code)).validate()
    empty = bagit.Bag(str(folder / listing))
    assert empty.info["Payload-Oxum"] == "0.0"
    verified = _verify(folder)
    assert verified.exit_code == 0 and "ok: 2 bag(s) verified" in verified.stdout
    assert "SKIP  custody.original: the bag has no original" in verified.stdout
    again = runner.invoke(cli, ["export", "bag", listing, "--out", str(folder)])
    assert again.exit_code == 1 and "exists already" in again.stderr
    none = runner.invoke(cli, ["export", "bag", "--out", str(folder)])
    assert none.exit_code == 1 and "give clip codes" in none.stderr
    missing = runner.invoke(cli, ["export", "bag", "IRN999999", "--out", str(tmp_path / "m.tar")])
    assert missing.exit_code == 1 and "no clip" in missing.stderr
    assert not (tmp_path / "m.tar").exists()
    with session_scope() as s:
        exports = s.scalars(
            select(CustodyEvent).where(CustodyEvent.action == "evidence.exported")
        ).all()
        by_clip = sorted(e.clip_code or "" for e in exports)
        assert by_clip == sorted([processed_clip, listing] * 2)
        assert all(e.actor.startswith("cli") for e in exports)


def test_the_demo_archive_and_an_uploaded_clip_export_bags_that_verify(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, tmp_path: Path
) -> None:
    from app.clips.models import Clip
    from app.jobs import runner as jobs
    from tests.ingest.conftest import upload

    assert runner.invoke(cli, ["demo"]).exit_code == 0
    with session_scope() as s:
        demo = s.scalar(select(Clip.code).where(Clip.status == "published").limit(1))
    assert demo is not None
    code = new_clip()
    assert upload(client, contributor, code, phone_clip.read_bytes()).status_code == 201
    while jobs.execute("test-worker"):
        pass
    folder = tmp_path / "out"
    result = runner.invoke(cli, ["export", "bag", demo, code, "--out", str(folder)])
    assert result.exit_code == 0, result.output
    for c in (demo, code):
        bagit.Bag(str(folder / c)).validate()
    verified = _verify(folder)
    assert verified.exit_code == 0 and "ok: 2 bag(s) verified" in verified.stdout
    shutil.rmtree(folder)


def test_evidence_is_for_the_team_only(client: Any, processed_clip: str) -> None:
    r = client.get(f"/api/v1/clips/{processed_clip}/evidence.tar")
    assert r.status_code == 401
    with session_scope() as s:
        assert not s.scalars(
            select(CustodyEvent).where(CustodyEvent.action == "evidence.exported")
        ).all()


def test_verify_bag_refuses_what_is_not_a_bag(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    result = _verify(junk)
    assert result.exit_code == 1 and "cannot be read as a bag" in result.stderr
    result = _verify(tmp_path)
    assert result.exit_code == 1
