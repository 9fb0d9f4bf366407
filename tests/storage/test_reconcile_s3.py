"""`archive reconcile` (and the consistency check) on S3, after `archive storage migrate`:
the rows are compared with the bucket's objects. A deleted object is missing, a shortened
one of the wrong size, an object no row refers to is reported and left in the bucket (even
with --quarantine), a derivative generation no row points at is removable."""

from __future__ import annotations

import os
import uuid
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.ingest.consistency import check
from app.storage.backend import derivative_key, original_key
from app.storage.configured import get_backend
from app.storage.store import get_store
from tests.storage.migrated import *  # noqa: F403  (fixtures)
from tests.storage.migrated import Archive


def _reconcile(*args: str) -> Any:
    return CliRunner().invoke(cli, ["reconcile", "--min-age", "0", *args])


def test_a_migrated_archive_is_consistent_on_s3(migrated: Archive) -> None:
    with session_scope() as s:
        assert check(s, get_store(), deep=True) == []  # every object re-hashed from the bucket
    result = _reconcile()
    assert result.exit_code == 0, result.output
    assert "0 finding(s)" in result.output


def test_reconcile_on_s3_finds_missing_wrong_size_orphan_and_stray_derivatives(
    migrated: Archive,
) -> None:
    a = migrated
    backend = get_backend()
    a.client.delete_object(Bucket=a.bucket, Key=original_key(a.shas[0]))
    short = a.files[1].read_bytes()[:-7]
    a.client.put_object(Bucket=a.bucket, Key=original_key(a.shas[1]), Body=short)
    orphan = backend.put_original(iter([os.urandom(3000)]), limit=10_000)
    stray = derivative_key(a.shas[1], uuid.uuid4().hex, "kf_0000.jpg")
    backend.put_derivative(stray, b"\xff\xd8 not a real frame")
    stray_prefix = stray.rsplit("/", 1)[0] + "/"

    result = _reconcile()
    assert result.exit_code == 1, result.output
    out = result.output
    assert f"original_missing  {a.shas[0]}" in out
    assert f"original_size  {a.shas[1]}  {len(short)} bytes in the store" in out
    assert f"original_without_row  {orphan.sha256}" in out
    assert f"derivatives_unreferenced  {stray_prefix}  1 object(s)" in out
    assert "job_without_original" in out  # the jobs of the deleted original
    assert "left in the bucket" in out and "never moves or deletes an original" in out
    assert "dry run" in out

    result = _reconcile("--quarantine", "--remove-derivatives")
    assert result.exit_code == 1, result.output  # the originals are for a person to look at
    assert f"{orphan.sha256}  no media row references it" in result.output
    assert "-> left in the bucket (not moved: a WORM bucket cannot)" in result.output
    assert f"{stray_prefix}  1 object(s)" in result.output and "-> removed (1 object(s))" in (
        result.output
    )
    assert backend.stat(original_key(orphan.sha256)) is not None  # not moved, not deleted
    assert backend.stat(stray) is None
    assert not (get_store().root / "quarantine").exists()
    with session_scope() as s:
        (event,) = s.scalars(
            select(CustodyEvent).where(CustodyEvent.action == "reconcile.derivatives_removed")
        )
    assert event.payload["removed"] == {stray_prefix: 1}

    again = _reconcile()
    assert "derivatives_unreferenced" not in again.output


def test_a_new_object_is_too_young_to_judge(migrated: Archive) -> None:
    orphan = get_backend().put_original(iter([os.urandom(2000)]), limit=10_000)
    result = CliRunner().invoke(cli, ["reconcile", "--min-age", "3600"])
    assert result.exit_code == 0, result.output
    assert f"skipped (too new to judge)  {orphan.sha256}" in result.output
