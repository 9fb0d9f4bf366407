"""Every Farsi page, public and team, is in Farsi: a crawl from the Farsi home and the Farsi
dashboard (logged in as an admin, on clips in every state) finds no English word outside
the allowlist of names (tests/i18n/crawl.py), no raw translation key, and no Gregorian
year outside text marked lang="en" (every date is Solar Hijri)."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.i18n.conftest import HTML, Seeded, login_fa
from tests.i18n.crawl import english_words, links, prose_text, visible_text
from tests.public.conftest import MediaClip
from tests.review.conftest import Team

MAX_PAGES = 150
NOT_PAGES = re.compile(r"\.(jpg|png|mp4|json|xml|csv|tar|txt|css|js|ico)$|/download|/original")
GREGORIAN_YEAR = re.compile(r"(?<![0-9۰-۹])(?:19|20|۱۹|۲۰)[0-9۰-۹]{2}(?![0-9۰-۹])")
RAW_KEY = re.compile(r"\b(?:team|public|account|dup|err|custody|page|error|nav)\.[a-z_]+\.[a-z_.]+")


# what the fixtures typed, shown as typed: the custody actor "test" and the device model
DATA = {"test", "CANARY-DEVICE-SERIAL", "CANARY-ENC"}


def _crawl(client: TestClient, starts: list[str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    todo = deque(starts)
    while todo and len(seen) < MAX_PAGES:
        url = todo.popleft()
        if url in seen:
            continue
        r = client.get(url, headers=HTML)
        if "text/html" not in r.headers.get("content-type", ""):
            seen[url] = ""
            continue
        seen[url] = r.text
        for href in links(r.text):
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/fa/") or NOT_PAGES.search(parts.path):
                continue
            if "cursor=" in (parts.query or ""):
                continue  # the next page of a list is the same template
            todo.append(href)
    return seen


@pytest.mark.parametrize("role", ["admin", "reviewer"])
def test_every_farsi_page_is_farsi(
    client: TestClient, seeded: Seeded, team: Team, media_clip: MediaClip, role: str
) -> None:
    who = team.admin if role == "admin" else team.r2
    from sqlalchemy import update

    from app.clips.models import Clip
    from app.db import session_scope

    with session_scope() as session:  # the fixture types an English title only
        session.execute(
            update(Clip).where(Clip.code == media_clip.code).values(title_fa="ویدیو با فایل")
        )
    login_fa(client, who.email, who.password)
    codes = [seeded.published, seeded.retracted, seeded.in_review, media_clip.code]
    starts = ["/fa/", "/fa/team/", "/fa/cities", "/fa/search", "/fa/logout"]
    starts += [f"/fa/clips/{c}" for c in codes] + [f"/fa/team/clips/{c}" for c in codes]
    starts += [  # refusals: 404s, a bad date, a bad page cursor
        "/fa/clips/ZZZ999",
        "/fa/team/clips/ZZZ999",
        "/fa/cities/atlantis",
        "/fa/search?from=۱۳۹۸/۱۳/۰۱",
        "/fa/search?cursor=nonsense",
        "/fa/team/queue?from=2019-02-30",
    ]
    pages = _crawl(client, starts)
    html = {url: text for url, text in pages.items() if text}
    assert len(html) >= 20, sorted(pages)
    must_see = ["/fa/team/queue", "/fa/team/account", "/fa/cities", "/fa/team/upload"]
    for must in must_see + (["/fa/team/admin/users"] if role == "admin" else []):
        assert must in html, sorted(html)
    problems = {}
    for url, text in html.items():
        found = [w for w in english_words(text) if w not in DATA]
        keys = RAW_KEY.findall(visible_text(text))
        keys += [f"gregorian:{y}" for y in GREGORIAN_YEAR.findall(prose_text(text))]
        if found or keys:
            problems[url] = found + keys
    assert not problems, "\n".join(f"{u}: {' '.join(w)}" for u, w in sorted(problems.items()))


def test_the_crawl_sees_an_untranslated_string(client: TestClient, seeded: Seeded) -> None:
    """The check itself: a page with one English sentence (a reverted translation) fails it,
    while codes, hashes, addresses and text marked lang="en" pass."""
    page = client.get(f"/fa/clips/{seeded.published}", headers=HTML).text
    assert english_words(page) == []
    assert english_words(page.replace("</h1>", " Verified on </h1>", 1)) == ["Verified", "on"]
    assert english_words('<p class="code">SHA-256 IRN091 https://x.org/a?b=1</p>') == []
