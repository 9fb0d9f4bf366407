"""Never leak: plant canaries everywhere the team keeps private things, crawl every public
page and every partner API response (errors included), and find none of them."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import session_scope
from tests.public.conftest import CANARY_DEVICE, CANARY_GPS, Key, MediaClip

CANARY = "ZQXCANARY"
PROBE = CANARY[:-1]  # searched for: would match the canary, but is not itself one
CANARIES = [CANARY, CANARY_GPS, "35.6892", CANARY_DEVICE, "CANARY-FILENAME", "CANARY-ENC"]
LINK = re.compile(r"""(?:href|src|poster)="([^"]+)"|<loc>([^<]+)</loc>""")


def _plant(
    make_user: Callable[..., object], add_clip: Callable[..., str], media: MediaClip
) -> dict[str, str]:
    from app.clips.models import Clip
    from app.custody import service as custody
    from app.ingest.models import Media
    from app.review.models import Approval, ChecklistEntry, ChecklistTemplateItem, Comment

    uploader = make_user("contributor", email=f"uploader-{CANARY.lower()}@example.org")
    reviewer = make_user("reviewer", email=f"reviewer-{CANARY.lower()}@example.org")
    secret = add_clip(
        status="in_review",
        user_id=uploader.id,  # type: ignore[attr-defined]
        title_en=f"{CANARY} unpublished title",
        title_fa=f"{CANARY} عنوان",
        description_en=f"{CANARY} unpublished description",
        tags=[f"{CANARY}-tag"],
        city="Tabriz",
        province="East Azerbaijan",
    )
    published = add_clip(
        user_id=uploader.id,  # type: ignore[attr-defined]
        title_en="Published by a canary uploader",
    )
    _plant_places()
    with session_scope() as session:
        item = ChecklistTemplateItem(
            key="location", label_en="Location confirmed", label_fa="مکان تأیید شد", kind="location"
        )
        session.add(item)
        session.flush()
        for code in (secret, published, media.code):
            clip = session.scalar(select(Clip).where(Clip.code == code))
            assert clip is not None
            rid = reviewer.id  # type: ignore[attr-defined]
            session.add(Comment(clip_id=clip.id, author_id=rid, body=f"{CANARY} comment"))
            session.add(Approval(clip_id=clip.id, reviewer_id=rid, note=f"{CANARY} approval"))
            session.add(
                ChecklistEntry(
                    clip_id=clip.id,
                    item_id=item.id,
                    done=True,
                    note=f"{CANARY} checklist note",
                    evidence=[f"https://{CANARY.lower()}.example/evidence"],
                    data={"lat": 35.6892, "lon": 51.389, "precision": "exact"},
                    updated_by_id=rid,
                )
            )
            custody.record(
                session,
                actor=f"user:reviewer-{CANARY.lower()}@example.org",
                action="review.transition",
                clip_code=code,
                payload={"from": "in_review", "to": "verified", "note": f"{CANARY} note"},
            )
        media_row = session.scalar(select(Media).where(Media.sha256 == media.sha256))
        assert media_row is not None
        media_row.uploaded_by_id = uploader.id  # type: ignore[attr-defined]
    return {"secret": secret, "published": published}


def _plant_links(codes: dict[str, str], media_code: str) -> None:
    """Near-duplicate pairs: a confirmed link from a published clip to the unpublished one
    (must never show), a confirmed link between two published clips (must show), and an
    open candidate between published clips (must not show: nobody confirmed it)."""
    from app.clips.models import Clip
    from app.duplicates.models import DuplicateCandidate

    with session_scope() as session:
        ids = dict(session.execute(select(Clip.code, Clip.id)).all())
        for x, y, state in (
            (codes["published"], codes["secret"], "same_footage"),
            (codes["published"], media_code, "same_event"),
            (codes["unconfirmed"], media_code, "open"),
        ):
            a, b = sorted((ids[x], ids[y]))
            session.add(
                DuplicateCandidate(
                    clip_a_id=a, clip_b_id=b, a_pct=97.0, b_pct=96.0, a_ranges=[[0.0, 4.0]],
                    b_ranges=[[0.0, 4.0]], orientation="original", state=state,
                )
            )  # fmt: skip


