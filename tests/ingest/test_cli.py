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
