"""Generated media for the near-duplicate tests: one multi-shot source, its variants, and
unrelated clips from other lavfi sources (all 320x240 or smaller, a few seconds each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media import X264, ffmpeg

SHOTS = [  # 4 shots of 5 s: a 20 s source with hard cuts at 5, 10 and 15 s
    "testsrc2=s=320x240:r=10:d=5",
    "mandelbrot=s=320x240:r=10:end_pts=5:maxiter=64",
    "life=s=320x240:r=10:mold=10:ratio=0.2:seed=7:death_color=#C83232:life_color=#00ff00",
    "cellauto=s=320x240:r=10:rule=110:seed=3",
]
UNRELATED = {
    "sierpinski": "sierpinski=s=320x240:r=10",
    "gradients": "gradients=s=320x240:r=10:speed=0.1:seed=5",
    "testsrc": "testsrc=s=320x240:r=10",
    "mandelbrot_elsewhere": "mandelbrot=s=320x240:r=10:start_x=0.3:start_y=0.5:start_scale=0.2",
    "cellauto30": "cellauto=s=320x240:r=10:rule=30:seed=11",
}


@pytest.fixture(scope="session")
def dup_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("duplicates")


@pytest.fixture(scope="session")
def source_clip(dup_dir: Path) -> Path:
    out = dup_dir / "source.mp4"
    args: list[str] = []
    for shot in SHOTS:
        args += ["-f", "lavfi", "-i", shot]
    chain = "".join(f"[{n}:v]trim=duration=5,setpts=PTS-STARTPTS[s{n}];" for n in range(4))
    chain += "[s0][s1][s2][s3]concat=n=4:v=1:a=0[v]"
    ffmpeg(*args, "-filter_complex", chain, "-map", "[v]", "-t", "20", *X264, "-g", "50",
           str(out))  # fmt: skip
    return out


def _variant(src: Path, out: Path, *args: str) -> Path:
    ffmpeg("-i", str(src), *args, str(out))
    return out


@pytest.fixture(scope="session")
def variants(dup_dir: Path, source_clip: Path) -> dict[str, Path]:
    """The copies that must match the source, both ways."""
    return {
        "reencode_360p_crf32": _variant(
            source_clip, dup_dir / "low.mp4", "-vf", "scale=480:360", *X264, "-crf", "32"
        ),
        "subclip_10s": _variant(source_clip, dup_dir / "sub.mp4", "-ss", "5", "-t", "10", *X264),
        "hflip": _variant(source_clip, dup_dir / "flip.mp4", "-vf", "hflip", *X264),
        "fps25": _variant(source_clip, dup_dir / "fps.mp4", "-vf", "fps=25", *X264),
    }


@pytest.fixture(scope="session")
def logo_copy(dup_dir: Path, source_clip: Path) -> Path:
    """A burned-in opaque logo box (a quarter of the frame) in a corner."""
    return _variant(
        source_clip, dup_dir / "logo.mp4", "-vf",
        "drawbox=x=iw*0.6:y=ih*0.6:w=iw*0.35:h=ih*0.35:color=white@1:t=fill", *X264,
    )  # fmt: skip


@pytest.fixture(scope="session")
def unrelated(dup_dir: Path) -> dict[str, Path]:
    out = {}
    for name, src in UNRELATED.items():
        path = dup_dir / f"{name}.mp4"
        ffmpeg("-f", "lavfi", "-i", src, "-t", "12", *X264, str(path))
        out[name] = path
    return out
