"""`archive storage migrate --to s3`: an archive built on local disk is copied into a real
S3 server (moto_server), every original read back and verified; a second run resumes, a
run killed after its first object resumes where it stopped, a corrupt object already in the
bucket is reported and left alone; and then the archive runs on S3 with an empty
MEDIA_ROOT: the team downloads the original (whole and a Range), the fixity check passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.custody.models import CustodyEvent
from app.db import session_scope
from app.ingest import fixity
from app.ingest.models import Media
from app.storage.backend import original_key, playback_key, preview_key
from app.storage.derivatives import preview_dir
from tests.storage.migrated import *  # noqa: F403  (fixtures)
from tests.storage.migrated import Archive, migrate, use_s3

ROOT = Path(__file__).resolve().parents[2]


def _local_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for area in ("originals", "derivatives", "public", "preview")
        for p in (root / area).rglob("*")
        if p.is_file()
    }


def test_migrate_copies_and_verifies_everything_and_a_second_run_skips(
    local_archive: Archive,
) -> None:
    a = local_archive
    preview = preview_dir(a.local_root, a.shas[1])  # the team's blurred preview, on disk
    preview.mkdir(parents=True)
    (preview / "playback.mp4").write_bytes(b"a preview")
    before = _local_files(a.local_root)
    result = migrate()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for i, sha in enumerate(a.shas, 1):
        assert any(
            ln.startswith(f"[{i}/2] originals/{sha[:12]}…") and ln.endswith("copied, verified")
            for ln in lines
        ), result.output
    assert "set ARCHIVE_STORAGE=s3" in result.output
    # the bucket holds each original byte for byte, the current derivatives, the playback copy
    for sha, f in zip(a.shas, a.files, strict=True):
        assert a.object(original_key(sha)) == f.read_bytes()
    with session_scope() as s:
        gens = {m.sha256: m.derivative_generation for m in s.scalars(select(Media))}
    for sha in a.shas:
        names = {k.rsplit("/", 1)[1] for k in a.keys(f"derivatives/{sha}/{gens[sha]}/")}
        assert {"poster.jpg", "contact.jpg", "kf_0000.jpg", "thumb_0000.jpg"} <= names
    assert a.object(preview_key(a.shas[1], "playback.mp4")) == b"a preview"
    local_playback = a.local_root / "public" / a.shas[0][:2] / a.shas[0][2:4] / a.shas[0]
    assert a.object(playback_key(a.shas[0])) == (local_playback / "playback.mp4").read_bytes()
    assert _local_files(a.local_root) == before  # nothing local changed or went
    with session_scope() as s:
        (event,) = s.scalars(select(CustodyEvent).where(CustodyEvent.action == "storage.migrated"))
        assert event.payload["originals_copied"] == 2 and event.payload["failures"] == 0
        assert event.payload["bucket"] == a.bucket

    again = migrate()
    assert again.exit_code == 0, again.output
    assert again.output.count("already there, verified") == 2
    assert "0 copied, 2 already there and verified" in again.output
    with session_scope() as s:
        events = list(
            s.scalars(select(CustodyEvent).where(CustodyEvent.action == "storage.migrated"))
        )
    assert [e.payload["originals_verified"] for e in events] == [0, 2]


def test_dry_run_copies_nothing(local_archive: Archive) -> None:
    result = migrate("--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.count("to copy") >= 2
    assert local_archive.keys() == set()


def test_a_run_killed_after_its_first_object_resumes(local_archive: Archive) -> None:
    a = local_archive
    env = {**os.environ, "ARCHIVE_TEST_FAULT": "migrate_after_object"}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "storage", "migrate", "--to", "s3"],
        cwd=ROOT, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == -9, proc.stderr.decode()  # SIGKILL, as a power cut
    assert a.keys("originals/") == {original_key(a.shas[0])}
    result = migrate()
    assert result.exit_code == 0, result.output
    assert f"[1/2] originals/{a.shas[0][:12]}… " in result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("[")]
    first, first_derived, second, _ = lines
    assert first.endswith("already there, verified")
    assert "derivatives: " in first_derived and " copied, verified (" in first_derived
    assert second.endswith("copied, verified") and "already" not in second
    assert a.keys("originals/") == {original_key(s) for s in a.shas}


def test_a_corrupt_object_in_the_bucket_is_reported_not_overwritten(
    local_archive: Archive,
) -> None:
    a = local_archive
    good = a.files[0].read_bytes()
    bad = good[:100] + bytes([good[100] ^ 1]) + good[101:]  # same size, one bit
    a.client.put_object(Bucket=a.bucket, Key=original_key(a.shas[0]), Body=bad)
    shorter = a.files[1].read_bytes()[:-1]
    a.client.put_object(Bucket=a.bucket, Key=original_key(a.shas[1]), Body=shorter)
    result = migrate()
    assert result.exit_code == 1, result.output
    assert "FAILED: read back from the target: changed" in result.output
    assert "never overwritten" in result.output
    assert "2 failure(s)" in result.output
    assert "set ARCHIVE_STORAGE=s3" not in result.output
    assert a.object(original_key(a.shas[0])) == bad  # left for a person to look at
    assert a.object(original_key(a.shas[1])) == shorter


def test_a_local_original_that_no_longer_matches_is_not_copied(local_archive: Archive) -> None:
    a = local_archive
    path = a.local_root / "originals" / a.shas[0][:2] / a.shas[0][2:4] / a.shas[0]
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[50] ^= 1  # same size, one bit: the disk rotted
    path.write_bytes(bytes(data))
    result = migrate()
    assert result.exit_code == 1, result.output
    assert "the local file no longer matches its record" in result.output
    assert a.keys("originals/") == {original_key(a.shas[1])}  # the other one went up
    assert not a.keys("staging/")  # the abandoned upload left nothing


def test_migrate_needs_a_bucket(local_archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_S3_BUCKET", "")
    from app.config import get_settings

    get_settings.cache_clear()
    result = migrate()
    assert result.exit_code == 1
    assert "needs ARCHIVE_S3_BUCKET" in result.output


def test_after_migrating_the_archive_runs_on_s3_with_an_empty_media_root(
    local_archive: Archive,
    client: Any,
    contributor: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = local_archive
    assert migrate().exit_code == 0
    node = tmp_path / "node-b"
    use_s3(monkeypatch, a, node)
    data = a.files[0].read_bytes()
    url = f"/api/v1/clips/{a.codes[0]}/media/original"
    r = client.get(url, headers=contributor.headers)
    assert r.status_code == 200, r.text
    assert r.content == data
    assert r.headers["x-content-sha256"] == a.shas[0]
    assert r.headers["content-disposition"].startswith("attachment;")
    part = client.get(url, headers={**contributor.headers, "Range": "bytes=10-29"})
    assert part.status_code == 206 and part.content == data[10:30]
    report = fixity.check_all(None)
    assert report.files == 2 and not report.failures
    assert not (node / "originals").exists() or not any((node / "originals").rglob("*"))
