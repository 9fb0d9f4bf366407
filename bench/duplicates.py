"""Near-duplicate index benchmark (issue 15 §6; DESIGN.md §6).

Stores N frame hashes clustered like video (default 10,000 clips x 100 frames: each clip a
random walk, every frame a few bits from the one before) in the app's own index
(app/duplicates/index.py FrameIndex, faiss IndexBinaryFlat and IndexBinaryMultiHash), and
measures in the same run:

  query  - range search at radius 31, time per query frame (1,000 planted queries: stored
           frames with 0-31 bits flipped, plus a few at 32-40), against numpy brute force
           in its best layout (the hashes as an (n, 4) uint64 array; xor, popcount, sum)
           target: index <= 0.2 x brute force
  recall - the index's hits against brute force's over the same queries; target 1.0 (and
           nothing beyond 31)
  clip   - a 10-minute query clip end to end: 600 frames x 8 dihedral variants searched,
           then the vPDQ pair rule against every clip hit
  build  - index build time; memory per hash (the index's own count, and RSS growth)
  pg     - the PostgreSQL fallback (bit_count on bit(256), app/duplicates/index.py
           search_database) for the same query frames, per frame

    .venv/bin/python bench/duplicates.py [--clips N] [--frames N] [--quick] [--no-pg]

--quick: 1,000 clips x 100 frames, 200 queries (a minute).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    MACHINE_NOTE,
    drop_postgres_db,
    postgres_reachable,
    recreate_postgres_db,
    verdict,
)

from app.duplicates.index import FrameIndex, search_database  # noqa: E402
from app.duplicates.matching import ClipFrames, match_pair, to_words  # noqa: E402

SEED = 20261202
RADIUS = 31
PG_DB = "bench_duplicates"


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def clustered(clips: int, frames: int, rng: np.random.Generator) -> np.ndarray:
    """(clips * frames, 256) bits: each clip a random walk of 1-6 flipped bits a frame."""
    bits = np.empty((clips, frames, 256), dtype=np.uint8)
    bits[:, 0] = rng.integers(0, 2, (clips, 256), dtype=np.uint8)
    for f in range(1, frames):
        step = np.zeros((clips, 256), dtype=np.uint8)
        k = rng.integers(1, 7, clips)
        for c in np.flatnonzero(k):
            step[c, rng.choice(256, size=int(k[c]), replace=False)] = 1
        bits[:, f] = bits[:, f - 1] ^ step
    return bits.reshape(clips * frames, 256)


def planted(bits: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Queries: stored frames with 0-31 bits flipped (one in ten at 32-40)."""
    picks = rng.integers(0, len(bits), n)
    out = bits[picks].copy()
    for i in range(n):
        k = int(rng.integers(0, 32)) if i % 10 else int(rng.integers(32, 41))
        out[i, rng.choice(256, size=k, replace=False)] ^= 1
    return out


def pack(bits: np.ndarray) -> list[bytes]:
    packed = np.packbits(bits, axis=1)
    return [row.tobytes() for row in packed]