CANARY_CITIES = [f"{CANARY}abad", f"{CANARY}shahr"]


def _plant_places() -> None:
    """Two cities (one in a new province) that only unpublished records created: a draft
    clip, and a row of a (draft) catalogue import."""
    from app.clips import service as clips
    from app.clips.importer import import_csv
    from app.clips.schemas import ClipCreate

    with session_scope() as session:
        clips.create(
            session,
            ClipCreate(city=CANARY_CITIES[0], province="Fars", date="16 Nov 2019"),
            actor="test",
            status="in_review",
            create_places=True,
        )
        row = f"{CANARY_CITIES[1]},{CANARY} Province,17 Nov 2019\n"
        import_csv(
            session,
            raw=f"city,province,date\n{row}".encode(),
            actor="test",
            create_places=True,  # a new province is refused unless the import allows it
        )


def _check(url: str, r: object, media_root: str) -> None:
    body = r.content.decode("utf-8", "replace")  # type: ignore[attr-defined]
    headers = str(dict(r.headers))  # type: ignore[attr-defined]
    for canary in CANARIES:
        assert canary not in body and canary not in headers, f"{canary!r} leaked by {url}"
    assert "uploader-" not in body and "reviewer-" not in body, url
    assert media_root not in body and "/originals/" not in body, f"storage path leaked by {url}"


def _crawl(client: TestClient, starts: list[str], media_root: str) -> set[str]:
    seen: set[str] = set()
    queue = deque(starts)
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        r = client.get(url, headers={"accept": "text/html"})
        _check(url, r, media_root)
        assert r.status_code < 500, url
        if "html" not in r.headers.get("content-type", "") and "xml" not in r.headers.get(
            "content-type", ""
        ):
            continue
        for a, b in LINK.findall(r.text):
            link = urljoin(url, (a or b).replace("&amp;", "&"))
            parts = urlsplit(link)
            if parts.netloc not in ("", "127.0.0.1:8000", "testserver"):
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path.startswith("/static/") or path.startswith("/api/docs"):
                continue
            queue.append(path)
    return seen


