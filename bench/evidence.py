"""Evidence benchmarks (issue 14 §5), each measured against a reference in the same run.

    .venv/bin/python bench/evidence.py            # 1 GiB of fixity files, a 1 GiB clip, 1M events
    .venv/bin/python bench/evidence.py --quick    # 128 MiB, 128 MiB, 100,000 events
    .venv/bin/python bench/evidence.py --only export --rounds 6   # one part, more rounds

1. **Fixity** ÷ `sha256sum`: `app.storage.fixity.check_file` over the same files as
   `sha256sum`, both read cold (each file's pages dropped with posix_fadvise DONTNEED, or
   `echo 3 > /proc/sys/vm/drop_caches` when run as root). Throughput ratio, target >= 0.9.
2. **Bag export** ÷ `tar`: `app.evidence.package.write_tar` of a bag holding one clip
   (the original plus a few small derivatives; the original's SHA-256 and SHA-512 are the
   stored ones, as after its first fixity read, so it is copied in the kernel; the
   derivatives are hashed) ÷ `tar cf` of the same files followed by `sync` of the tar
   (write_tar fsyncs too); both cold. Target >= 0.8. The export runs in its own Python process;
   its RSS growth (peak - before the export) is reported, target <= 64 MB.
3. **Merkle log at N events** (`app.custody.merkle.MemoryTree`, the same functions the
   database tree calls): append µs/event, inclusion proof (build + verify) and
   consistency proof (build + verify) times, against a full rebuild of the root from the
   N leaves (`merkle.root_of`), which is what a log without a stored frontier would pay.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.custody import merkle  # noqa: E402
from app.storage.fixity import check_file  # noqa: E402
from bench._common import MACHINE_NOTE, verdict  # noqa: E402

MiB = 1024 * 1024


DROP_ALL = False  # --drop-caches: the whole page cache (root), else each file's pages


def drop_cache(*paths: Path) -> str:
    if DROP_ALL and os.geteuid() == 0:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return "drop_caches"
    for p in paths:
        with open(p, "rb") as fh:
            os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return "fadvise"


def make_file(path: Path, size: int, seed: int, algorithm: str = "sha256") -> str:
    rng = random.Random(seed)
    h = hashlib.new(algorithm)
    block = rng.randbytes(MiB)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            chunk = block[: min(MiB, left)]
            chunk = hashlib.sha256(chunk[:64] + left.to_bytes(8, "big")).digest() + chunk[32:]
            fh.write(chunk)
            h.update(chunk)
            left -= len(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    return h.hexdigest()


def bench_fixity(work: Path, total: int, rounds: int) -> float:
    files = []
    for i in range(8):
        p = work / f"orig{i}.bin"
        files.append((p, make_file(p, total // 8, i), total // 8))
    ours, ref = [], []
    how = ""

    def run_ref() -> None:
        t = time.perf_counter()
        subprocess.run(["sha256sum", *(str(f[0]) for f in files)], check=True, capture_output=True)
        ref.append(time.perf_counter() - t)

    def run_ours() -> None:
        t = time.perf_counter()
        for p, sha, size in files:
            assert check_file(p, sha, size).status == "ok"
        ours.append(time.perf_counter() - t)

    for r in range(rounds):  # the order alternates, so neither always reads first
        for run in (run_ref, run_ours) if r % 2 == 0 else (run_ours, run_ref):
            how = drop_cache(*(f[0] for f in files))
            run()
    o, r = min(ours), min(ref)
    ratio = r / o
    print(f"fixity: {total / MiB:.0f} MiB in 8 files, cold ({how}), best of {rounds}")
    print(f"  ours {total / MiB / o:.0f} MB/s, sha256sum {total / MiB / r:.0f} MB/s")
    print(f"  throughput ratio {ratio:.2f} (target >= 0.9) {verdict(ratio >= 0.9)}")
    return ratio


EXPORT_CHILD = """
import os, resource, sys, json
from pathlib import Path
sys.path.insert(0, {root!r})
from app.evidence.package import BagPlan, PayloadFile, write_tar
import psutil
spec = json.loads(sys.argv[1])
payload = [PayloadFile(n, Path(p), s, a, b) for n, p, s, a, b in spec["payload"]]
plan = BagPlan("IRN000001", [("Source-Organization", "bench"), ("External-Identifier",
    "IRN000001"), ("Bagging-Date", "2026-12-02")], payload, {{"custody/events.jsonl": b"{{}}\\n"}})
