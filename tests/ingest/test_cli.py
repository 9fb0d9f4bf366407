"""`archive probe`, `archive keyframes`, `archive fixity` (same code as the server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from app.cli import app
from tests.ingest.conftest import upload

runner = CliRunner()


def test_probe_prints_metadata_as_json(phone_clip: Path) -> None:
    result = runner.invoke(app, ["probe", str(phone_clip)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["width"] == 160 and info["video_codec"] == "h264" and info["duration"] > 2.9


def test_probe_and_keyframes_fail_clearly_on_bad_files(
    tmp_path: Path, jpeg_bytes: bytes, truncated_clip: Path
) -> None:
    photo = tmp_path / "photo.mp4"
    photo.write_bytes(jpeg_bytes)
    result = runner.invoke(app, ["probe", str(photo)])
    assert result.exit_code == 1 and "JPEG" in result.stderr and result.stdout == ""
    result = runner.invoke(app, ["keyframes", str(truncated_clip), "--out", str(tmp_path / "k")])
    assert result.exit_code == 1 and "truncated" in result.stderr
    result = runner.invoke(app, ["probe", str(tmp_path / "missing.mp4")])
    assert result.exit_code != 0


def test_keyframes_writes_jpegs_and_prints_timestamps_and_hashes(
    phone_clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "frames"
    result = runner.invoke(app, ["keyframes", str(phone_clip), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frames = json.loads(result.stdout)
    assert frames[0]["timestamp"] == 0 and len(frames) >= 2
    for f in frames:
        assert set(f) == {"timestamp", "path", "phash"} and len(f["phash"]) == 16
        assert Path(f["path"]).read_bytes()[:3] == b"\xff\xd8\xff"


def test_fixity_reports_changed_originals(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    import os

    from app.config import get_settings

    code = new_clip()
    sha = upload(client, contributor, code, phone_clip.read_bytes()).json()["sha256"]
    result = runner.invoke(app, ["fixity"])
    assert result.exit_code == 0 and f"{code}  SHA-256:{sha}  ok" in result.stdout
    path = Path(get_settings().media_root) / "originals" / sha[:2] / sha[2:4] / sha
    os.chmod(path, 0o644)
    with open(path, "r+b") as fh:
        fh.seek(100)
        fh.write(b"X")
    result = runner.invoke(app, ["fixity", code])
    assert result.exit_code == 1 and "FAILED" in result.stdout


def test_archive_fixity_in_a_fresh_process_after_real_uploads(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, other_clip: Path
) -> None:
    """`archive fixity` as a user runs it: its own process, which imports only the CLI.
    It used to print `ok` for every file, then crash on the commit (NoReferencedTableError:
    'media.uploaded_by_id' could not find table 'user_account') and exit 1."""
    import os
    import subprocess
    import sys

    from sqlalchemy import select

    from app.db import session_scope
    from app.ingest.models import Media

    codes = [new_clip(), new_clip()]
    for code, clip in zip(codes, (phone_clip, other_clip), strict=True):
        assert upload(client, contributor, code, clip.read_bytes()).status_code == 201
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "fixity"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),  # the test's database and media store
    )
    assert out.returncode == 0, out.stderr
    assert "Error" not in out.stderr and "Traceback" not in out.stderr
    for code in codes:
        assert f"{code}  SHA-256:" in out.stdout
    assert out.stdout.count("  ok") == 2
    with session_scope() as s:  # what it checked is recorded (the commit went through)
        assert all(at is not None for at in s.scalars(select(Media.fixity_checked_at)))
