"""The first log-in of an admin in a real browser (issue 13 §2): one-time password ->
forced password change (every other page redirects there) -> forced TOTP enrolment (QR
code and its key as text, ten recovery codes) -> log-out -> log-in with the new password
and a code -> the team dashboard. The same code is refused at a second log-in. A failure
saves screenshots under test-artifacts/."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest

from app.accounts.service import create_user
from app.db import session_scope
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMEOUT = 60_000
NEW_PASSWORD = "walnut harbour lantern seventeen"


@pytest.fixture()
def server_2fa(db_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """The live server with two-factor log-in required for admins (tests/conftest.py turns
    it off for every test; the server subprocess takes os.environ when it starts)."""
    monkeypatch.setenv("ARCHIVE_REQUIRE_2FA_FOR", "admin")
    return str(request.getfixturevalue("server"))


def _new_admin() -> tuple[str, str]:
    """An admin created the way `archive users create` does: with a one-time password."""
    with session_scope() as session:
        user, one_time = create_user(
            session, email="first-admin@example.org", role="admin", actor="cli"
        )
        assert one_time is not None
        return user.email, one_time


def _page(browser: Any, base: str) -> Any:
    page = browser.new_context(base_url=base, locale="en-GB").new_page()
    page.set_default_timeout(TIMEOUT)
    return page


def _log_in(page: Any, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _give_code(page: Any, code: str) -> None:
    page.wait_for_url(re.compile(r"/login/code\?"))
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Log in").click()


def test_first_log_in_password_change_totp_enrolment_and_log_in_with_a_code(
    browser: Any, server_2fa: str
) -> None:
    email, one_time = _new_admin()
    pages: dict[str, Any] = {}
    try:
        # 1. the one-time password works once, and leads straight to the change form
        first = pages["first"] = _page(browser, server_2fa)
        _log_in(first, email, one_time)
        first.wait_for_url(re.compile(r"/team/account/password\?next="))
        assert first.get_by_test_id("forced").is_visible()
        # every other page (team pages, the two-factor set-up, the account) redirects there
        for other in ("/team/", "/team/queue", "/team/admin/users", "/team/account/two-factor"):
            first.goto(other)
            assert re.search(r"/team/account/password\?next=", first.url), (other, first.url)
        # 2. a short or common password is refused with a message; a good one is taken
        first.get_by_label("Current password").fill(one_time)
        first.get_by_label("New password", exact=True).fill("password1234")
        first.get_by_label("New password again").fill("password1234")
        first.get_by_role("button", name="Change password").click()
        assert "common" in first.get_by_test_id("error").inner_text().lower()
        first.get_by_label("Current password").fill(one_time)
        first.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        first.get_by_label("New password again").fill(NEW_PASSWORD)
        first.get_by_role("button", name="Change password").click()
        # 3. an admin must set up two-factor log-in before going on
        # (back to the page last asked for: the two-factor set-up, the admin's next gate)
        first.wait_for_url(re.compile(r"/team/account/two-factor\?done=password$"))
        assert first.get_by_test_id("required").is_visible()
        first.goto("/team/queue")
        assert "/team/account/two-factor?next=" in first.url
        qr = first.get_by_test_id("qr").locator("svg")
        assert qr.is_visible() and qr.bounding_box()["width"] > 100
        secret = first.get_by_test_id("totp-secret").inner_text().strip()
        assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
        totp = pyotp.TOTP(secret)
        first.get_by_label("2. Type the 6-digit code").fill(totp.now())
        first.get_by_role("button", name="Turn on two-factor log-in").click()
        first.get_by_test_id("recovery-codes").wait_for()
        codes = first.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
        assert len(codes) == 10 and len(set(codes)) == 10
        assert all(re.fullmatch(r"[0-9a-f]{5}-[0-9a-f]{5}", c) for c in codes), codes
        # "Continue" goes on to the page last asked for, now open
        first.get_by_test_id("continue").click()
        first.wait_for_url(re.compile(r"/team/queue$"))
        assert first.locator("h1").inner_text() != "Two-factor log-in"
        # 4. log out: the team pages ask for a log-in again
        first.get_by_test_id("logout").click()
        first.wait_for_url(re.compile(r"/login\?bye=1"))
        first.goto("/team/")
        assert "/login?next=" in first.url
        # 5. the one-time password no longer works; the new one asks for a code
        _log_in(first, email, one_time)
        assert "Wrong email or password" in first.get_by_test_id("login-error").inner_text()
        _log_in(first, email, NEW_PASSWORD)
        first.wait_for_url(re.compile(r"/login/code\?"))
        first.goto("/team/queue")  # the password alone opens nothing
        assert "/login/code?" in first.url
        # the next window's code: the enrolment code's step is already used, and the
        # verifier accepts one step of drift either way (app/accounts/two_factor.py)
        code = totp.at(time.time() + 30)
        first.goto("/login/code?next=/team/")
        _give_code(first, code)
        first.wait_for_url(re.compile(r"/team/$"))
        assert first.locator("h1").inner_text() == "Dashboard"
        assert email in first.get_by_test_id("logout").inner_text()
        # 6. the same code, in the same window, in another browser: refused
        second = pages["second"] = _page(browser, server_2fa)
        _log_in(second, email, NEW_PASSWORD)
        _give_code(second, code)
        assert "already used" in second.get_by_test_id("login-error").inner_text()
        second.goto("/team/")
        assert "/login/code?" in second.url
        # the first browser is still logged in
        first.goto("/team/queue")
        assert first.url.endswith("/team/queue")
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        for name, p in pages.items():
            print(f"{name}: {p.url}")
            p.screenshot(path=str(ARTIFACTS / f"account-journey-{name}.png"), full_page=True)
        raise
