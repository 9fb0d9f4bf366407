"""The verification journey in a real browser: upload -> progress -> keyframes -> claim,
checklist, approve -> second approval verifies -> publish -> public listing. It also shows
that the uploader cannot approve their own clip and that an illegal move is refused with a
clear message. A failure saves screenshots under test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, TIMEOUT, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _flash(page: Any) -> str:
    return str(page.get_by_test_id("flash").inner_text())


def _check(page: Any, key: str, **fields: str) -> None:
    item = page.locator(f"#item-{key}")
    item.get_by_test_id(f"done-{key}").check()
    for name, value in fields.items():
        item.locator(f"[name={name}]").fill(value) if name != "precision" else item.locator(
            "select[name=precision]"
        ).select_option(value)
    item.get_by_test_id(f"save-{key}").click()
    page.wait_for_url(re.compile(r"done=checked"))


def test_the_verification_journey(
    browser: Any, server: str, make_user: Any, sample_video: Path
) -> None:
    uploader = make_user("contributor")
    reviewer_a, reviewer_b = make_user("reviewer"), make_user("reviewer")
    admin = make_user("admin")
    pages: dict[str, Any] = {}
    try:
        # 1. the contributor describes the clip and uploads the file (tus, with progress)
        up = pages["uploader"] = log_in(browser, server, uploader)
        up.get_by_role("link", name="Upload").click()
        up.get_by_label("City").fill("Abadan")
        up.get_by_label("Province").fill("Khuzestan")
        up.get_by_label("Date (any accepted form)").fill("16 Nov 2019")
        up.get_by_label("Title (English)").fill("Crowd at the refinery gate")
        up.get_by_test_id("create-record").click()
        up.wait_for_url(re.compile(r"/team/upload/IRN\d+$"))
        code = up.url.rsplit("/", 1)[1]
        up.set_input_files("#file", str(sample_video))
        up.get_by_test_id("start-upload").click()
        # 2. the progress bar, then processing progress, then the keyframes
        assert up.locator("#upload-progress").is_visible()
        up.wait_for_function("document.getElementById('upload-bar').value == 100")
        up.get_by_text("Upload complete.").wait_for()
        up.locator("#processing").wait_for(state="visible")
        up.locator("#new-keyframes li").first.wait_for(timeout=TIMEOUT)
        assert up.locator("#new-keyframes li").count() >= 2
        up.get_by_test_id("open-clip").click()
        up.wait_for_url(re.compile(rf"/team/clips/{code}$"))
        assert up.locator("video#player").get_attribute("poster")
        assert up.locator("[data-testid=keyframes] li").count() >= 2
        up.get_by_test_id("move-submitted").click()
        assert "moved" in up.url and "Submitted" in up.locator("h1").inner_text()

        # 3. reviewer A claims, starts the review, completes the checklist and approves
        a = pages["reviewer_a"] = log_in(browser, server, reviewer_a)
        a.goto(f"/team/clips/{code}")
        a.get_by_test_id("claim").click()
        assert f"Assigned to {reviewer_a.email}" in a.content()
        a.get_by_test_id("move-in_review").click()
        _check(a, "source_identified", note="Filmed by a resident; confirmed by phone")
        _check(
            a, "earliest_copy", note="Earliest copy on Telegram", evidence="https://t.me/example/1"
        )
        _check(a, "location_confirmed", lat="30.3473", lon="48.2934", precision="vicinity")
        _check(a, "date_confirmed", date="16 Nov 2019")
        _check(a, "content_described", note="A crowd at a gate; chanting")
        _check(a, "sensitive_flagged", note="No graphic violence")
        a.get_by_test_id("approve").click()
        assert _flash(a) == "Your approval was recorded."

        # the uploader cannot approve their own clip (posting the form anyway is refused)
        up.goto(f"/team/clips/{code}")
        assert up.get_by_test_id("approve").count() == 0
        up.evaluate(
            """(code) => { const f = document.createElement('form');
            f.method = 'post'; f.action = '/team/clips/' + code + '/approve';
            const t = document.querySelector('input[name=csrf_token]').cloneNode();
            f.appendChild(t); document.body.appendChild(f); f.submit(); }""",
            code,
        )
        up.get_by_test_id("error").wait_for()
        assert "you uploaded the record of clip" in up.get_by_test_id("error").inner_text()

        # 4. reviewer B approves: the clip is verified
        b = pages["reviewer_b"] = log_in(browser, server, reviewer_b)
        b.goto(f"/team/clips/{code}")
        b.get_by_test_id("approve").click()
        assert "the clip is verified" in _flash(b)
        assert "Verified" in b.locator("h1").inner_text()

        # an illegal move from a stale page is refused with a clear message
        a.locator("#note-needs_info").fill("One more question")
        a.get_by_test_id("move-needs_info").click()
        error = a.get_by_test_id("error").inner_text()
        assert "is verified; it cannot move to needs_info" in error
        assert "Allowed moves from here" in error

        # 5. the admin publishes it
        adm = pages["admin"] = log_in(browser, server, admin)
        adm.goto(f"/team/clips/{code}")
        adm.get_by_test_id("move-published").click()
        assert "Published" in adm.locator("h1").inner_text()
        adm.locator("#custody summary").click()  # the timeline is folded by default
        timeline = adm.get_by_test_id("timeline").inner_text()
        for event in ("media.", "review.approved", "review.checklist", "review.transition"):
            assert event in timeline, event

        # 6. it appears in the public listing (no log-in)
        public = browser.new_context(base_url=server).new_page()
        pages["public"] = public
        public.goto("/clips")
        assert code in public.content()
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        for name, page in pages.items():
            page.screenshot(path=str(ARTIFACTS / f"journey-{name}.png"), full_page=True)
        raise
