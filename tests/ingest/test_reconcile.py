"""`archive reconcile`: rows without files, files without rows, stale partial uploads; dry
by default, `--quarantine` moves untracked files aside (never deletes), young files skipped."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from app.clips.models import Clip
from app.config import get_settings
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.ingest.models import Upload
from app.kit.clock import utcnow
from tests.ingest.conftest import store_files, upload

runner = CliRunner()


def _root() -> Path:
    return Path(get_settings().media_root)


def _original(sha: str) -> Path:
    return _root() / "originals" / sha[:2] / sha[2:4] / sha


def test_reconcile_reports_dry_then_quarantines_untracked_files(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, other_clip: Path
) -> None:
    intact, gone = new_clip(), new_clip()
    upload(client, contributor, intact, phone_clip.read_bytes())
    sha_gone = upload(client, contributor, gone, other_clip.read_bytes()).json()["sha256"]
    _original(sha_gone).unlink()  # a row whose file is missing
    data = b"stray bytes that no row refers to"
    orphan = hashlib.sha256(data).hexdigest()
    _original(orphan).parent.mkdir(parents=True, exist_ok=True)
    _original(orphan).write_bytes(data)
    stray_upload = uuid.uuid4().hex
    (_root() / "uploads").mkdir(exist_ok=True)
    (_root() / "uploads" / stray_upload).write_bytes(b"half an upload")
    stale = uuid.uuid4().hex
    with session_scope() as s:
        clip_id = s.scalar(select(Clip.id).where(Clip.code == intact))
        s.add(
            Upload(
                id=stale,
                clip_id=clip_id,
                length=1000,
                received=0,
                state="uploading",
                updated_at=utcnow() - timedelta(days=30),
            )
        )
    before = store_files(_root())

    # files younger than the upload timeout are not judged: they may still be arriving
    young = runner.invoke(cli, ["reconcile"])
    assert young.exit_code == 1  # the missing original and the stale upload are still there
    assert f"skipped (too new to judge)  {orphan}" in young.stdout
    assert f"skipped (too new to judge)  {stray_upload}" in young.stdout
    assert "original_without_row" not in young.stdout

    dry = runner.invoke(cli, ["reconcile", "--min-age", "0"])
    assert dry.exit_code == 1, dry.output
    out = dry.stdout
    assert f"original_missing  {sha_gone}" in out
    assert f"original_without_row  {orphan}" in out
    assert f"upload_without_row  {stray_upload}" in out
    assert f"stale_upload  {stale}" in out
    assert "dry run: nothing changed" in out
    assert store_files(_root()) == before  # a dry run changes nothing

    done = runner.invoke(cli, ["reconcile", "--min-age", "0", "--quarantine"])
    assert done.exit_code == 1  # what needs a person (the missing original) is still listed
    assert f"-> moved to quarantine/{orphan}" in done.stdout
    assert f"-> moved to quarantine/upload-{stray_upload}" in done.stdout
    assert (_root() / "quarantine" / orphan).read_bytes() == data  # moved, never deleted
    assert (_root() / "quarantine" / f"upload-{stray_upload}").read_bytes() == b"half an upload"
    assert not _original(orphan).exists()
    assert not (_root() / "uploads" / stray_upload).exists()
    assert _original(hashlib.sha256(phone_clip.read_bytes()).hexdigest()).exists()
    with session_scope() as s:
        moved = s.scalars(
            select(CustodyEvent).where(CustodyEvent.action == "reconcile.quarantined")
        ).all()
        assert sorted(e.payload["subject"] for e in moved) == sorted([orphan, stray_upload])
        assert all(e.actor.startswith("cli") for e in moved)

    again = runner.invoke(cli, ["reconcile", "--min-age", "0", "--quarantine"])
    assert "original_without_row" not in again.stdout
    assert "upload_without_row" not in again.stdout


def test_a_consistent_store_reconciles_cleanly_and_the_schedule_stays_quiet(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    from app.ingest.tasks import sweep_reconcile

    upload(client, contributor, new_clip(), phone_clip.read_bytes())
    result = runner.invoke(cli, ["reconcile", "--min-age", "0"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("0 finding(s)")
    assert sweep_reconcile() == 0
    os.unlink(_original(hashlib.sha256(phone_clip.read_bytes()).hexdigest()))
    assert sweep_reconcile() == 2  # the row, and the queued job that needs the file
    with session_scope() as s:
        (event,) = s.scalars(
            select(CustodyEvent).where(CustodyEvent.action == "reconcile.run")
        ).all()
        assert event.payload == {
            "findings": {"original_missing": 1, "job_without_original": 1},
            "dry_run": True,
        }
