"""Public media: playback copy with Range, poster, keyframes; only while published."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.public.conftest import CANARY_DEVICE, CANARY_GPS, MediaClip, set_status


def test_clip_page_with_player_keyframes_and_hash(
    client: TestClient, media_clip: MediaClip
) -> None:
    r = client.get(f"/clips/{media_clip.code}", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert f'src="/clips/{media_clip.code}/playback.mp4"' in r.text
    assert f"/clips/{media_clip.code}/keyframes/2.jpg" in r.text
    assert f"SHA-256:{media_clip.sha256}" in r.text
    assert '"contentUrl"' in r.text and '"duration": "PT0H0M2S"' in r.text
    assert "player blurred" in r.text  # until the content warning is accepted
    client.cookies.set("cw_ok", "1")
    assert "player blurred" not in client.get(f"/clips/{media_clip.code}").text


def test_playback_supports_range_requests(client: TestClient, media_clip: MediaClip) -> None:
    url = f"/clips/{media_clip.code}/playback.mp4"
    full = client.get(url)
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    assert full.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == full.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(full.content)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == full.content[-10:]
    beyond = client.get(url, headers={"Range": f"bytes={len(full.content) + 5}-"})
    assert beyond.status_code == 416
    for leak in (CANARY_GPS.encode(), CANARY_DEVICE.encode(), b"CANARY"):
        assert leak not in full.content


def test_images_and_api_media_fields(client: TestClient, media_clip: MediaClip) -> None:
    code = media_clip.code
    assert client.get(f"/clips/{code}/poster.jpg").headers["content-type"] == "image/jpeg"
    assert client.get(f"/clips/{code}/keyframes/1.jpg").status_code == 200
    assert client.get(f"/clips/{code}/keyframes/9.jpg").status_code == 404
    body = client.get(f"/api/v1/published/{code}").json()
    assert body["media"]["sha256"] == media_clip.sha256
    assert body["media"]["duration"] == 2.0 and body["media"]["width"] == 320
    assert body["media"]["playback_url"].endswith(f"/clips/{code}/playback.mp4")
    assert [k["timestamp"] for k in body["keyframes"]] == [0.0, 0.5, 1.0]
    assert body["keyframes"][1]["phash"] == "0000000000000001"
    assert "CANARY" not in str(body)


def test_media_disappears_when_the_clip_is_retracted(
    client: TestClient, media_clip: MediaClip
) -> None:
    code = media_clip.code
    set_status(code, "retracted")
    for url in (
        f"/clips/{code}/playback.mp4",
        f"/clips/{code}/poster.jpg",
        f"/clips/{code}/keyframes/0.jpg",
    ):
        assert client.get(url).status_code == 404, url