before = psutil.Process().memory_info().rss
import time
t = time.perf_counter()
write_tar([plan], Path(spec["out"]))
took = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": took, "rss_growth": peak - before}}))
"""


def bench_export(work: Path, size: int, rounds: int) -> tuple[float, float]:
    import json

    clip = work / "clip.mp4"
    sha = make_file(clip, size, 99)
    # stored at its first fixity read; the same bytes again (seeded), never held in memory:
    # the child's ru_maxrss starts from this process's peak (fork copies it)
    sha512 = make_file(work / "again.mp4", size, 99, "sha512")
    (work / "again.mp4").unlink()
    small = []
    for i in range(6):
        p = work / f"kf_{i:04d}.jpg"
        p.write_bytes(random.Random(i).randbytes(40_000))
        small.append(p)
    spec = {
        "payload": [["data/original/IRN000001.mp4", str(clip), size, sha, sha512]]
        + [[f"data/derivatives/{p.name}", str(p), p.stat().st_size, None, None] for p in small],
        "out": str(work / "bag.tar"),
    }
    child = EXPORT_CHILD.format(root=str(ROOT))
    ours, ref, growth = [], [], 0.0
    for _ in range(rounds):
        drop_cache(clip, *small)
        t = time.perf_counter()
        subprocess.run(
            ["sh", "-c", 'tar cf "$0" -C "$1" clip.mp4 kf_0000.jpg kf_0001.jpg kf_0002.jpg '
             'kf_0003.jpg kf_0004.jpg kf_0005.jpg && sync "$0"', str(work / "ref.tar"), str(work)],
            check=True,
        )  # fmt: skip
        ref.append(time.perf_counter() - t)
        (work / "ref.tar").unlink()
        drop_cache(clip, *small)
        out = subprocess.run(
            [sys.executable, "-c", child, json.dumps(spec)], check=True, capture_output=True
        )
        result = json.loads(out.stdout)
        ours.append(result["seconds"])
        growth = max(growth, result["rss_growth"] / MiB)
        (work / "bag.tar").unlink()
    o, r = min(ours), min(ref)
    ratio = r / o
    print(f"bag export: a {size / MiB:.0f} MiB clip + 6 keyframes, cold, best of {rounds}")
    print(f"  write_tar {size / MiB / o:.0f} MB/s, tar+sync {size / MiB / r:.0f} MB/s")
    print(f"  throughput ratio {ratio:.2f} (target >= 0.8) {verdict(ratio >= 0.8)}")
    print(f"  RSS growth of the exporting process {growth:.1f} MB (target <= 64) "
          f"{verdict(growth <= 64)}")  # fmt: skip
    return ratio, growth


def bench_merkle(n: int) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(n)]
    tree = merkle.MemoryTree()
    t = time.perf_counter()
    for leaf in leaves:
        tree.append(leaf)
    append_us = (time.perf_counter() - t) / n * 1e6
    root = tree.root()
    rng = random.Random(7)
    samples = 200
    t = time.perf_counter()
    for _ in range(samples):
        i = rng.randrange(n)
        proof = tree.inclusion_proof(i)
        assert merkle.verify_inclusion(leaves[i], i, n, proof, root)
    incl_ms = (time.perf_counter() - t) / samples * 1e3
    t = time.perf_counter()
    for _ in range(samples):
        m = rng.randrange(1, n)
        proof = tree.consistency_proof(m)
        assert merkle.verify_consistency(m, n, proof, tree.root(m), root)
    cons_ms = (time.perf_counter() - t) / samples * 1e3
    t = time.perf_counter()
    assert merkle.root_of(leaves) == root
    rebuild_ms = (time.perf_counter() - t) * 1e3
    print(f"merkle log at {n:,} events (in memory, the functions the database tree uses)")
    print(f"  append {append_us:.1f} µs/event")
    print(f"  inclusion proof + verify {incl_ms:.3f} ms (target < 5) {verdict(incl_ms < 5)}")
    print(f"  consistency proof + verify (incl. the old root) {cons_ms:.3f} ms")
    print(f"  full rebuild of the root {rebuild_ms:.0f} ms "
          f"= {rebuild_ms / max(cons_ms, 1e-9):,.0f}x a consistency proof")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument(
        "--only", choices=("fixity", "export", "merkle"), action="append", help="repeatable"
    )
    ap.add_argument("--drop-caches", action="store_true", help="as root: drop the whole page cache")
    args = ap.parse_args()
    global DROP_ALL
    DROP_ALL = args.drop_caches
    size = 128 * MiB if args.quick else 1024 * MiB
    events = 100_000 if args.quick else 1_000_000
    print(MACHINE_NOTE, f"; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-evidence-", dir=ROOT / "var") as tmp:
        work = Path(tmp)
        if not args.only or "fixity" in args.only:
            bench_fixity(work, size, args.rounds)
            for p in work.glob("orig*.bin"):
                p.unlink()
        if not args.only or "export" in args.only:
            bench_export(work, size, args.rounds)
    if not args.only or "merkle" in args.only:
        bench_merkle(events)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
