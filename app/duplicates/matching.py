"""The clip-to-clip match rule (vPDQ), pure: no database, no index.

Each clip is a bag of unique PDQ frame hashes; frames of quality below the threshold (50)
are left out. A query frame matches a compared frame at Hamming distance <= 31. For a pair:

- **query-match %**: the share of the query's unique hashes with a match in the other clip;
- **compared-match %**: the share of the other clip's unique hashes with a match in the
  query;
- the matched time ranges in both clips (matched frames less than ``gap`` seconds apart
  join one range).

Mirrored and rotated copies: the query's frames come with their eight dihedral variants
(app/video/pdq.py); the rule is evaluated once per variant, the same variant for every
frame of the clip, and the best one is kept (a whole clip is mirrored, not single frames).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from app.video.pdq import DIHEDRAL_NAMES, HASH_BYTES, MATCH_DISTANCE

MIN_QUALITY = 50
RANGE_GAP_SECONDS = 2.5

U64 = NDArray[np.uint64]


def to_words(hashes: Sequence[bytes]) -> U64:
    """32-byte hashes as an (n, 4) array of uint64 (the layout xor + popcount wants)."""
    if not hashes:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = np.frombuffer(b"".join(hashes), dtype=">u8").reshape(-1, HASH_BYTES // 8)
    return raw.astype(np.uint64)


def distances(a: U64, b: U64) -> NDArray[np.int64]:
    """All pairwise Hamming distances, (len(a), len(b))."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.int64)
    x = np.bitwise_xor(a[:, None, :], b[None, :, :])
    return np.bitwise_count(x).sum(axis=2, dtype=np.int64)


@dataclass(frozen=True)
class ClipFrames:
    """One clip's usable frames: unique hashes, and every timestamp each appears at."""

    hashes: list[bytes]
    times: list[list[float]]
    variants: list[list[bytes]] = field(default_factory=list)  # per hash, 8 (query only)

    @classmethod
    def build(
        cls,
        frames: Sequence[tuple[float, bytes, int]],
        variants: Sequence[Sequence[bytes]] | None = None,
        *,
        min_quality: int = MIN_QUALITY,
    ) -> ClipFrames:
        """From ``(timestamp, hash, quality)`` rows (and, for a query, each row's eight
        dihedral hashes, the first being the hash itself)."""
        order: dict[bytes, int] = {}
        times: list[list[float]] = []
        var: list[list[bytes]] = []
        for n, (ts, h, quality) in enumerate(frames):
            if quality < min_quality:
                continue
            if h not in order:
                order[h] = len(order)
                times.append([])
                var.append(list(variants[n]) if variants is not None else [h])
            times[order[h]].append(ts)
        return cls(list(order), times, var)


@dataclass(frozen=True)
class PairMatch:
    query_pct: float
    compared_pct: float
    query_ranges: list[tuple[float, float]]
    compared_ranges: list[tuple[float, float]]
    orientation: str = "original"

    def is_candidate(self, *, query_pct: float, compared_pct: float) -> bool:
        return self.query_pct >= query_pct or self.compared_pct >= compared_pct


def ranges(times: Sequence[float], gap: float = RANGE_GAP_SECONDS) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for t in sorted(times):
        if out and t - out[-1][1] <= gap:
            out[-1] = (out[-1][0], t)
        else:
            out.append((t, t))
    return out


def match_pair(
    query: ClipFrames, compared: ClipFrames, *, threshold: int = MATCH_DISTANCE
) -> PairMatch:
    """The vPDQ rule for one pair, best dihedral variant of the query."""
    empty = PairMatch(0.0, 0.0, [], [])
    if not query.hashes or not compared.hashes:
        return empty
    other = to_words(compared.hashes)
    best = empty
    n_variants = min(len(v) for v in query.variants) if query.variants else 1
    for k in range(n_variants):
        mine = to_words([v[k] for v in query.variants])
        close = distances(mine, other) <= threshold
        q_hit = close.any(axis=1)
        c_hit = close.any(axis=0)
        result = PairMatch(
            100.0 * float(q_hit.mean()),
            100.0 * float(c_hit.mean()),
            ranges([t for i in np.flatnonzero(q_hit) for t in query.times[i]]),
            ranges([t for i in np.flatnonzero(c_hit) for t in compared.times[i]]),
            DIHEDRAL_NAMES[k],
        )
        if max(result.query_pct, result.compared_pct) > max(best.query_pct, best.compared_pct):
            best = result
    return best
