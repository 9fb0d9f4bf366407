"""The seeded archive the phone-width tests and the screenshot script load: real clips made
with ffmpeg, uploaded through the JSON API and processed by the real job steps.

- ``published``: a rotated (90°) H.264/AAC clip with a long English and Farsi title and
  description, every checklist item done, two approvals, published, with comments and an
  open correction (so the corrections section shows);
- ``in_review``: a clip with media in review, part of its checklist done, a comment;
- ``retracted``: published and then retracted;
- ``no_media``: a draft record with no file yet (the upload page).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.media import X264, ffmpeg
from tests.review.conftest import CHECKLIST_DONE, Api, Team

LONG_EN = (
    "Crowd gathers at the refinery gate after the fuel price rise; chanting and smoke, "
    "filmed from a rooftop across the avenue"
)
LONG_FA = (
    "تجمع مردم در برابر درِ پالایشگاه پس از افزایش قیمت بنزین؛ شعار و دود، از پشت‌بامی آن سوی خیابان"
)
DESC_EN = (
    "A long description so that the page has some body text: the crowd moves towards the "
    "gate, someone films from above, and a second group arrives from the north. " * 3
)
DESC_FA = (
    "توضیحی بلند تا صفحه متنی داشته باشد: جمعیت به سوی در می‌رود و کسی از بالا فیلم می‌گیرد. "
) * 3


@dataclass
class Seeded:
    published: str
    in_review: str
    retracted: str
    no_media: str
    city_slug: str


def rotated_clip(path: Path, seconds: int = 12, rotate: int = 90, tone: int = 440) -> Path:
    """A ``seconds``-long 320x240 H.264/AAC .mp4 with a keyframe every second, stored with a
    display rotation of ``rotate`` degrees (as a phone filming upright writes it); ``tone``
    (the sine's frequency) makes the bytes of each clip differ."""
    plain = path.with_suffix(".plain.mp4")
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency={tone}:duration={seconds}",
        *X264, "-g", "25", "-c:a", "aac", "-shortest", str(plain),
    )  # fmt: skip
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", f"rotate={rotate}", str(path))
    plain.unlink()
    return path


def _upload(api: Api, who: Any, code: str, path: Path) -> None:
    r = api.c.post(
        f"/api/v1/clips/{code}/media",
        params={"filename": path.name},
        content=path.read_bytes(),
        headers={**who.headers, "Content-Type": "video/mp4"},
    )
    assert r.status_code == 201, r.text


def _comment(api: Api, code: str, who: Any, body: str, at: float | None = None) -> None:
    data: dict[str, Any] = {"body": body}
    if at is not None:
        data["at_seconds"] = at
    r = api.c.post(f"/api/v1/clips/{code}/comments", json=data, headers=who.headers)
    assert r.status_code == 201, r.text


def seed(api: Api, team: Team, tmp: Path, run_jobs: Any) -> Seeded:
    """Build the four clips; ``run_jobs`` runs the queued job steps in this process."""
    fields = {
        "city": "Abadan",
        "province": "Khuzestan",
        "date": "16 Nov 2019",
        "title_en": LONG_EN,
        "title_fa": LONG_FA,
        "description_en": DESC_EN,
        "description_fa": DESC_FA,
        "tags": ["fuel-protests", "refinery", "rooftop", "smoke", "chanting"],
    }
    codes: dict[str, str] = {}
    for i, name in enumerate(("published", "in_review", "retracted")):
        code = codes[name] = api.new_clip(team.uploader, **fields)
        clip = rotated_clip(tmp / f"{name}.mp4", rotate=90, tone=440 + 110 * i)
        _upload(api, team.uploader, code, clip)
        run_jobs()
        api.ok_move(code, team.uploader, "submitted", "please review")
        api.ok_move(code, team.r1, "in_review", "starting the review")
        _comment(api, code, team.r1, "The minaret at the left edge matches the mosque.", 3.5)
        _comment(api, code, team.r2, "Agreed; the shadows fit mid-afternoon.")
    for name in ("published", "retracted"):
        code = codes[name]
        api.complete_checklist(code, team.r1)
        assert api.approve(code, team.r1, "looks right").status_code == 201
        assert api.approve(code, team.r2, "agreed").json()["status"] == "verified"
        api.ok_move(code, team.publisher, "published", "public now")
        run_jobs()  # the playback copy
    api.ok_move(codes["retracted"], team.publisher, "retracted", "the source withdrew consent")
    for key in ("source_identified", "earliest_copy"):
        r = api.check(codes["in_review"], team.r1, key, **CHECKLIST_DONE[key])
        assert r.status_code == 200, r.text
    fix = {
        "changes": {"title_en": LONG_EN + " (corrected)"},
        "reason": "the title misnames the avenue",
        "public_reason": "The title was corrected.",
    }
    r = api.c.post(
        f"/api/v1/clips/{codes['published']}/corrections", json=fix, headers=team.r3.headers
    )
    assert r.status_code == 201, r.text
    codes["no_media"] = api.new_clip(team.uploader, **fields)
    return Seeded(**codes, city_slug="abadan")
