"""The public HTML site: pages in English and Farsi, only published clips, the gate."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.public.conftest import MediaClip, set_status

HTML = {"accept": "text/html"}


def test_home_counts_and_content_warning(client: TestClient, demo: int) -> None:
    r = client.get("/", headers=HTML)
    assert r.status_code == 200
    assert "103 clips from" in r.text
    assert "may show violence" in r.text
    assert "Amnesty International" in r.text
    assert r.headers["cache-control"].startswith("public, max-age=")
    assert '<html lang="en" dir="ltr">' in r.text


def test_farsi_pages_are_rtl_with_persian_digits(client: TestClient, demo: int) -> None:
    home = client.get("/fa/", headers=HTML)
    assert '<html lang="fa" dir="rtl">' in home.text
    assert "۱۰۳ ویدیو" in home.text
    city = client.get("/fa/cities/shiraz", headers=HTML)
    assert city.status_code == 200
    assert '<html lang="fa" dir="rtl">' in city.text
    assert "شیراز" in city.text
    assert "آبان ۱۳۹۸" in city.text  # Solar Hijri date with Persian digits
    assert "ویدیوی اعتراض، شیراز" in city.text  # the Farsi title
    clip = client.get("/fa/clips/IRN091", headers=HTML)
    assert "هجری خورشیدی" in clip.text and "15 – 23 Nov 2019" in clip.text


def test_cities_index_alphabetical_and_by_province(client: TestClient, demo: int) -> None:
    r = client.get("/cities", headers=HTML)
    names = re.findall(r'<a href="/cities/[a-z0-9-]+">([^<]+)</a>', r.text)
    assert names == sorted(names, key=str.casefold) and "Shiraz" in names
    grouped = client.get("/cities?by=province", headers=HTML)
    assert "<h2>Fars</h2>" in grouped.text
    fa = client.get("/fa/cities", headers=HTML)
    assert "شیراز" in fa.text


def test_city_page_cards_and_placeholder(client: TestClient, demo: int) -> None:
    r = client.get("/cities/shiraz", headers=HTML)
    assert r.status_code == 200
    assert "Footage held by the source" in r.text
    assert "IRN" in r.text and "Fars" in r.text and "Nov 2019" in r.text
    assert client.get("/cities/nowhere-at-all", headers=HTML).status_code == 404


def test_city_with_only_unpublished_clips_is_404(
    client: TestClient, add_clip: Callable[..., str]
) -> None:
    add_clip(status="verified", city="Tabriz", province="East Azerbaijan")
    assert client.get("/cities/tabriz", headers=HTML).status_code == 404
    assert "Tabriz" not in client.get("/cities", headers=HTML).text


def test_unpublished_clip_is_404_everywhere(
    client: TestClient, add_clip: Callable[..., str]
) -> None:
    code = add_clip(status="in_review", title_en="Secret draft")
    for url in (
        f"/clips/{code}",
        f"/fa/clips/{code}",
        f"/clips/{code}/poster.jpg",
        f"/clips/{code}/playback.mp4",
        f"/clips/{code}/keyframes/0.jpg",
        f"/api/v1/published/{code}",
    ):
        assert client.get(url).status_code == 404, url
    assert code not in client.get("/sitemap.xml").text
    found = client.get("/clips?q=Secret", headers=HTML).text
    assert "0 clips found" in found and "Secret draft" not in found


def test_retracted_clip_is_a_notice_only(client: TestClient, add_clip: Callable[..., str]) -> None:
    code = add_clip(title_en="Later retracted", description_en="gone")
    assert client.get(f"/clips/{code}", headers=HTML).status_code == 200
    set_status(code, "retracted")
    r = client.get(f"/clips/{code}", headers=HTML)
    assert r.status_code == 410
    assert "was retracted" in r.text and "Later retracted" not in r.text
    assert client.get(f"/clips/{code}/poster.jpg").status_code == 404
    assert code not in client.get("/sitemap.xml").text
    api = client.get(f"/api/v1/published/{code}")
    assert api.status_code == 410 and api.json()["error"] == "retracted"


def test_content_warning_cookie_without_javascript(
    client: TestClient, media_clip: MediaClip
) -> None:
    page = client.get("/cities/abadan", headers=HTML)
    assert 'class="warning cw-gate"' in page.text and 'class="card blurred"' in page.text
    r = client.post("/content-warning", data={"next": "/cities/abadan"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cities/abadan"
    assert "cw_ok=1" in r.headers["set-cookie"] and "Max-Age=31536000" in r.headers["set-cookie"]
    client.cookies.set("cw_ok", "1")
    after = client.get("/cities/abadan", headers=HTML).text
    assert 'class="warning cw-gate"' not in after and "card blurred" not in after
    assert r.headers.get("cache-control") is None or "public" not in r.headers["cache-control"]
    # no open redirect
    evil = client.post("/content-warning", data={"next": "//evil.example/"}, follow_redirects=False)
    assert evil.headers["location"] == "/"
    fa = client.post(
        "/fa/content-warning", data={"next": "https://evil.example/"}, follow_redirects=False
    )
    assert fa.headers["location"] == "/fa/"


def set_flags(code: str, graphic: bool, people: bool) -> None:
    from sqlalchemy import select

    from app.clips.models import Clip
    from app.db import session_scope
    from app.public import cache

    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        clip.graphic_violence, clip.identifiable_people = graphic, people
        if people:  # the public sees only face-blurred images: make them as the job would
            _blur_images(session, clip.id)
    cache.clear()


def _blur_images(session: object, clip_id: int) -> None:
    from pathlib import Path

    from sqlalchemy import select

    from app.ingest.models import Keyframe, Media
    from app.public import faceblur
    from app.storage import derivatives
    from app.storage.store import get_store

    media = session.scalar(select(Media).where(Media.clip_id == clip_id))  # type: ignore[attr-defined]
    store = get_store()
    gen = media.derivative_generation
    times = dict(
        session.execute(  # type: ignore[attr-defined]
            select(Keyframe.position, Keyframe.timestamp).where(Keyframe.media_id == media.id)
        ).all()
    )
    faceblur.make_blurred_images(
        Path(store.generation_dir(media.sha256, gen)),
        derivatives.blurred_images_dir(Path(store.root), media.sha256, gen),
        times,
        [],
    )


@pytest.mark.parametrize(
    ("graphic", "people", "text"),
    [
        (True, False, "may show violence, injuries and death."),
        (False, True, "show people who can be identified."),
        (True, True, "injuries and death, and people who can be identified."),
        (False, False, None),
    ],
)
def test_the_gate_follows_the_clips_flags(
    client: TestClient,
    media_clip: MediaClip,
    graphic: bool,
    people: bool,
    text: str | None,
) -> None:
    set_flags(media_clip.code, graphic, people)
    for path in (f"/clips/{media_clip.code}", "/cities/abadan", "/"):
        page = client.get(path, headers=HTML).text
        gate = re.search(r'<form class="warning cw-gate".*?</form>', page, re.S)
        if text is None:  # an unflagged clip: no gate, nothing blurred
            assert gate is None and ' blurred"' not in page, path
        else:
            assert gate is not None and text in gate.group(0), path
            assert ' blurred"' in page, path
    home = client.get("/", headers=HTML).text
    assert home.count('class="warning') == 1  # the home page warns once
    clip = client.get(f"/clips/{media_clip.code}", headers=HTML).text
    assert ("Shows people who can be identified" in clip) == people
    assert ("May show graphic violence" in clip) == graphic


def test_no_gate_without_images(client: TestClient, demo: int) -> None:
    assert 'class="warning cw-gate"' not in client.get("/cities/shiraz", headers=HTML).text


def test_search_filters_and_pagination(client: TestClient, demo: int) -> None:
    r = client.get("/clips", params={"province": "tehran"}, headers=HTML)
    assert r.status_code == 200 and "clips found" in r.text
    codes = set(re.findall(r'data-code="(IRN\d+)"', r.text))
    assert codes
    assert 'rel="next"' in r.text or len(codes) <= 24
    nxt = re.search(r'href="\?([^"]+)" rel="next"', client.get("/clips", headers=HTML).text)
    assert nxt is not None
    page2 = client.get("/clips?" + nxt.group(1).replace("&amp;", "&"), headers=HTML)
    first = set(re.findall(r'data-code="(IRN\d+)"', client.get("/clips", headers=HTML).text))
    second = set(re.findall(r'data-code="(IRN\d+)"', page2.text))
    assert second and not first & second
    narrow = client.get("/clips?from=2019-11-16&to=2019-11-16&q=Shiraz", headers=HTML)
    assert "Shiraz" in narrow.text
    bad = client.get("/clips?from=not-a-date", headers=HTML)
    assert bad.status_code == 422 and "cannot read" in bad.text


def test_clip_page_citation_permalink_and_json_ld(client: TestClient, demo: int) -> None:
    r = client.get("/clips/IRN091", headers=HTML)
    assert r.status_code == 200
    assert '"@type": "VideoObject"' in r.text
    assert "http://127.0.0.1:8000/clips/IRN091" in r.text
    assert "Cite this clip" in r.text
    assert "Footage held by the source" in r.text


def test_clip_codes_are_case_insensitive(
    client: TestClient, demo: int, add_clip: Callable[..., str]
) -> None:
    """People type irn091: the page redirects to the canonical upper-case address."""
    for prefix in ("", "/fa"):
        r = client.get(f"{prefix}/clips/irn091?x=1", headers=HTML, follow_redirects=False)
        assert r.status_code == 301 and r.headers["location"] == f"{prefix}/clips/IRN091?x=1"
        assert client.get(f"{prefix}/clips/Irn091", headers=HTML).status_code == 200
    assert client.get("/api/v1/published/irn091").json()["code"] == "IRN091"
    draft = add_clip(status="draft")
    # the redirect reveals nothing: an unpublished code ends at the same 404 as a made-up one
    assert client.get(f"/clips/{draft.lower()}", headers=HTML).status_code == 404
    assert client.get("/clips/irn99999", headers=HTML).status_code == 404


def test_sitemap_lists_published_clips_in_both_languages(client: TestClient, demo: int) -> None:
    r = client.get("/sitemap.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert r.text.count("<url>") == 2 * (
        103 + 3 + len(set(re.findall(r"/cities/([a-z0-9-]+)<", r.text)))  # /, /cities, /map
    )
    assert "/fa/clips/IRN091" in r.text


def test_sitemap_lists_canonical_urls_only(client: TestClient, demo: int) -> None:
    """Every <loc> and hreflang link answers 200 itself (no redirect, e.g. /fa -> /fa/)."""
    text = client.get("/sitemap.xml").text
    urls = set(re.findall(r"<loc>([^<]+)</loc>", text)) | set(re.findall(r'href="([^"]+)"', text))
    assert "http://127.0.0.1:8000/fa/" in urls
    pages = {u for u in urls if "/clips/" not in u} | {u for u in urls if "IRN091" in u}
    for url in sorted(pages):
        path = url.removeprefix("http://127.0.0.1:8000")
        r = client.get(path, headers=HTML, follow_redirects=False)
        assert r.status_code == 200, f"{url}: {r.status_code} {r.headers.get('location')}"
        assert f'<link rel="canonical" href="{url}">' in r.text


def test_retraction_notice_shows_the_public_reason(
    client: TestClient, add_clip: Callable[..., str]
) -> None:
    from sqlalchemy import select

    from app.clips.models import Clip
    from app.db import session_scope
    from app.review.models import Retraction

    code = add_clip(title_en="Misattributed")
    set_status(code, "retracted")
    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        session.add(Retraction(clip_id=clip.id, public_reason="Filmed in another city."))
    page = client.get(f"/fa/clips/{code}", headers=HTML)
    assert page.status_code == 410 and "Filmed in another city." in page.text
    assert 'dir="rtl"' in page.text and "Misattributed" not in page.text
    body = client.get(f"/api/v1/published/{code}").json()
    assert body["reason"] == "Filmed in another city." and body["clip"] == code
    assert body["retracted_at"]


def test_farsi_home_without_trailing_slash(client: TestClient, demo: int) -> None:
    r = client.get("/fa", headers=HTML)
    assert r.status_code == 200 and 'lang="fa"' in r.text


def test_big_archives_get_a_sitemap_index(
    client: TestClient, demo: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.public import media

    monkeypatch.setattr(media, "SITEMAP_MAX_CLIPS", 40)
    index = client.get("/sitemap.xml").text
    assert "<sitemapindex" in index
    parts = re.findall(r"<loc>http://127.0.0.1:8000(/sitemap-[a-z0-9-]+\.xml)</loc>", index)
    assert parts == [
        "/sitemap-pages.xml",
        "/sitemap-clips-1.xml",
        "/sitemap-clips-2.xml",
        "/sitemap-clips-3.xml",
    ]
    codes: list[str] = []
    for part in parts[1:]:
        codes += re.findall(
            r"<loc>http://127.0.0.1:8000/clips/(IRN\d+)</loc>", client.get(part).text
        )
    assert len(codes) == len(set(codes)) == 103
    assert "/cities/shiraz<" in client.get("/sitemap-pages.xml").text
    assert client.get("/sitemap-clips-4.xml").status_code == 404
    assert client.get("/sitemap-clips-0.xml").status_code == 404
