"""Browser tests: a real uvicorn server on a free port with a migrated temporary database,
driven by Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT = 60_000  # ms, for each browser action (2 busy cores)


def log_in(browser: Any, base: str, who: Any, viewport: dict[str, int] | None = None) -> Any:
    """A new browser context logged in to the team pages as ``who`` (email, password)."""
    extra = {"viewport": viewport} if viewport else {}
    context = browser.new_context(base_url=base, locale="en-GB", **extra)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto("/login")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/team/$"))
    return page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The app served by uvicorn in a subprocess, with embedded job workers."""
    from tests.review.conftest import restore_default_checklist

    restore_default_checklist()
    port = _free_port()
    env = {
        **os.environ,
        "ARCHIVE_DATABASE_URL": db_url,
        "ARCHIVE_VAR_DIR": str(tmp_path / "var"),
        "ARCHIVE_MEDIA_ROOT": str(tmp_path / "media"),
        "ARCHIVE_SECRET_KEY": "browser-test-" + "x" * 40,
        "ARCHIVE_JOBS": "embedded",
        "ARCHIVE_DEMO_ON_FIRST_RUN": "false",
        "ARCHIVE_KEYFRAME_MIN_INTERVAL_SECONDS": "1",
        "ARCHIVE_BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--http",
            "app.server:BufferedHttpToolsProtocol",  # as `archive serve` does
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the server did not start:\n" + (tmp_path / "server.log").read_text()
                )
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        server_log = (tmp_path / "server.log").read_text()
        if server_log.strip():
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "server.log").write_text(server_log)


@pytest.fixture()
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        from tests.conftest import service_missing

        service_missing("Chromium at /usr/bin/chromium", "apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def sample_video(tmp_path: Path) -> Path:
    """A 4-second 320x240 H.264 clip with a keyframe every second (ffmpeg's testsrc2)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to generate the sample clip")
    out = tmp_path / "sample.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=4",
            "-c:v",
            "libx264",
            "-g",
            "25",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(out),
        ],
        check=True,
        timeout=60,
    )
    return out