def test_no_canary_in_any_public_page_or_partner_response(
    client: TestClient,
    demo: int,
    media_clip: MediaClip,
    make_user: Callable[..., object],
    add_clip: Callable[..., str],
    full_key: Key,
) -> None:
    from app.config import get_settings

    media_root = str(get_settings().media_root)
    codes = _plant(make_user, add_clip, media_clip)
    codes["unconfirmed"] = add_clip(title_en="Published, with an open duplicate candidate")
    _plant_links(codes, media_clip.code)
    client.cookies.set("cw_ok", "1")
    seen = _crawl(
        client,
        ["/", "/fa/", "/cities?by=province", "/fa/cities?by=province", "/sitemap.xml",
         "/robots.txt", f"/clips?q={PROBE}", f"/fa/clips?q={PROBE}",
         f"/clips?q=unpublished {PROBE}", f"/fa/clips?q=عنوان {PROBE}"],
        media_root,
    )  # fmt: skip
    assert len(seen) > 250, len(seen)  # every page in both languages, media included
    assert f"/clips/{media_clip.code}/playback.mp4" in seen
    assert f"/clips/{codes['published']}" in seen and f"/fa/clips/{codes['published']}" in seen
    assert not any(codes["secret"] in u for u in seen)
    # the verification summary is there, without notes or names
    page = client.get(f"/clips/{codes['published']}").text
    assert "Location confirmed" in page and "Verified on" in page

    # every partner response, as anonymous and with a key, errors included
    secret = codes["secret"]
    api = [
        "/api/v1/published?limit=200",
        f"/api/v1/published?q={PROBE}",
        f"/api/v1/published?q={CANARY}",  # full-text: the word, a prefix, two words
        f"/api/v1/published?q={CANARY[:4]}",
        f"/api/v1/published?q={CANARY} description",
        "/api/v1/export.ndjson?q=" + CANARY,
        "/api/v1/published?city=Tabriz",
        f"/api/v1/published/{secret}",
        f"/api/v1/published/{codes['published']}",
        f"/api/v1/published/{media_clip.code}",
        "/api/v1/published/IRN999",
        "/api/v1/published?on=bad",
        "/api/v1/published?cursor=bad",
        "/api/v1/changes?limit=500",
        "/api/v1/changes?since=bad",
        "/api/v1/export.ndjson",
        "/api/v1/export.csv",
        "/api/v1/export.csv?q=" + PROBE,
        f"/api/v1/published?city={CANARY_CITIES[0]}",
        f"/api/v1/published?province={CANARY} Province",
    ]
    for url in api:
        for headers in ({}, full_key.headers):
            r = client.get(url, headers=headers)
            _check(url, r, media_root)
            if url != f"/api/v1/published/{secret}":  # (its 404 names the code asked for)
                assert secret not in r.text, f"the unpublished clip's code leaked by {url}"
    # near-duplicate links: only the confirmed one between two published clips is public
    for code, want in (
        (codes["published"], [(media_clip.code, "same_event")]),
        (media_clip.code, [(codes["published"], "same_event")]),
        (codes["unconfirmed"], []),
    ):
        body = client.get(f"/api/v1/published/{code}", headers=full_key.headers).json()
        assert [(x["code"], x["relation"]) for x in body["related"]] == want, code
    listed = client.get("/api/v1/published?limit=200").json()["items"]
    assert {c["code"]: len(c["related"]) for c in listed}[codes["published"]] == 1
    assert f"/clips/{media_clip.code}" in client.get(f"/clips/{codes['published']}").text
    # control: the search index does hold the canary clip (the team's search finds it), so
    # only the public join to published rows keeps it out of the searches above
    team = make_user("reviewer")
    found = client.get(f"/api/v1/clips?q={CANARY} unpublished", headers=team.headers).json()  # type: ignore[attr-defined]
    assert [c["code"] for c in found["items"]] == [secret]
    # the pages and media of the unpublished clip are plain 404s
    for url in (
        f"/clips/{secret}",
        f"/fa/clips/{secret}",
        f"/clips/{secret}/poster.jpg",
        f"/clips/{secret}/playback.mp4",
        f"/clips/{secret}/keyframes/0.jpg",
        "/cities/tabriz",
        f"/api/v1/published/{secret}",
    ):
        r = client.get(url, headers={"accept": "text/html"})
        assert r.status_code == 404, url
        _check(url, r, media_root)
    changes = client.get("/api/v1/changes?limit=500", headers=full_key.headers).json()
    assert secret not in {e["code"] for e in changes["events"]}
    # places: the public sees the gazetteer and the cities of published clips; the team all
    for headers in ({}, full_key.headers):  # (Tehran's seeded latitude is the GPS canary's)
        r = client.get("/api/v1/places", headers=headers)
        assert r.status_code == 200 and CANARY not in r.text and "uploader-" not in r.text
    public_places = {p["city"] for p in client.get("/api/v1/places").json()}
    assert {"Shiraz", "Abadan", "Tabriz"} <= public_places  # seeded or published
    assert not set(CANARY_CITIES) & public_places
    for url in [f"/cities/{c.lower()}" for c in CANARY_CITIES]:
        r = client.get(url, headers={"accept": "text/html"})
        assert r.status_code == 404, url
        _check(url, r, media_root)
    reviewer = make_user("reviewer")
    team_places = client.get("/api/v1/places", headers=reviewer.headers).json()  # type: ignore[attr-defined]
    assert set(CANARY_CITIES) <= {p["city"] for p in team_places}
