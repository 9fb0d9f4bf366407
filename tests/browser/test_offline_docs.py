"""/api/docs renders in Chromium with the network cut: every request that leaves the
loopback interface is aborted, and Swagger UI must still draw the operations."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_render_with_no_internet(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    outside: list[str] = []

    def cut(route) -> None:  # type: ignore[no-untyped-def]
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", cut)
    page.goto(server + "/api/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert "Video evidence archive" in page.inner_text(".info .title")
    assert page.locator(".opblock").count() > 10  # the operations, not a blank page
    assert "/api/v1/published" in page.content()
    assert outside == [], f"the docs page reached outside the machine: {outside}"
