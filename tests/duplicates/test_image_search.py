"""Search by image, through the API and the team page, on a clip processed by the real
pipeline: a still of the footage finds its clip and moment (mirrored too), the clip's own
keyframe finds it at distance 0, an unrelated still finds nothing, bad images get a 4xx."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from app.config import get_settings
from app.duplicates import index as frame_index
from app.jobs import runner
from tests.ingest.conftest import upload
from tests.media import ffmpeg


def _still(video: Path, at: float, out: Path) -> bytes:
    ffmpeg("-ss", str(at), "-i", str(video), "-frames:v", "1", str(out))
    return out.read_bytes()


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _search(client: Any, who: Any, data: bytes, name: str = "still.png") -> Any:
    return client.post(
        "/api/v1/search/image",
        files={"image": (name, data, "image/png")},
        headers=who.headers,
    )


@pytest.fixture()
def archive(
    client: Any, contributor: Any, source_clip: Path, unrelated: dict[str, Path]
) -> dict[str, str]:
    frame_index.reset()
    codes = {}
    for name, path in [("source", source_clip), ("other", unrelated["gradients"])]:
        body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"}
        r = client.post("/api/v1/clips", json=body, headers=contributor.headers)
        codes[name] = r.json()["code"]
        assert upload(client, contributor, codes[name], path.read_bytes()).status_code == 201
    for _ in range(30):
        if not runner.execute("test-worker"):
            break
    frame_index.start_for_process()
    assert frame_index.wait_ready(30)
    return codes


def test_a_still_finds_its_clip_and_moment(
    client: Any, contributor: Any, archive: dict[str, str], source_clip: Path, tmp_path: Path
) -> None:
    still = _still(source_clip, 7.0, tmp_path / "at7.png")  # the mandelbrot shot (5-10 s)
    r = _search(client, contributor, still)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["quality"] >= 50 and len(body["hash"]) == 64
    assert [c["code"] for c in body["results"]] == [archive["source"]]
    hit = body["results"][0]
    assert hit["distance"] <= 31 and hit["frames"][0]["orientation"] == "original"
    assert all(5.0 <= f["timestamp"] <= 10.5 for f in hit["frames"]), hit["frames"]
    assert hit["url"] == f"/api/v1/clips/{archive['source']}"
    assert client.get(hit["thumbnail_url"], headers=contributor.headers).status_code == 200

    mirrored = _png(ImageOps.mirror(Image.open(io.BytesIO(still))))
    flip = _search(client, contributor, mirrored).json()["results"]
    assert [c["code"] for c in flip] == [archive["source"]]
    assert flip[0]["frames"][0]["orientation"] == "flip_y"

    # a frame of a source the archive does not hold finds nothing
    ffmpeg("-f", "lavfi", "-i", "sierpinski=s=320x240", "-frames:v", "1", str(tmp_path / "x.png"))
    none = _search(client, contributor, (tmp_path / "x.png").read_bytes()).json()
    assert none["results"] == []

    # the clip's own keyframe (form fields instead of a file) finds it at distance 0
    r = client.post(
        "/api/v1/search/image",
        data={"code": archive["source"], "keyframe": "0"},
        headers=contributor.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["code"] == archive["source"]
    assert r.json()["results"][0]["distance"] == 0


def test_the_team_page_shows_the_results(
    client: Any, contributor: Any, archive: dict[str, str], source_clip: Path, tmp_path: Path
) -> None:
    page = client.get("/team/search/image", headers=contributor.headers)
    assert page.status_code == 200 and 'type="file"' in page.text
    still = _still(source_clip, 12.0, tmp_path / "at12.png")
    r = client.post(
        "/team/search/image",
        files={"image": ("screenshot.png", still, "image/png")},
        headers=contributor.headers,
    )
    assert r.status_code == 200, r.text
    assert f'data-code="{archive["source"]}"' in r.text
    assert archive["other"] not in r.text
    assert f"/api/v1/clips/{archive['source']}/keyframes/" in r.text  # the thumbnail
    assert re.search(r'dir="ltr"[^>]*>0:1\d</span>', r.text)  # a moment between 10 and 20 s
    r = client.get(
        f"/fa/team/search/image?code={archive['source']}&keyframe=0", headers=contributor.headers
    )
    assert r.status_code == 200 and f'data-code="{archive["source"]}"' in r.text
    bad = client.post(
        "/team/search/image",
        files={"image": ("notes.txt", b"hello", "text/plain")},
        headers=contributor.headers,
    )
    assert bad.status_code == 415 and 'data-testid="error"' in bad.text


def test_bad_images_get_a_clear_4xx(
    client: Any, contributor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame_index.reset()
    frame_index.get_index().ready = True  # an empty, ready index: the checks come first
    r = _search(client, contributor, b"%PDF-1.4 not an image", "doc.pdf")
    assert r.status_code == 415 and r.json()["error"] == "not_an_image", r.text
    bomb = _png(Image.new("1", (12_000, 12_000)))  # 144 Mpx in a few kB
    assert len(bomb) < 100_000
    r = _search(client, contributor, bomb)
    assert r.status_code == 413 and r.json()["error"] == "image_too_many_pixels", r.text
    r = client.post("/api/v1/search/image", data={}, headers=contributor.headers)
    assert r.status_code == 422 and r.json()["field"] == "image"
    ok = _png(Image.new("RGB", (64, 64), "white"))
    assert _search(client, contributor, ok).status_code == 200
    monkeypatch.setenv("ARCHIVE_IMAGE_SEARCH_MAX_BYTES", str(len(ok) - 1))
    get_settings.cache_clear()
    r = _search(client, contributor, ok)
    assert r.status_code == 413 and r.json()["error"] == "too_large", r.text
    r = client.post(
        "/api/v1/search/image",
        data={"code": "NOPE99", "keyframe": "0"},
        headers=contributor.headers,
    )
    assert r.status_code == 404
    frame_index.reset()


def test_a_search_before_the_index_is_built_is_503(client: Any, contributor: Any) -> None:
    frame_index.reset()  # not started: still warming
    r = _search(client, contributor, _png(Image.new("RGB", (64, 64), "white")))
    assert r.status_code == 503 and r.json()["error"] == "index_warming"
    assert r.headers["Retry-After"] == "5"
