"""Full-text search benchmark (issue 16 §6; DESIGN.md §6).

Seeds N clips (default 100,000) with bench/catalogue.py's generator into SQLite and
PostgreSQL (the search documents are built by the migration-1060 triggers as rows arrive),
serves the real app with uvicorn, and times through HTTP:
  team    - GET /api/v1/clips?q=protest+shir&limit=50 (every state; two words, the last a prefix)
  public  - GET /api/v1/published?q=protest+shir&limit=50 (published only)
  rare    - the team search for two rare words ("gunfire funeral tabr")
Each is compared, in the same run, with the same FTS statement the service runs (compiled
for the dialect) sent straight through the driver, plus the trivial endpoint (/healthz):
  ratio = API / (raw SQL + trivial endpoint)   target <= 1.5   (p50 and p95 each)

    .venv/bin/python bench/search.py [--rows N] [--db sqlite|postgres|both] [--requests N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import (
    MACHINE_NOTE,
    app_server,
    drop_postgres_db,
    p50_p95,
    postgres_reachable,
    recreate_postgres_db,
    verdict,
)
from catalogue import RATIO_TARGET, _compiled, raw_connection, seed_catalogue, set_database

PG_DB = "bench_search"
CASES = [
    ("team", "/api/v1/clips", "protest shir"),
    ("public", "/api/v1/published", "protest shir"),
    ("rare", "/api/v1/clips", "gunfire funeral tabr"),
]


def build_cases() -> list[tuple[str, str, dict[str, Any], str, Any]]:
    """(name, path, params, sql, args): the listing statement each request runs."""
    from app.clips import search
    from app.clips.repository import ClipFilter
    from app.clips.repository import listing as team_listing
    from app.db import get_engine
    from app.public.repository import PublicFilter
    from app.public.repository import listing as public_listing

    engine = get_engine()
    dialect = engine.dialect.name
    out = []
    for name, path, q in CASES:
        parsed = search.parse(q, dialect)
        assert parsed is not None
        if path == "/api/v1/clips":
            stmt = team_listing(ClipFilter(q=parsed.engine, dialect=dialect), 51)
        else:
            stmt = public_listing(PublicFilter(q=parsed.engine, dialect=dialect), 51)
        sql, args = _compiled(engine, *stmt)
        out.append((name, path, {"q": q, "limit": 50}, sql, args))
    return out


def measure(base: str, token: str, url: str, cases: list[Any], n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"healthz": []}
    for c in cases:
        times[c[0]], times["sql " + c[0]] = [], []
    conn = raw_connection(url)
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as cl:
        for name, path, params, sql, args in cases:  # the API and the raw SQL agree
            page = cl.get(path, params=params).raise_for_status().json()
            rows = conn.execute(sql, args).fetchall()
            assert [i["code"] for i in page["items"]] == [r[1] for r in rows[:50]], name
            print(f"  {name}: {params['q']!r} -> {len(rows)} rows on the first page")
        warmup = max(20, n // 10)
        for i in range(warmup + n):
            keep = i >= warmup
            t = time.perf_counter()
            cl.get("/healthz").raise_for_status()
            if keep:
                times["healthz"].append(time.perf_counter() - t)
            for name, path, params, sql, args in cases:
                t = time.perf_counter()
                cl.get(path, params=params).raise_for_status()
                t2 = time.perf_counter()
                conn.execute(sql, args).fetchall()
                t3 = time.perf_counter()
                if keep:
                    times[name].append(t2 - t)
                    times["sql " + name].append(t3 - t2)
    conn.close()
    return times


def report(db: str, times: dict[str, list[float]]) -> list[bool]:
    ms = {k: tuple(x * 1000 for x in p50_p95(v)) for k, v in times.items()}
    h50, h95 = ms["healthz"]
    print(f"\n  {db}: milliseconds over {len(times['healthz'])} requests each "
          f"(healthz p50 {h50:.2f}, p95 {h95:.2f})")  # fmt: skip
    print("  {:<8}{:>9}{:>9}{:>9}{:>9}{:>11}{:>11}".format(
        "case", "API p50", "API p95", "SQL p50", "SQL p95", "ratio p50", "ratio p95"))  # fmt: skip
    oks = []
    for name, _, _ in CASES:
        a50, a95 = ms[name]
        s50, s95 = ms["sql " + name]
        r50, r95 = a50 / (s50 + h50), a95 / (s95 + h95)
        oks += [r50 <= RATIO_TARGET, r95 <= RATIO_TARGET]
        ok50, ok95 = verdict(r50 <= RATIO_TARGET), verdict(r95 <= RATIO_TARGET)
        figures = f"{a50:>9.2f}{a95:>9.2f}{s50:>9.2f}{s95:>9.2f}{r50:>11.2f}{r95:>11.2f}"
        print(f"  {name:<8}{figures}  p50 {ok50}, p95 {ok95}")
    return oks


def run_one(db: str, rows: int, requests: int, tmp: Path) -> list[bool]:
    from app.db import reset_engine

    print(f"\n== {db}")
    url = f"sqlite:///{tmp / 'search.db'}" if db == "sqlite" else recreate_postgres_db(PG_DB)
    try:
        env = set_database(url, tmp)
        # thousands of requests from one address: the anonymous limit (60 a minute) would
        # answer 429; and every request must really search, so no in-process page cache
        env["ARCHIVE_PARTNER_ANONYMOUS_RATE_PER_MINUTE"] = "100000000"
        env["ARCHIVE_PUBLIC_RESPONSE_CACHE_MB"] = "0"
        t = time.perf_counter()
        _, token = seed_catalogue(rows)
        print(f"  seeded {rows:,} clips (search documents by trigger) in "
              f"{time.perf_counter() - t:.1f}s")  # fmt: skip
        cases = build_cases()
        reset_engine()
        with app_server(env, tmp / f"server-{db}.log") as base:
            times = measure(base, token, url, cases, requests)
        return report(db, times)
    finally:
        reset_engine()
        if db == "postgres":
            drop_postgres_db(PG_DB)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()
    print(MACHINE_NOTE)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    oks: list[bool] = []
    for db in dbs:
        why = postgres_reachable() if db == "postgres" else None
        if why is not None:  # None: it answers
            print(f"\n== postgres: not reachable ({why}), skipped")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            oks += run_one(db, args.rows, args.requests, Path(tmp))
    return 1 if args.strict and not all(oks) else 0


if __name__ == "__main__":
    sys.exit(main())
