"""A clip made from a face picture that ships with scikit-image (the astronaut), panned
across two lavfi backgrounds with a hard cut between them, with AAC audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from tests.media import X264, ffmpeg

W, H, FPS = 640, 360, 25


@pytest.fixture(scope="session")
def blur_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("blur")


@pytest.fixture(scope="session")
def face_clip(blur_dir: Path) -> Path:
    """4 s, 640x360 at 25 fps: 2 s of testsrc2 with the face (200 px) moving right, then a
    cut to 2 s of smptebars with the face moving down."""
    face = blur_dir / "face.png"
    Image.fromarray(data.astronaut()).resize((200, 200)).save(face)
    out = blur_dir / "face.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s={W}x{H}:r={FPS}:d=2",
        "-f", "lavfi", "-i", f"smptebars=s={W}x{H}:r={FPS}:d=2",
        "-loop", "1", "-framerate", str(FPS), "-i", str(face),
        "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
        "-filter_complex",
        "[2:v]split[f1][f2];"
        "[0:v][f1]overlay=x='30+t*150':y=60:shortest=1[a];"
        "[1:v][f2]overlay=x=400:y='10+t*60':shortest=1[b];"
        "[a][b]concat=n=2:v=1:a=0[v]",
        "-map", "[v]", "-map", "3:a", "-t", "4", *X264, "-c:a", "aac", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def plain_clip(blur_dir: Path) -> Path:
    """2 s of testsrc2, no face, no audio."""
    out = blur_dir / "plain.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={W}x{H}:r={FPS}:d=2", *X264, str(out))
    return out


def frames(path: Path, width: int = W, height: int = H) -> np.ndarray:
    """Every frame of a video as RGB (N x H x W x 3)."""
    import subprocess

    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)
