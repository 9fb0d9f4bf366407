"""The vPDQ rule on generated media: re-encoded, cut, mirrored and re-timed copies match
the source both ways; clips of other lavfi sources do not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.duplicates.matching import ClipFrames, PairMatch, match_pair
from app.video.seconds import hash_seconds

pytestmark = [pytest.mark.nodb, pytest.mark.slow]
PCT = 80.0


def frames(path: Path) -> tuple[ClipFrames, ClipFrames]:
    """(as a query with dihedral variants, as stored)."""
    sampled = hash_seconds(path, timeout=60)
    rows = [(f.timestamp, f.pdq.hash, f.pdq.quality) for f in sampled]
    return ClipFrames.build(rows, [f.pdq.dihedral() for f in sampled]), ClipFrames.build(rows)


def both_ways(a: Path, b: Path) -> tuple[PairMatch, PairMatch]:
    qa, sa = frames(a)
    qb, sb = frames(b)
    return match_pair(qa, sb), match_pair(qb, sa)


def is_candidate(m: PairMatch) -> bool:
    return m.is_candidate(query_pct=PCT, compared_pct=PCT)


def test_variants_match_the_source_both_ways(source_clip: Path, variants: dict[str, Path]) -> None:
    for name, path in variants.items():
        forward, backward = both_ways(path, source_clip)
        assert is_candidate(forward) and is_candidate(backward), (name, forward, backward)
    sub, _ = both_ways(variants["subclip_10s"], source_clip)
    assert sub.query_pct >= 90 and 35 <= sub.compared_pct <= 65  # half of the source
    assert sub.compared_ranges and sub.compared_ranges[0][0] >= 4.0  # it starts near 5 s
    flip, _ = both_ways(variants["hflip"], source_clip)
    assert flip.orientation == "flip_y"  # PDQ's name for a left-right mirror image


def test_unrelated_clips_do_not_match(
    source_clip: Path, variants: dict[str, Path], unrelated: dict[str, Path]
) -> None:
    pairs = 0
    for clip in [source_clip, *variants.values()]:
        for name, other in unrelated.items():
            forward, backward = both_ways(clip, other)
            assert not is_candidate(forward) and not is_candidate(backward), (name, forward)
            pairs += 1
    assert pairs >= 20


def test_logo_box_is_recorded(
    source_clip: Path, logo_copy: Path, record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recorded, not required: an opaque box over a quarter of the frame (README says what
    happens). The figures go to the JUnit report (record_property) and to the terminal."""
    forward, backward = both_ways(logo_copy, source_clip)
    figures = {
        "logo_query_pct": round(forward.query_pct, 1),
        "logo_compared_pct": round(forward.compared_pct, 1),
        "source_query_pct": round(backward.query_pct, 1),
        "source_compared_pct": round(backward.compared_pct, 1),
    }
    for k, v in figures.items():
        record_property(k, v)
    with capsys.disabled():
        print(f"\nlogo box copy vs source: {figures}")
    assert all(0.0 <= v <= 100.0 for v in figures.values())
    if forward.orientation == backward.orientation == "original":  # the rule is symmetric
        assert forward.query_pct == backward.compared_pct
        assert forward.compared_pct == backward.query_pct
