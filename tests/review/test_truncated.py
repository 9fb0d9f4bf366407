"""A truncated original is accepted, and the team sees the warning: in the media metadata
of the API, on the clip page, and at the checklist's "content described" item."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Member
from tests.ingest.conftest import upload
from tests.media import X264, ffmpeg


@pytest.fixture(scope="module")
def matroska(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("truncated") / "clip.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=160x120:r=20:d=2",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
        *X264, "-g", "10", "-c:a", "aac", str(out),
    )  # fmt: skip
    return Path(out).read_bytes()


def _new_clip(client: TestClient, who: Member) -> str:
    body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"}
    r = client.post("/api/v1/clips", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def test_the_team_sees_that_an_original_is_cut_off(
    client: TestClient, contributor: Member, reviewer: Member, matroska: bytes
) -> None:
    intact, cut = _new_clip(client, contributor), _new_clip(client, contributor)
    assert upload(client, contributor, intact, matroska, name="a.mkv").status_code == 201
    r = upload(client, contributor, cut, matroska[: len(matroska) // 2], name="b.mkv")
    assert r.status_code == 201, r.text  # a partial file can still be evidence
    meta = client.get(f"/api/v1/clips/{cut}/media", headers=reviewer.headers).json()["metadata"]
    assert meta["truncated"] is True
    assert meta["truncated_detail"].startswith("the file is cut off: its Segment runs")
    whole = client.get(f"/api/v1/clips/{intact}/media", headers=reviewer.headers).json()
    assert whole["metadata"]["truncated"] is False

    for prefix, words in (("", "The file is cut off"), ("/fa", "این فایل بریده شده است")):
        page = client.get(f"{prefix}/team/clips/{cut}", headers=reviewer.headers).text
        assert 'data-testid="truncated"' in page and words in page
        assert 'data-testid="truncated-content_described"' in page
        clean = client.get(f"{prefix}/team/clips/{intact}", headers=reviewer.headers).text
        assert 'data-testid="truncated' not in clean
