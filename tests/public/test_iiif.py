"""IIIF Presentation 3 manifests: built with iiif-prezi3 and validated by its own model."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from iiif_prezi3 import Manifest

from tests.public.conftest import MediaClip, set_status

BASE = "http://127.0.0.1:8000"


def test_manifest_is_a_valid_video_canvas(client: TestClient, media_clip: MediaClip) -> None:
    r = client.get(f"/iiif/{media_clip.code}/manifest.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/ld+json")
    assert "presentation/3/context.json" in r.headers["content-type"]
    assert r.headers["access-control-allow-origin"] == "*"
    data = r.json()
    assert data["@context"] == "http://iiif.io/api/presentation/3/context.json"
    Manifest.model_validate({k: v for k, v in data.items() if k != "@context"})  # the model
    assert data["id"] == f"{BASE}/iiif/{media_clip.code}/manifest.json"
    (canvas,) = data["items"]
    assert canvas["type"] == "Canvas" and canvas["duration"] == 2.0
    assert (canvas["width"], canvas["height"]) == (320, 240)
    (anno,) = canvas["items"][0]["items"]
    assert anno["motivation"] == "painting" and anno["target"] == canvas["id"]
    body = anno["body"]
    assert body["type"] == "Video" and body["format"] == "video/mp4"
    assert body["id"] == f"{BASE}/clips/{media_clip.code}/playback.mp4"
    assert client.get(body["id"].removeprefix(BASE)).status_code == 200
    assert canvas["thumbnail"][0]["id"].endswith("/poster.jpg")
    # the keyframes (at 0, 0.5 and 1 s) as thumbnails of ranges starting at their times
    times = [r["items"][0]["id"].split("#t=")[1] for r in data["structures"]]
    assert times == ["0,0.5", "0.5,1", "1,2"]
    thumbs = [r["thumbnail"][0]["id"] for r in data["structures"]]
    assert thumbs == [f"{BASE}/clips/{media_clip.code}/keyframes/{i}.jpg" for i in range(3)]
    for url in thumbs:
        assert client.get(url.removeprefix(BASE)).status_code == 200
    assert media_clip.sha256 in r.text
    assert "CANARY" not in r.text  # no file name, GPS or device tags


def test_manifest_is_linked_from_the_clip_page_and_the_partner_detail(
    client: TestClient, media_clip: MediaClip
) -> None:
    url = f"/iiif/{media_clip.code}/manifest.json"
    for page in (f"/clips/{media_clip.code}", f"/fa/clips/{media_clip.code}"):
        assert f'href="{url}"' in client.get(page, headers={"accept": "text/html"}).text
    detail = client.get(f"/api/v1/published/{media_clip.code}").json()
    assert detail["media"]["iiif_manifest"] == BASE + url


def test_no_manifest_without_media_or_when_not_published(
    client: TestClient, demo: int, add_clip: Callable[..., str], media_clip: MediaClip
) -> None:
    assert client.get("/iiif/IRN091/manifest.json").status_code == 404  # no footage here
    assert "/iiif/IRN091" not in client.get("/clips/IRN091").text
    assert client.get("/api/v1/published/IRN091").json()["media"] is None
    assert client.get("/iiif/IRN999/manifest.json").status_code == 404
    set_status(media_clip.code, "in_review")
    assert client.get(f"/iiif/{media_clip.code}/manifest.json").status_code == 404
    set_status(media_clip.code, "retracted")
    assert client.get(f"/iiif/{media_clip.code}/manifest.json").status_code == 404


def test_public_correction_notices_are_timeless_annotations(
    client: TestClient, media_clip: MediaClip
) -> None:
    """An applied correction's public notice (never the internal reason) is a commenting
    annotation on the whole canvas; open or rejected corrections are not shown."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from app.clips.models import Clip
    from app.db import session_scope
    from app.review.models import Correction

    assert (
        "annotations" not in client.get(f"/iiif/{media_clip.code}/manifest.json").json()["items"][0]
    )
    with session_scope() as session:
        clip_id = session.scalar(select(Clip.id).where(Clip.code == media_clip.code))
        assert clip_id is not None
        for state, public in (("applied", "The date was a day off."), ("open", "Pending fix")):
            session.add(
                Correction(
                    clip_id=clip_id,
                    state=state,
                    changes={"date": ["2019-11-16", "2019-11-17"], "city": ["a", "b"]},
                    requested={},
                    reason="internal reviewer reasoning",
                    public_reason=public,
                    decided_at=datetime(2026, 11, 30, 12, tzinfo=UTC),
                )
            )
    r = client.get(f"/iiif/{media_clip.code}/manifest.json")
    data = r.json()
    Manifest.model_validate({k: v for k, v in data.items() if k != "@context"})
    (canvas,) = data["items"]
    (page,) = canvas["annotations"]
    (note,) = page["items"]
    assert note["motivation"] == "commenting" and note["target"] == canvas["id"]  # no #t=
    assert note["body"]["type"] == "TextualBody"
    assert note["body"]["value"] == "Corrected 2026-11-30: place, date. The date was a day off."
    assert "internal reviewer reasoning" not in r.text and "Pending fix" not in r.text
