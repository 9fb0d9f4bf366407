"""Upload calls shared by the fault tests, for an httpx client or a TestClient alike."""

from __future__ import annotations

import base64
from typing import Any

TUS = {"Tus-Resumable": "1.0.0"}


def new_clip(http: Any, who: Any) -> str:
    body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"}
    r = http.post("/api/v1/clips", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def send(http: Any, who: Any, code: str, data: Any, mode: str, **headers: str) -> Any:
    """A raw (``data`` may be an iterator: chunked) or multipart upload."""
    url = f"/api/v1/clips/{code}/media"
    if mode == "raw":
        return http.post(
            url, content=data, headers={**who.headers, "Content-Type": "video/mp2t", **headers}
        )
    return http.post(url, files={"file": ("clip.ts", data, "video/mp2t")}, headers=who.headers)


def tus_create(http: Any, who: Any, code: str, length: int) -> Any:
    meta = "clip " + base64.b64encode(code.encode()).decode()
    r = http.post(
        "/api/v1/uploads",
        headers={**who.headers, **TUS, "Upload-Length": str(length), "Upload-Metadata": meta},
    )
    assert r.status_code == 201, r.text
    return str(r.headers["location"])


def tus_patch(http: Any, who: Any, path: str, offset: int, data: Any) -> Any:
    headers = {
        **who.headers,
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    return http.patch(path, content=data, headers=headers)


def tus_offset(http: Any, who: Any, path: str) -> int:
    r = http.head(path, headers={**who.headers, **TUS})
    assert r.status_code == 200, r.text
    return int(r.headers["upload-offset"])
