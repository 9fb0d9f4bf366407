"""The original's SHA-512 is taken once (by its first fixity read) and a bag uses it: the
export copies the original into the tar in the kernel, never hashing it again. An original
that failed its last fixity check is not exported."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import Any

import bagit
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from app.clips.models import Clip
from app.db import session_scope
from app.evidence.package import BagPlan, PayloadFile, copy_into, tar_stream, write_tar
from app.ingest.models import Media
from app.storage import get_store

runner = CliRunner()


def _media(code: str) -> Media:
    with session_scope() as s:
        media = s.scalar(
            select(Media).join(Clip, Clip.id == Media.clip_id).where(Clip.code == code)
        )
        assert media is not None
        s.expunge(media)
        return media


def _set_sha512(code: str, value: str | None) -> None:
    with session_scope() as s:
        media = s.scalar(
            select(Media).join(Clip, Clip.id == Media.clip_id).where(Clip.code == code)
        )
        assert media is not None
        media.sha512 = value


def _export(code: str, out: Path) -> Path:
    result = runner.invoke(cli, ["export", "bag", code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _bag_dir(tar_path: Path, into: Path) -> Path:
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    (root,) = [p for p in into.iterdir() if p.is_dir()]
    return root


def test_the_sha512_is_taken_by_the_first_fixity_read_and_the_bag_lists_it(
    client: Any, contributor: Any, processed_clip: str, phone_clip: Path, tmp_path: Path
) -> None:
    media = _media(processed_clip)
    assert media.sha512 == hashlib.sha512(phone_clip.read_bytes()).hexdigest()
    r = client.get(f"/api/v1/clips/{processed_clip}/media", headers=contributor.headers)
    assert r.status_code == 200 and r.json()["sha512"] == media.sha512
    root = _bag_dir(_export(processed_clip, tmp_path / "bag.tar"), tmp_path / "x")
    bagit.Bag(str(root)).validate()  # full: the copied bytes re-hashed by the bagit tool
    original = root / "data" / "original" / f"{processed_clip}.mp4"
    assert original.read_bytes() == phone_clip.read_bytes()
    listed = (root / "manifest-sha512.txt").read_text()
    assert f"{media.sha512}  data/original/{processed_clip}.mp4" in listed


def test_the_export_takes_the_stored_checksums_and_does_not_hash_the_original_again(
    processed_clip: str, tmp_path: Path
) -> None:
    """With a wrong SHA-512 on record, the manifest carries that value and bagit's full
    validation fails: the export wrote the stored checksum instead of re-reading the file
    (the original's integrity is the fixity cycle's job, and a refused export's below)."""
    _set_sha512(processed_clip, "0" * 128)
    root = _bag_dir(_export(processed_clip, tmp_path / "bag.tar"), tmp_path / "x")
    with pytest.raises(bagit.BagValidationError) as caught:
        bagit.Bag(str(root)).validate()
    (bad,) = caught.value.details
    assert bad.path == f"data/original/{processed_clip}.mp4" and bad.algorithm == "sha512"


def test_without_a_stored_sha512_the_export_hashes_and_archive_fixity_stores_it(
    processed_clip: str, phone_clip: Path, tmp_path: Path
) -> None:
    _set_sha512(processed_clip, None)  # an original stored before the SHA-512 was taken
    root = _bag_dir(_export(processed_clip, tmp_path / "bag.tar"), tmp_path / "x")
    bagit.Bag(str(root)).validate()  # hashed on the way out instead
    assert _media(processed_clip).sha512 is None
    result = runner.invoke(cli, ["fixity", processed_clip])
    assert result.exit_code == 0, result.output
    assert _media(processed_clip).sha512 == hashlib.sha512(phone_clip.read_bytes()).hexdigest()


def test_an_original_that_failed_fixity_is_refused_with_the_reason(
    client: Any, contributor: Any, processed_clip: str, tmp_path: Path
) -> None:
    path = get_store().original_path(_media(processed_clip).sha256)
    os.chmod(path, 0o644)
    with open(path, "r+b") as fh:  # one byte different, same size
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 1]))
    assert runner.invoke(cli, ["fixity", processed_clip]).exit_code == 1
    r = client.get(f"/api/v1/clips/{processed_clip}/evidence.tar", headers=contributor.headers)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "original_not_intact" and body["fixity_status"] == "changed"
    assert "failed its last fixity check" in body["detail"]
    out = tmp_path / "bag.tar"
    result = runner.invoke(cli, ["export", "bag", processed_clip, "--out", str(out)])
    assert result.exit_code == 1 and "failed its last fixity check" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".*.part"))


def _plan(tmp_path: Path, content: bytes, *, known: bool) -> BagPlan:
    src = tmp_path / "original.bin"
    src.write_bytes(content)
    sha256 = hashlib.sha256(content).hexdigest()
    sha512 = hashlib.sha512(content).hexdigest() if known else None
    payload = [PayloadFile("data/original/X.bin", src, len(content), sha256, sha512)]
    return BagPlan("X", [("External-Identifier", "X")], payload, {"metadata/a.json": b"{}\n"})


def test_the_copied_tar_is_the_streamed_tar_byte_for_byte(tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)  # not a multiple of the tar block
    plan = _plan(tmp_path, content, known=True)
    plan.created = None
    out = tmp_path / "copied.tar"
    size = write_tar([plan], out)
    streamed = b"".join(tar_stream([plan]))
    assert size == out.stat().st_size
    with tarfile.open(out) as a, tarfile.open(fileobj=io.BytesIO(streamed)) as b:
        assert a.getnames() == b.getnames()
        for name in a.getnames():
            fa, fb = a.extractfile(name), b.extractfile(name)
            if fa is not None and fb is not None:
                assert fa.read() == fb.read(), name
        original = a.extractfile("X/data/original/X.bin")
        assert original is not None and original.read() == content


def test_an_original_whose_size_changed_is_not_copied(tmp_path: Path) -> None:
    plan = _plan(tmp_path, b"x" * 5000, known=True)
    (tmp_path / "original.bin").write_bytes(b"x" * 4000)  # shrank behind our back
    out = tmp_path / "bag.tar"
    with pytest.raises(OSError, match="4000 bytes, its record says 5000"):
        write_tar([plan], out)
    assert not out.exists() and not (tmp_path / ".bag.tar.part").exists()
    fd = os.open(tmp_path / "other", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with pytest.raises(OSError, match="its record says 1"):
            copy_into(tmp_path / "original.bin", 1, fd)
    finally:
        os.close(fd)
