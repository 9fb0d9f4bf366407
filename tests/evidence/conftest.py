"""Evidence tests use the ingest tests' tiny real clips, and a clip uploaded and processed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.jobs import runner
from tests.ingest.conftest import media_dir, new_clip, other_clip, phone_clip, upload

__all__ = ["media_dir", "new_clip", "other_clip", "phone_clip"]


NOTE = "Matched to the uploader's channel, first posted 16 Nov 2019"


@pytest.fixture
def processed_clip(
    client: Any, contributor: Any, reviewer: Any, admin: Any, new_clip: Any, phone_clip: Path
) -> str:
    """A clip with its original uploaded and processed (probe, keyframes, hashes), and a
    checklist item answered with a note."""
    code = str(new_clip(title_en="Night march on the bridge"))
    r = upload(client, contributor, code, phone_clip.read_bytes(), name="VID_0001.mp4")
    assert r.status_code == 201, r.text
    for _ in range(10):
        if not runner.execute("test-worker"):
            break
    item = {"key": "source_found", "label_en": "Source found", "label_fa": "منبع پیدا شد"}
    r = client.post("/api/v1/review/checklist-items", json=item, headers=admin.headers)
    assert r.status_code in (201, 409), r.text
    r = client.put(
        f"/api/v1/clips/{code}/checklist/source_found",
        json={"version": 0, "done": True, "note": NOTE},
        headers=reviewer.headers,
    )
    assert r.status_code == 200, r.text
    return code
