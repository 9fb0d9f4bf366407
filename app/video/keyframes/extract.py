"""The public entry point, :func:`extract_keyframes`: the scan, cuts, selection and render,
put together."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

from app.storage import derivatives
from app.video.errors import VideoError
from app.video.keyframes import capture as capture_mod
from app.video.keyframes import render
from app.video.keyframes.cuts import CUT_WINDOW, cut_frames, new_cuts
from app.video.keyframes.frames import Deadline, Keyframe, place, publish, stale_outputs
from app.video.keyframes.render import Seeker, render_all
from app.video.keyframes.scan import Online, run_scan
from app.video.keyframes.selection import Pick, coverage, thin
from app.video.keyframes.showinfo import Showinfo
from app.video.keyframes.similarity import Thumb
from app.video.probe import DEMUXERS, probe


def extract_keyframes(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    min_interval: float = 30.0,
    phash_threshold: int = 10,
    diff_threshold: float = 40.0,
    max_count: int = 60,
    max_size: int = 1280,
    timeout: float = 600,
    probe_info: dict[str, Any] | None = None,
    progress: Callable[[float], None] | None = None,
    capture: bool = True,
    cuts: bool = True,
) -> list[Keyframe]:
    """Extract deduplicated keyframes of ``path`` into ``out_dir`` as ``kf_0000.jpg`` ...

    ``phash_threshold`` < 0 and ``diff_threshold`` < 0 turn each dedup test off (both off:
    every keyframe is kept). ``min_interval`` <= 0 turns coverage off. ``capture=False``
    decodes every chosen frame again by seeking instead of taking any from the scan (the
    same frames; slower on long GOPs). ``cuts=False`` skips looking for cuts the encoder
    gave no keyframe (module docstring, 4). Raises :class:`VideoError` on failure or when
    ``timeout`` seconds (total) pass; ffmpeg is killed then.
    """
    deadline = Deadline(timeout)
    src = Path(path).resolve()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = probe_info or probe(src, timeout=min(30.0, deadline.left()))
    container = next((k for k, v in DEMUXERS.items() if v in info["container"].split(",")), None)
    if container is None:
        raise VideoError(f"unsupported container {info['container']!r}")
    demuxer = DEMUXERS[container]
    duration = float(info["duration"] or 0.0)
    start = info["start_time"] if "start_time" in info else probe(src)["start_time"]
    origin = Fraction(start or 0)  # times count from the file's start, as players do
    report = progress or (lambda _fraction: None)
    report(0.0)
    work = Path(tempfile.mkdtemp(prefix=".kf-", dir=out))
    # JPEG encoding, fsync and hashing release the GIL; so do the ffmpeg runs waited on
    pool = ThreadPoolExecutor(render.RENDER_PROCESSES, thread_name_prefix="kf-publish")
    raw = capture_mod.raw_format(info) if capture else None
    converter = capture_mod.Converter(raw, work, max_size, deadline, pool) if raw else None
    seeker = Seeker(src, demuxer, work, max_size, deadline, pool, origin)
    cut_pool = ThreadPoolExecutor(1, thread_name_prefix="kf-cuts")
    cut_job: list[Future[list[tuple[Fraction, Path, Thumb]]]] = []

    def long_gop() -> None:  # from the scan's stderr reader, once
        cut_job.append(cut_pool.submit(cut_frames, src, demuxer, work, max_size, deadline, origin))

    try:
        online = Online(
            Showinfo(origin, gap=Fraction(CUT_WINDOW), on_gap=long_gop if cuts else None),
            Fraction(min_interval) if min_interval > 0 else None,
            converter.put if converter else None,
            seeker.put,
            in_flight=2 * render.RENDER_PROCESSES,
        )
        scan = run_scan(
            src,
            demuxer,
            deadline,
            phash_threshold=phash_threshold,
            diff_threshold=diff_threshold,
            duration=duration,
            report=lambda f: report(0.6 * f),
            online=online,
            raw=raw,
            origin=origin,
        )
        if cuts and not cut_job and duration - float(max(scan.times)) > CUT_WINDOW:
            long_gop()  # one long GOP at the end (or the only one)
        found = cut_job[0].result() if cut_job else []
        cut_images = dict(new_cuts(scan, found, phash_threshold, diff_threshold))
        picks = coverage(scan, duration, min_interval)
        picks += [Pick(at, "cut", False) for at in cut_images]
        picks = thin(sorted(picks, key=lambda p: p.at), max_count)
        aligned = online.finish(Fraction(duration))
        for worker in (converter, seeker):
            if worker is not None:
                worker.close()
        report(0.6)
        wanted = {p.index for p in picks if p.on_keyframe} if aligned else set()
        finished: dict[int, Keyframe] = {}
        for n, future in online.done.items():
            if n in wanted:
                with contextlib.suppress(VideoError):  # if so, decoded again below
                    finished[n] = future.result()
        rest = [
            p for p in picks if not (p.on_keyframe and p.index in finished) and p.source != "cut"
        ]
        rendered = iter(
            render_all(src, demuxer, rest, work, max_size, deadline, origin=origin) if rest else []
        )
        report(0.8)
        chosen: list[tuple[Fraction, Path | Keyframe, str]] = []
        for pick in picks:
            got: tuple[Fraction, Path | Keyframe] | None
            if pick.on_keyframe and pick.index in finished:
                done = finished[pick.index]
                got = (Fraction(done.timestamp), done)
            elif pick.source == "cut":
                got = (pick.at, cut_images[pick.at])
            else:
                got = next(rendered)
            if got is None:
                if not chosen and pick.source == "keyframe":
                    raise VideoError(f"ffmpeg could not decode the frame at {float(pick.at):g} s")
                continue  # a coverage frame past the last decodable one
            at, image = got
            if chosen and at <= chosen[-1][0]:
                continue  # a seek landed on a frame already taken
            chosen.append((at, image, pick.source))
        futures = [
            pool.submit(place, image, out / derivatives.keyframe(i), source)
            if isinstance(image, Keyframe)
            else pool.submit(publish, at, image, out / derivatives.keyframe(i), source)
            for i, (at, image, source) in enumerate(chosen)
        ]
        result = []
        for i, future in enumerate(futures):
            result.append(future.result())
            report(0.8 + 0.2 * (i + 1) / len(chosen))
        for stale in stale_outputs(out, len(result)):
            stale.unlink(missing_ok=True)
        report(1.0)
        return result
    finally:
        for worker in (converter, seeker):
            if worker is not None:
                worker.close()
        cut_pool.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(work, ignore_errors=True)
