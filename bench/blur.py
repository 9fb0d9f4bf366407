"""Face blurring cost per minute of 1080p (issue 16 §2), against a plain re-encode.

A generated 1080p25 clip (default 20 s): the astronaut from scikit-image (400 px) moving
across testsrc2, with a cut to smptebars half-way, AAC audio. Times, on one run each:

- **plain**: ``make_playback_copy`` (the unblurred public copy; a stream copy here);
- **reencode**: decode to raw RGB and encode again with the same x264 options, no
  detection (the floor of any per-frame filter);
- **blurred**: ``make_blurred_video`` (plain copy + decode, CenterFace on every Nth frame
  and around cuts, blur, x264, the final metadata pass), with the default settings.

Reports seconds per minute of video for each (wall and CPU of the children and this
process), the detector calls, and blurred ÷ reencode. Run it under the machine's heavy
lock: ``flock /tmp/heavy.lock .venv/bin/python bench/blur.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402

from app.public.faceblur import make_blurred_video, options  # noqa: E402
from app.public.playback import make_playback_copy  # noqa: E402
from app.video.blur import blur_video  # noqa: E402


def make_clip(folder: Path, seconds: int) -> Path:
    face = folder / "face.png"
    Image.fromarray(data.astronaut()).resize((400, 400)).save(face)
    out = folder / "clip1080.mp4"
    half = seconds / 2
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=25:d={half}",
         "-f", "lavfi", "-i", f"smptebars=s=1920x1080:r=25:d={half}",
         "-loop", "1", "-framerate", "25", "-i", str(face),
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-filter_complex",
         f"[2:v]split[f1][f2];[0:v][f1]overlay=x='100+t*{1300 / half}':y=200:shortest=1[a];"
         f"[1:v][f2]overlay=x=1300:y='50+t*{500 / half}':shortest=1[b];[a][b]concat=n=2:v=1:a=0[v]",
         "-map", "[v]", "-map", "3:a", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out)],
        check=True,
    )  # fmt: skip
    return out


def cpu() -> float:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: object) -> tuple[float, float, object]:
    c0, t0 = cpu(), time.perf_counter()
    result = fn()  # type: ignore[operator]
    return time.perf_counter() - t0, cpu() - c0, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    print("load:", os.popen("uptime").read().strip())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = make_clip(folder, args.seconds)
        per_min = 60 / args.seconds
        plain = folder / "plain.mp4"
        w_plain, c_plain, _ = timed(lambda: make_playback_copy(clip, plain, timeout=3600))
        w_re, c_re, _ = timed(
            lambda: blur_video(
                plain, folder / "re.mp4", options=options(), detect=lambda f: [], timeout=3600
            )
        )
        w_bl, c_bl, _ = timed(
            lambda: make_blurred_video(clip, folder / "blurred.mp4", [], timeout=3600)
        )
        # detector calls on the real run (same cadence as the no-detect pass)
        probe_run = blur_video(
            plain, folder / "count.mp4", options=options(), detect=lambda f: [], timeout=3600
        )
    s = options()
    print(f"clip: {args.seconds} s of 1920x1080 at 25 fps; every_n={s.every_n}, margin={s.margin}")
    print(f"{'case':10} {'wall s/min':>11} {'cpu s/min':>10}")
    for name, w, c in (
        ("plain", w_plain, c_plain),
        ("reencode", w_re, c_re),
        ("blurred", w_bl, c_bl),
    ):
        print(f"{name:10} {w * per_min:11.1f} {c * per_min:10.1f}")
    print(f"detector calls: {probe_run.detections} for {probe_run.count} frames")
    print(f"blurred / reencode (wall): {w_bl / w_re:.2f}; blurred wall per minute of 1080p: "
          f"{w_bl * per_min / 60:.2f} min")  # fmt: skip


if __name__ == "__main__":
    main()
