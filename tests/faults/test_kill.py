"""kill -9 of the server at each fault point of an upload (app/kit/faults.py), in every
upload mode: the client never gets a 201, the restarted app's start-up sweep leaves
nothing behind, the consistency check finds nothing, and the same upload then succeeds
(a resumable one resumes from its last committed offset)."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import get_settings
from tests.faults.conftest import MiB, counts, findings, restarted, ts_bytes
from tests.faults.upload import new_clip, send, tus_create, tus_offset, tus_patch
from tests.ingest.conftest import store_files

pytestmark = pytest.mark.slow
CASES = [
    *(("raw", p) for p in ("after_temp_write", "after_fsync", "after_rename", "before_commit")),
    ("multipart", "before_commit"),
    *(("tus", p) for p in ("after_temp_write", "after_fsync", "after_rename", "before_commit")),
]


def _media_root() -> Path:
    return Path(get_settings().media_root)


@pytest.mark.parametrize(("mode", "point"), CASES, ids=[f"{m}-{p}" for m, p in CASES])
def test_kill_9_at_a_fault_point_loses_nothing_and_leaves_nothing(
    server_factory: Any, contributor: Any, tmp_path: Path, mode: str, point: str
) -> None:
    data = ts_bytes(tmp_path, 3 * MiB)
    sha = hashlib.sha256(data).hexdigest()
    half = len(data) // 2 // 188 * 188
    with restarted() as client:
        code = new_clip(client, contributor)
        if mode == "tus":  # half of it committed before the fault
            path = tus_create(client, contributor, code, len(data))
            assert tus_patch(client, contributor, path, 0, data[:half]).status_code == 204

    doomed = server_factory().start(ARCHIVE_TEST_FAULT=point)
    with (
        httpx.Client(base_url=doomed.base, timeout=60) as http,
        pytest.raises(httpx.TransportError),  # the server died: no response, never a 201
    ):
        if mode == "tus":
            tus_patch(http, contributor, path, half, data[half:])
        else:
            send(http, contributor, code, data, mode)
    assert doomed.wait_dead() == -signal.SIGKILL

    with restarted() as client:  # its start-up sweep runs before it serves
        assert counts() == {"media": 0, "jobs": 0, "ingested": 0}
        files = store_files(_media_root())
        assert files["tmp"] == [] and files["originals"] == []
        assert findings() == []
        promoted = point in ("after_rename", "before_commit")
        quarantine = _media_root() / "quarantine"
        if mode == "tus":
            assert not quarantine.exists()  # its bytes went back to uploads/: it resumes
            assert tus_offset(client, contributor, path) == half
            assert tus_patch(client, contributor, path, half, data[half:]).status_code == 204
            r = client.get(f"/api/v1/clips/{code}/media", headers=contributor.headers)
        else:
            assert (quarantine / sha).exists() == promoted  # set aside, never deleted
            r = send(client, contributor, code, data, mode)
            assert r.status_code == 201, r.text
        assert r.json()["sha256"] == sha and r.json()["size"] == len(data)
    assert counts() == {"media": 1, "jobs": 1, "ingested": 1}
    assert findings() == []
