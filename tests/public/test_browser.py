"""Browser tests: real Chromium (Debian's) against a real uvicorn server.

The content-warning gate (with and without JavaScript), a Farsi city page, and playing a
published clip's playback copy. A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.public.conftest import MediaClip

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(demo: int, media_clip: MediaClip, db_url: str) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ARCHIVE_BASE_URL": base, "ARCHIVE_JOBS": "off"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--http", "app.server:BufferedHttpToolsProtocol"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"uvicorn exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not start")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture()
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def screenshot_on_failure(page: Any, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        raise


def _blur(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "el => getComputedStyle(el).filter"))


def test_content_warning_gate_with_javascript(server: str, browser: Any) -> None:
    page = browser.new_page()
    with screenshot_on_failure(page, "gate-js"):
        page.goto(f"{server}/cities/abadan")
        assert page.locator(".card.blurred img").count() == 1
        assert "blur" in _blur(page, ".card.blurred img")
        page.get_by_role("button", name="I understand, show the images").click()
        page.wait_for_selector(".card.blurred", state="detached")
        assert _blur(page, ".card img") == "none"
        assert any(c["name"] == "cw_ok" for c in page.context.cookies())
        page.reload()
        assert page.locator(".card.blurred").count() == 0
        assert page.locator("form.cw-gate").count() == 0


def test_content_warning_gate_without_javascript(server: str, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    with screenshot_on_failure(page, "gate-nojs"):
        page.goto(f"{server}/fa/cities/abadan")
        assert page.locator(".card.blurred").count() == 1
        page.locator("form.cw-gate button").click()
        page.wait_for_url(f"{server}/fa/cities/abadan")
        assert page.locator(".card.blurred").count() == 0
    context.close()


def test_farsi_city_page(server: str, browser: Any) -> None:
    page = browser.new_page()
    with screenshot_on_failure(page, "farsi-city"):
        page.goto(f"{server}/fa/cities/shiraz")
        html = page.locator("html")
        assert html.get_attribute("dir") == "rtl" and html.get_attribute("lang") == "fa"
        assert page.locator("h1").inner_text() == "شیراز"
        dates = page.locator(".card .date").all_inner_texts()
        assert dates and all("آبان" in d or "آذر" in d for d in dates)  # Solar Hijri months
        assert any("۱۳۹۸" in d for d in dates)  # Persian digits
        assert not any(ch in "0123456789" for ch in "".join(dates))
        assert "ویدیو" in page.locator("main").inner_text()
        box = page.locator("main h1").bounding_box()
        width = page.viewport_size["width"]  # type: ignore[index]
        assert box is not None and box["x"] + box["width"] > width / 2  # right-aligned


def test_playing_a_published_clip(server: str, browser: Any, media_clip: MediaClip) -> None:
    page = browser.new_page()
    with screenshot_on_failure(page, "playback"):
        page.goto(f"{server}/clips/{media_clip.code}")
        page.get_by_role("button", name="I understand, show the images").click()
        video = page.locator("video")
        assert video.count() == 1
        page.wait_for_function(
            "() => document.querySelector('video').readyState >= 1", timeout=15000
        )
        duration = page.evaluate("() => document.querySelector('video').duration")
        assert 1.5 < duration < 2.5
        page.evaluate(
            "() => { const v = document.querySelector('video'); v.muted = true; return v.play(); }"
        )
        page.wait_for_function(
            "() => document.querySelector('video').currentTime > 0.3", timeout=15000
        )
        assert page.evaluate("() => document.querySelector('video').error") is None
