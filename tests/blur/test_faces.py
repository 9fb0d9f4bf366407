"""The CenterFace detector (app/video/faces.py) on a face picture shipped with scikit-image."""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage import data

from app.video import faces


def test_finds_the_astronauts_face() -> None:
    found = faces.detect(data.astronaut(), threshold=0.5)
    assert len(found) == 1
    face = found[0]
    # the face is around x 180-270, y 60-180 of the 512x512 picture
    assert 150 < (face.x1 + face.x2) / 2 < 300
    assert 60 < (face.y1 + face.y2) / 2 < 180
    assert face.score > 0.8


def test_boxes_come_back_in_frame_pixels_after_shrinking() -> None:
    frame = np.full((720, 1280, 3), 90, np.uint8)
    face = np.asarray(Image.fromarray(data.astronaut()).resize((400, 400)))
    frame[100:500, 700:1100] = face
    (found,) = faces.detect(frame, threshold=0.5)
    assert 700 + 120 < (found.x1 + found.x2) / 2 < 700 + 240
    assert 100 + 40 < (found.y1 + found.y2) / 2 < 100 + 150


def test_no_face_on_a_plain_frame() -> None:
    assert faces.detect(np.full((360, 640, 3), 128, np.uint8), threshold=0.5) == []
    assert faces.detect(np.zeros((10, 10, 3), np.uint8), threshold=0.5) == []
