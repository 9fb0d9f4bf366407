"""A resumable (tus) upload keeps its bytes so far on the node that received them (README
"Several nodes on S3": route /api/v1/uploads/<id> to one node). Misrouted to another node,
a PATCH is refused with a clear 410 and stores nothing, and the upload still completes on
the node that has its bytes."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from tests.multinode.conftest import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {"Content-Type": "application/offset+octet-stream"}


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def test_a_resumable_upload_misrouted_to_the_other_node_loses_nothing(
    cluster: Cluster, unrelated_clip: bytes
) -> None:
    data = unrelated_clip
    who = cluster.team["uploader"]
    a, b = cluster.a, cluster.b
    headers = {**who.headers, **TUS}
    r = httpx.post(
        f"{a.url}/api/v1/clips",
        json={"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"},
        headers=who.headers,
    )
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = httpx.post(
        f"{a.url}/api/v1/uploads",
        headers={
            **headers,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": f"clip {b64(code)},filename {b64('clip.mp4')}",
        },
    )
    assert r.status_code == 201, r.text
    path = r.headers["Location"]
    half = len(data) // 2
    r = httpx.patch(
        a.url + path, content=data[:half], headers={**headers, **CHUNK, "Upload-Offset": "0"}
    )
    assert r.status_code == 204, r.text

    # B knows the upload (a database row) but not its bytes (A's disk)
    assert httpx.head(b.url + path, headers=headers).headers["Upload-Offset"] == str(half)
    r = httpx.patch(
        b.url + path, content=data[half:], headers={**headers, **CHUNK, "Upload-Offset": str(half)}
    )
    assert r.status_code == 410, r.text
    assert r.json()["error"] == "upload_gone"
    media = httpx.get(f"{b.url}/api/v1/clips/{code}/media", headers=who.headers)
    assert media.status_code == 404, media.text  # nothing half-stored

    # A still has every acknowledged byte: the upload resumes and completes there
    assert httpx.head(a.url + path, headers=headers).headers["Upload-Offset"] == str(half)
    r = httpx.patch(
        a.url + path, content=data[half:], headers={**headers, **CHUNK, "Upload-Offset": str(half)}
    )
    assert r.status_code == 204, r.text
    media = httpx.get(f"{b.url}/api/v1/clips/{code}/media", headers=who.headers)
    assert media.status_code == 200, media.text
    assert media.json()["sha256"] == hashlib.sha256(data).hexdigest()
