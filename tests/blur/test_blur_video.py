"""Face blurring of a real clip (real ffmpeg, the real CenterFace model): the face region
of the public copy changes strongly, the background does not, and no checked frame of the
public copy shows a face where the original has one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.public.faceblur import make_blurred_video
from app.public.playback import make_playback_copy
from app.video import faces
from app.video.blur import Options, Region, blur_video, grow
from app.video.probe import probe
from tests.blur.conftest import H, W, frames


@pytest.fixture(scope="module")
def pair(face_clip: Path, blur_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    plain, blurred = blur_dir / "pair-plain.mp4", blur_dir / "pair-blurred.mp4"
    make_playback_copy(face_clip, plain, timeout=120)
    make_blurred_video(face_clip, blurred, [], timeout=300)
    info = probe(blurred)
    assert info["video_codec"] == "h264" and info["audio_codec"] == "aac"
    a, b = frames(plain), frames(blurred)
    assert a.shape == b.shape and len(a) == 100
    return a, b


def _iou(a: faces.Face, b: faces.Face) -> float:
    x1, y1, x2, y2 = max(a.x1, b.x1), max(a.y1, b.y1), min(a.x2, b.x2), min(a.y2, b.y2)
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter
    return inter / area if area else 0.0


def test_no_checked_frame_shows_the_face(pair: tuple[np.ndarray, np.ndarray]) -> None:
    original, public = pair
    checked = 0
    for i in range(1, len(original), 3):  # off the detector's every-5th rhythm on purpose
        found = faces.detect(original[i], threshold=0.5)
        if not found:
            continue
        checked += 1
        left = [f for f in faces.detect(public[i], threshold=0.3) if _iou(f, found[0]) > 0.1]
        assert left == [], f"frame {i}: a face is still found in the public copy: {left}"
    assert checked >= 25  # the face is in (nearly) every frame of the original


def test_face_region_differs_and_background_is_kept(pair: tuple[np.ndarray, np.ndarray]) -> None:
    original, public = pair
    for i in (3, 37, 52, 88):  # both scenes, between detections
        (face,) = faces.detect(original[i], threshold=0.5)
        x1, y1, x2, y2 = (int(v) for v in (face.x1, face.y1, face.x2, face.y2))
        a, b = original[i].astype(int), public[i].astype(int)
        inside = np.abs(a[y1:y2, x1:x2] - b[y1:y2, x1:x2]).mean()
        assert inside > 20, f"frame {i}: the face region barely changed ({inside:.1f})"
        mask = np.ones((H, W), bool)
        gx1, gy1, gx2, gy2 = grow((face.x1, face.y1, face.x2, face.y2), 1.0, W, H)
        mask[gy1:gy2, gx1:gx2] = False
        outside = np.abs(a - b)[mask].mean()
        assert outside < 3, f"frame {i}: the background changed ({outside:.1f})"


def test_manual_region_is_blurred_only_in_its_range(plain_clip: Path, blur_dir: Path) -> None:
    plain, out = blur_dir / "region-plain.mp4", blur_dir / "region-blurred.mp4"
    make_playback_copy(plain_clip, plain, timeout=120)
    region = Region(x=0.5, y=0.25, w=0.25, h=0.5, start=0.5, end=1.5)
    blur_video(plain, out, options=Options(), regions=[region], timeout=120)
    a, b = frames(plain).astype(int), frames(out).astype(int)
    box = (slice(90, 270), slice(320, 480))
    during = [np.abs(a[i][box] - b[i][box]).mean() for i in (15, 25, 35)]
    outside = [np.abs(a[i][box] - b[i][box]).mean() for i in (2, 8, 42, 48)]
    assert min(during) > 8, during  # testsrc2 is mostly flat colour there
    assert max(outside) < 3, outside
    rest = np.abs(a[25] - b[25])
    rest[box] = 0
    assert rest.mean() < 2


def test_detector_runs_every_nth_frame_and_on_cuts(face_clip: Path, blur_dir: Path) -> None:
    plain, out = blur_dir / "count-plain.mp4", blur_dir / "count-blurred.mp4"
    make_playback_copy(face_clip, plain, timeout=120)
    calls: list[int] = []

    def detect(frame: np.ndarray) -> list[tuple[float, float, float, float]]:
        calls.append(1)
        return []

    result = blur_video(plain, out, options=Options(every_n=10), detect=detect, timeout=120)
    assert result.count == 100
    # frames 0, 10, ..., 90 (10), the two sides of the cut at 50 are already on the grid
    # except the frame before it (49), and the last frame (99)
    assert 11 <= len(calls) <= 13, len(calls)
