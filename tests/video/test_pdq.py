"""The numpy PDQ (app/video/pdq.py) gives the same bits as the ``pdqhash`` C++ reference.

``pdqhash`` is a development dependency built from source by ``make bootstrap``; in CI
(CI=true) a missing reference fails the run instead of skipping the comparison.
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from app.video import pdq
from tests.media import FFMPEG

pytestmark = [pytest.mark.nodb, pytest.mark.pdqref]

# (lavfi source, width, height): varied content, sizes and aspect ratios, 24 frames each.
SOURCES = [
    ("testsrc2=r=10", 320, 240),
    ("smptehdbars=r=10", 640, 360),
    ("mandelbrot=r=10:maxiter=64", 200, 300),
    ("life=r=10:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00", 97, 131),
    ("cellauto=r=10:rule=110", 256, 144),
    ("rgbtestsrc=r=10", 64, 64),
    ("sierpinski=r=10", 480, 270),
    ("testsrc=r=10", 1280, 720),
    ("gradients=r=10:speed=0.05", 176, 144),
    ("color=c=gray:r=10,noise=alls=60:allf=t", 160, 120),
    ("testsrc2=r=10,gblur=sigma=6", 320, 240),
    ("smptebars=r=10,gblur=sigma=20", 352, 288),
]
FRAMES_PER_SOURCE = 24


def _frames(source: str, width: int, height: int) -> np.ndarray:
    base, comma, rest = source.partition(",")
    chain = f"{base}:s={width}x{height}{comma}{rest}"
    out = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi",
         "-i", chain, "-frames:v", str(FRAMES_PER_SOURCE),
         "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    return np.frombuffer(out, dtype=np.uint8).reshape(-1, height, width, 3)


def _reference():  # type: ignore[no-untyped-def]
    try:
        import pdqhash  # type: ignore[import-not-found]
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("pdqhash (requirements-dev.lock) is not installed: run make bootstrap")
        pytest.skip("pdqhash (the C++ reference) is not installed")
    return pdqhash


def _bits(vector: np.ndarray) -> bytes:
    return np.packbits(vector.astype(np.uint8)).tobytes()


def test_bit_identical_to_pdqhash_on_varied_frames() -> None:
    ref = _reference()
    frames = [f for src in SOURCES for f in _frames(*src)]
    assert len(frames) >= 200
    mismatches = []
    qualities = set()
    for n, frame in enumerate(frames):
        frame = np.ascontiguousarray(frame)
        mine = pdq.pdq_rgb(frame)
        qualities.add(mine.quality)
        vector, quality = ref.compute(frame)
        if _bits(vector) != mine.hash or quality != mine.quality:
            mismatches.append(n)
        if frame.shape[:2] != (64, 64):  # the C++ dihedral entry point has no 64x64 shortcut
            hashes, _ = ref.compute_dihedral(frame)
            if [_bits(h) for h in hashes] != mine.dihedral():
                mismatches.append(n)
    assert mismatches == []
    assert min(qualities) < 50 < max(qualities)  # flat frames and busy ones


def test_hex_form_and_distance() -> None:
    frame = _frames("testsrc2=r=10", 320, 240)[0]
    ref = _reference()
    vector, _ = ref.compute(np.ascontiguousarray(frame))
    mine = pdq.pdq_rgb(frame)
    assert mine.hash == _bits(vector)
    assert len(mine.hash) == pdq.HASH_BYTES
    assert pdq.hamming256(mine.hash, mine.hash) == 0
    mirrored = pdq.pdq_rgb(np.ascontiguousarray(frame[:, ::-1]))
    # A mirror image is far in the original orientation and close through flip_y.
    assert pdq.hamming256(mirrored.hash, mine.hash) > pdq.MATCH_DISTANCE
    assert min(pdq.hamming256(h, mine.hash) for h in mirrored.dihedral()) <= 8


def test_tiny_image_has_zero_quality() -> None:
    result = pdq.pdq_rgb(np.zeros((4, 100, 3), dtype=np.uint8))
    assert result.quality == 0
    assert result.hash == bytes(32)