def brute(words: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Positions within RADIUS of one query: xor + popcount on uint64 columns."""
    d = np.bitwise_count(np.bitwise_xor(words, q)).sum(axis=1, dtype=np.uint16)
    return np.flatnonzero(d <= RADIUS)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=10_000)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--pg-queries", type=int, default=5)
    args = ap.parse_args()
    if args.quick:
        args.clips, args.queries = 1_000, 200
    rng = np.random.default_rng(SEED)
    n = args.clips * args.frames
    print(f"duplicates bench: {args.clips} clips x {args.frames} frames = {n:,} hashes; "
          f"{args.queries} planted queries; {MACHINE_NOTE}")  # fmt: skip
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    t0 = time.perf_counter()
    bits = clustered(args.clips, args.frames, rng)
    hashes = pack(bits)
    queries_bits = planted(bits, args.queries, rng)
    queries = pack(queries_bits)
    print(f"generated in {time.perf_counter() - t0:.1f} s")
    rows = [(i + 1, i // args.frames + 1, float(i % args.frames), h) for i, h in enumerate(hashes)]

    words = to_words(hashes)
    qwords = to_words(queries)
    t0 = time.perf_counter()
    want = [set((brute(words, qwords[i]) + 1).tolist()) for i in range(len(queries))]
    brute_s = (time.perf_counter() - t0) / len(queries)
    print(f"brute force (numpy, (n,4) uint64 xor+popcount): {brute_s * 1e3:.2f} ms/frame")

    ok = True
    results = {}
    for kind, mih_above in (("flat", 10**12), ("mih", 0)):
        before = rss_bytes()
        idx = FrameIndex(mih_above=mih_above)
        t0 = time.perf_counter()
        idx._add(rows)
        idx.ready = True
        build_s = time.perf_counter() - t0
        grown = rss_bytes() - before
        t0 = time.perf_counter()
        hits = idx.search(queries, radius=RADIUS)
        query_s = (time.perf_counter() - t0) / len(queries)
        got: list[set[int]] = [set() for _ in queries]
        for h in hits:
            got[h.query].add(h.frame_id)
        recall_ok = got == want
        found = sum(len(w) for w in want)
        ratio = query_s / brute_s
        target = ratio <= 0.2 and recall_ok
        ok = ok and (target or kind == "flat")
        results[kind] = idx
        print(
            f"[{kind}] build {build_s:.2f} s; memory {idx.memory_bytes() / len(idx):.1f} B/hash "
            f"(index count), RSS +{grown / len(idx):.1f} B/hash; query {query_s * 1e3:.3f} "
            f"ms/frame = {ratio:.3f} x brute force (target <= 0.2: {verdict(ratio <= 0.2)}); "
            f"recall {'1.0' if recall_ok else 'BELOW 1.0'} over {found} true hits "
            f"({verdict(recall_ok)})"
        )

    # a 10-minute query clip: 600 frames (1/s) drifting through 6 stored clips' footage,
    # each with its 8 dihedral hashes (7 random stand-ins: no DCT here), end to end
    idx = results["mih"]
    frames_bits = planted(bits[: 6 * args.frames], 600, rng)
    q_hashes = pack(frames_bits)
    stand_ins = pack(rng.integers(0, 2, (600 * 7, 256), dtype=np.uint8))
    variants = [[q_hashes[i], *stand_ins[7 * i : 7 * i + 7]] for i in range(600)]
    query = ClipFrames.build([(float(i), q_hashes[i], 100) for i in range(600)], variants)
    t0 = time.perf_counter()
    flat = [h for v in query.variants for h in v]
    hits = idx.search(flat, radius=RADIUS)
    others = sorted({h.clip_id for h in hits})
    by_clip = {
        c: [hashes[i] for i in range((c - 1) * args.frames, c * args.frames)] for c in others
    }
    matches = [
        match_pair(query, ClipFrames.build([(float(t), h, 100) for t, h in enumerate(hs)]))
        for hs in by_clip.values()
    ]
    clip_s = time.perf_counter() - t0
    print(
        f"10-minute query clip: {len(flat)} hashes searched, {len(others)} clips hit, "
        f"{sum(m.compared_pct >= 80 for m in matches)} candidates; {clip_s:.2f} s end to end"
    )

    if args.no_pg:
        print("PostgreSQL fallback: skipped (--no-pg)")
    elif (why := postgres_reachable()) is not None:
        print(f"PostgreSQL fallback: skipped ({why})")
    else:
        pg_fallback(hashes, args.frames, queries[: args.pg_queries], want, brute_s)
    print(f"overall: {verdict(ok)}")
    return 0 if ok else 1


def pg_fallback(
    hashes: list[bytes], frames: int, queries: list[bytes], want: list[set[int]], brute_s: float
) -> None:
    import psycopg
    from _common import driver_url  # noqa: PLC0415
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    url = recreate_postgres_db(PG_DB)
    try:
        with psycopg.connect(driver_url(url), autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE frame_hash (id bigint PRIMARY KEY, clip_id bigint NOT NULL, "
                "timestamp double precision NOT NULL, pdq bytea NOT NULL, quality int NOT NULL)"
            )
            t0 = time.perf_counter()
            with conn.cursor().copy(
                "COPY frame_hash (id, clip_id, timestamp, pdq, quality) FROM STDIN"
            ) as cp:
                for i, h in enumerate(hashes):
                    cp.write_row((i + 1, i // frames + 1, float(i % frames), h, 100))
            conn.execute("ANALYZE frame_hash")
            print(f"PostgreSQL: {len(hashes):,} rows loaded in {time.perf_counter() - t0:.1f} s")
        engine = create_engine(url)
        with Session(engine) as session:
            t0 = time.perf_counter()
            hits = search_database(session, queries, radius=RADIUS)
            per = (time.perf_counter() - t0) / len(queries)
        engine.dispose()
        got: list[set[int]] = [set() for _ in queries]
        for h in hits:
            got[h.query].add(h.frame_id)
        same = got == want[: len(queries)]
        print(
            f"PostgreSQL fallback (bit_count on bit(256)): {per * 1e3:.0f} ms/frame over "
            f"{len(queries)} frames = {per / brute_s:.1f} x numpy brute force; same hits as "
            f"brute force: {verdict(same)}"
        )
    finally:
        drop_postgres_db(PG_DB)


if __name__ == "__main__":
    sys.exit(main())
