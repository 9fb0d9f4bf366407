"""The team page's file facts (app/web/team/metadata.py) on real clips made with ffmpeg:
the rotation reads the way the picture is actually turned when played, the frame rate says
whether it is variable, the codecs and bitrate have human names, in English and Farsi."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image

from app.video.probe import probe
from app.web.team.metadata import bitrate_text, file_facts, rotation_text


def _played_frame(path: Path, out: Path) -> Image.Image:
    """The first frame as a player shows it (ffmpeg applies the display matrix)."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(path), "-frames:v", "1", str(out)],
        check=True,
        timeout=60,
    )
    return Image.open(out).convert("L")


def test_rotation_label_says_which_way_the_player_turns_the_picture(
    rotated_clip: Path, tmp_path: Path
) -> None:
    info = probe(rotated_clip)
    facts = dict(file_facts(info, "en"))
    # the stored frame is 320x240 with a white square top-left; played, it is portrait
    frame = _played_frame(rotated_clip, tmp_path / "played.png")
    assert frame.size == (240, 320) and facts["Picture size"] == "240 × 320"
    top_right = frame.getpixel((frame.width - 20, 20))
    bottom_left = frame.getpixel((20, frame.height - 20))
    assert isinstance(top_right, int) and isinstance(bottom_left, int)
    assert (top_right > 200) != (bottom_left > 200), "the marker must be in one corner"
    # turned clockwise, the top-left corner goes to the top right; anticlockwise, to the
    # bottom left (this ffmpeg writes rotate=90 as a +90 display matrix: anticlockwise)
    expected = "90° clockwise" if top_right > 200 else "90° anticlockwise"
    assert facts["Rotation"].startswith(expected + " "), facts["Rotation"]
    assert "270" not in facts["Rotation"]
    fa = dict(file_facts(info, "fa"))
    assert fa["چرخش"].startswith("۹۰ درجه"), fa


def test_constant_and_variable_frame_rates_codecs_and_bitrate(
    phone_clip: Path, vfr_clip: Path
) -> None:
    phone = dict(file_facts(probe(phone_clip), "en"))
    assert phone["Frame rate"] == "30 frames/s (constant)"
    assert phone["Rotation"] == "none (shown as stored)"
    assert phone["Video codec"] == "H.264 (AVC)" and phone["Audio codec"] == "AAC"
    assert phone["Container"] == "MP4 / QuickTime"
    assert phone["Camera make"] == "Apple" and phone["Camera model"] == "iPhone 12"
    assert phone["Duration"] == "0:06"
    assert phone["Bitrate"].endswith(" kbit/s") and phone["Bitrate"][0].isdigit()
    vfr = dict(file_facts(probe(vfr_clip), "en"))
    assert "variable frame rate, VFR" in vfr["Frame rate"], vfr
    assert vfr["Audio codec"] == "no sound track"
    fa = dict(file_facts(probe(vfr_clip), "fa"))
    assert "متغیر" in fa["نرخ فریم"] and "VFR" in fa["نرخ فریم"]


def test_labels_for_values_the_clips_do_not_have() -> None:
    assert rotation_text("en", 180) == "180° (stored upside down; the player turns it)"
    assert rotation_text("en", 45) is None
    assert bitrate_text("en", 24_500_000) == "24.5 Mbit/s"
    assert bitrate_text("fa", 843_000) == "۸۴۳ کیلوبیت بر ثانیه"
    assert bitrate_text("en", None) is None
    assert file_facts(None, "en") == [] and file_facts({}, "fa") == []
