"""Screenshots for the README (docs/screenshots/), taken from the phone test's seeded archive:

    PHONE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_phone.py -k short

- ``phone-fa-public-clip.png``: the Farsi public clip page at 390 px;
- ``phone-team-clip.png``: the top of the team clip page at 390 px (logged in as admin).

Each PNG is reduced to a 256-colour palette so that it stays small in the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
EAGER = """() => Promise.all([...document.images].map(i => {
  i.loading = 'eager';
  return i.complete ? null : new Promise(r => { i.onload = i.onerror = r; });
}))"""


def _save(page: Any, name: str, height: int) -> Path:
    page.evaluate(EAGER)
    total = int(page.evaluate("() => document.documentElement.scrollHeight"))
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    clip = {"x": 0, "y": 0, "width": PHONE["width"], "height": min(height, total)}
    page.screenshot(path=str(path), clip=clip, full_page=True)
    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)
    return path


def take(browser: Any, base: str, seeded: Any, admin: Any) -> list[Path]:
    from tests.browser.conftest import log_in

    public = browser.new_context(base_url=base, viewport=PHONE, locale="fa-IR").new_page()
    public.goto(f"/fa/clips/{seeded.published}")
    shots = [_save(public, "phone-fa-public-clip.png", 1800)]
    team = log_in(browser, base, admin, PHONE)
    team.goto(f"/team/clips/{seeded.published}")
    shots.append(_save(team, "phone-team-clip.png", 1800))
    return shots
