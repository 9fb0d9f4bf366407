"""The map in Chromium with the network cut and JavaScript off: the SVG draws, and a click
on a city's circle opens the city page (English and Farsi). Screenshots of both pages are
saved under test-artifacts/ (docs/screenshots/map*.png are copies)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from app.db import session_scope
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


@pytest.fixture()
def demo_db(db_url: str) -> None:
    """The demo archive (103 published clips), loaded before the server starts."""
    from app.clips.demo import load_demo

    with session_scope() as session:
        assert load_demo(session) is not None


def test_map_works_offline_without_script_and_links_to_cities(  # type: ignore[no-untyped-def]
    demo_db: None, server: str, browser
) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1100, "height": 900}
    )
    page = context.new_page()
    outside: list[str] = []

    def cut(route) -> None:  # type: ignore[no-untyped-def]
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", cut)
    ARTIFACTS.mkdir(exist_ok=True)
    for prefix, city, shot in (("", "Shiraz", "map.png"), ("/fa", "شیراز", "map-fa.png")):
        page.goto(f"{server}{prefix}/map")
        svg = page.locator('svg[data-testid="map"]')
        box = svg.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 300
        assert page.locator("a.map-link").count() >= 20
        assert page.locator("path.map-land").count() == 1
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        # the circles are links a screen reader can reach, named by their <title>
        assert page.get_by_role("link", name=re.compile(f"^{city}: ")).count() == 1
        mark = page.locator(f'a[href="{prefix}/cities/shiraz"]')
        assert city in (mark.locator("title").text_content() or "")
        circle = mark.locator("circle")  # Sadra's smaller circle sits on Shiraz's centre:
        size = circle.bounding_box()  # click the lower right of Shiraz's, as a person would
        assert size is not None
        circle.click(position={"x": size["width"] * 0.8, "y": size["height"] * 0.8})
        page.wait_for_url(f"{server}{prefix}/cities/shiraz")
        assert city in page.locator("h1").inner_text()
    # the home page's small map opens the big one
    page.goto(f"{server}/")
    page.screenshot(path=str(ARTIFACTS / "map-home.png"))
    page.locator('a[data-testid="home-map"]').click()
    page.wait_for_url(f"{server}/map")
    context.close()
    assert outside == [], f"the map reached outside the machine: {outside}"


def test_team_dashboard_map_per_state(  # type: ignore[no-untyped-def]
    demo_db: None, server: str, browser, make_user
) -> None:
    from app.clips import service as clips
    from app.clips.schemas import ClipCreate

    with session_scope() as session:
        code = clips.create(
            session,
            ClipCreate(city="Tabriz", province="East Azerbaijan", date="16 Nov 2019"),
            actor="test",
            status="in_review",
        ).code
    who = make_user("reviewer")
    context = browser.new_context(base_url=server, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/team/$"))
    section = page.get_by_test_id("team-map")
    tabriz = section.locator('a[href="/team/queue?city=Tabriz"]')
    assert (tabriz.locator("title").text_content() or "") == "Tabriz: 1 (In review 1)"
    section.get_by_role("link", name="In review", exact=True).click()
    page.wait_for_url(re.compile(r"/team/\?state=in_review$"))
    section.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    section.screenshot(path=str(ARTIFACTS / "map-team.png"))
    page.locator('a[href="/team/queue?city=Tabriz&state=in_review"] circle').click()
    page.wait_for_url(re.compile(r"/team/queue\?city=Tabriz&state=in_review$"))
    assert code in page.content()
    context.close()
