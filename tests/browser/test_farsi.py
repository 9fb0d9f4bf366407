"""The Farsi clip page as a person sees it in Chromium: right to left, each fact beside its
own label, and the verification date in Solar Hijri with Persian digits."""

from __future__ import annotations

import re

import pytest

from tests.i18n import conftest as farsi
from tests.i18n.conftest import Seeded

# the Farsi tests' seeded clips (a published, a retracted and an in-review clip)
api, team, seeded = farsi.api, farsi.team, farsi.seeded

pytestmark = pytest.mark.browser

PAIRS = """() => Array.from(document.querySelectorAll("dl.facts > *")).map(
  (el) => [el.tagName, el.innerText.trim()])"""


def test_the_farsi_clip_page_in_chromium(server: str, browser, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1024, "height": 900})
    page.goto(f"{server}/fa/clips/{seeded.published}")
    assert page.get_attribute("html", "dir") == "rtl"
    pairs = page.evaluate(PAIRS)
    tags = [tag for tag, _ in pairs]
    assert tags == ["DT", "DD"] * (len(tags) // 2), pairs
    facts = {label: value for (_, label), (_, value) in zip(pairs[::2], pairs[1::2], strict=True)}
    assert facts["تاریخ"].startswith("۲۵ آبان ۱۳۹۸"), facts
    assert facts["مکان"].startswith("آبادان") and facts["کد"] == seeded.published, facts
    verified = page.locator("section[aria-labelledby=verification] time").inner_text()
    assert re.fullmatch(r"[۰-۹]{1,2} \S+ ۱۴[۰-۹]{2}", verified), verified
    page.close()
