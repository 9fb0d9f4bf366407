"""Selection: the kept keyframes plus coverage where they are too far apart, thinned to the
most allowed (package docstring, 3)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from app.video.keyframes.scan import Scan


@dataclass
class Pick:
    at: Fraction  # seconds on the scan's timeline
    source: str  # "keyframe" | "coverage" | "cut"
    on_keyframe: bool  # seek straight to this keyframe (else: decode up to ``at``)
    index: int | None = None  # the keyframe's index in the scan


def coverage(scan: Scan, duration: float, min_interval: float) -> list[Pick]:
    """Kept keyframes plus enough extra frames that no gap exceeds ``min_interval``."""
    picks = [Pick(scan.times[i], "keyframe", True, i) for i in scan.kept]
    if min_interval <= 0:
        return picks
    step = Fraction(min_interval)
    end = Fraction(duration)
    out: list[Pick] = []
    spare = sorted(set(range(len(scan.times))) - set(scan.kept), key=lambda i: scan.times[i])
    bounds = [*picks, Pick(max(end, picks[-1].at), "end", False)]
    for here, nxt in zip(bounds, bounds[1:], strict=False):
        out.append(here)
        at = here.at
        while nxt.at - at > step:
            inside = [i for i in spare if at < scan.times[i] <= at + step]
            if inside:  # a keyframe the dedup dropped covers the gap: no seek needed
                taken = max(inside, key=lambda i: scan.times[i])
                at = scan.times[taken]
                out.append(Pick(at, "coverage", True, taken))
            else:  # a long GOP: decode a frame here (the rest of the gap evenly split)
                gap = nxt.at - at
                at = at + gap / -(-gap // step)
                out.append(Pick(at, "coverage", False))
    return out


def thin(items: list[Pick], max_count: int) -> list[Pick]:
    if len(items) <= max_count:
        return items
    if max_count <= 1:
        return items[:1]
    picks = sorted({round(i * (len(items) - 1) / (max_count - 1)) for i in range(max_count)})
    return [items[i] for i in picks]
