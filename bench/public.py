"""Public site and partner API benchmark (issue 5 §5; DESIGN.md §6).

Seeds N *published* clips (default 100,000; Zipf over the seeded cities, dates over five
years) with SQLAlchemy Core bulk inserts, serves the real app with uvicorn, and reports in
one run:

  city page     GET /cities/<biggest city> (first page of cards), p50 and p95
  API list      GET /api/v1/published?city=<biggest>&limit=50 with a partner key, as a
                ratio to the same SQL sent straight through the driver plus the trivial
                endpoint (/healthz) on the same server            target p95 <= 1.5
  export        GET /api/v1/export.ndjson of the whole archive: clips/s, MB/s, and the
                server's peak RSS growth while streaming it        target < 100 MB

    .venv/bin/python bench/public.py [--rows N] [--db sqlite|postgres|both]
                                     [--requests N] [--strict]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import (
    MACHINE_NOTE,
    app_server,
    drop_postgres_db,
    p50_p95,
    postgres_reachable,
    recreate_postgres_db,
    server_pid,
    verdict,
)
from catalogue import (
    BIG_CITIES,
    _compiled,
    event_date,
    raw_connection,
    sentence,
    set_database,
)
from sqlalchemy import insert, select, text

PG_DB = "bench_public"
SEED = 20191116
RATIO_TARGET, RSS_TARGET_MB = 1.5, 100.0


def seed_published(rows: int) -> tuple[str, str]:
    """Migrate, seed places, a partner key, and ``rows`` published clips.

    Returns (biggest city, partner key)."""
    from app.clips.models import Clip, CodeSequence
    from app.config import get_settings
    from app.db import get_engine, session_scope
    from app.kit.dates import from_edtf
    from app.migrate import upgrade
    from app.partners import service as partners
    from app.places.models import Place
    from app.places.service import seed

    rng = random.Random(SEED)
    upgrade(get_settings().database_url)
    with session_scope() as session:
        seed(session)
        partner = partners.get_or_create_partner(session, "Bench")
        _, key = partners.create_key(
            session, partner, ["read", "export", "feed"], 10**9, actor="bench"
        )
        cities = {
            p.name_en: p.id for p in session.scalars(select(Place).where(Place.kind == "city"))
        }
    rest = sorted(set(cities) - set(BIG_CITIES))
    rng.shuffle(rest)
    ranked = [cities[n] for n in BIG_CITIES if n in cities] + [cities[n] for n in rest]
    weights = [1 / (rank + 1) for rank in range(len(ranked))]
    dates: dict[str, Any] = {}
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    engine = get_engine()
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for seq in range(1, rows + 1):
            edtf = event_date(rng)
            d = dates.get(edtf) or dates.setdefault(edtf, from_edtf(edtf))
            at = t0 + timedelta(minutes=seq * 20)
            batch.append({
                "code": f"IRN{seq:03d}", "country_code": "IRN", "seq": seq,
                "place_id": rng.choices(ranked, weights)[0],
                "date_edtf": d.edtf, "date_earliest": d.earliest, "date_latest": d.latest,
                "date_display_en": d.display_en, "date_display_fa": d.display_fa,
                "title_en": sentence(rng, rng.randint(3, 9)),
                "title_fa": "ویدیو از تجمع" if rng.random() < 0.5 else None,
                "description_en": sentence(rng, rng.randint(10, 40)), "description_fa": None,
                "graphic_violence": rng.random() < 0.1, "identifiable_people": rng.random() < 0.4,
                "tags": [], "status": "published", "source": "bench", "import_key": None,
                "created_by_id": None, "created_at": at, "updated_at": at, "published_at": at,
                "deleted_at": None, "version": 1,
            })  # fmt: skip
            if len(batch) == 10_000 or seq == rows:
                conn.execute(insert(Clip), batch)  # the change-log trigger fires too
                batch = []
        conn.execute(insert(CodeSequence), [{"country_code": "IRN", "last_seq": rows}])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return BIG_CITIES[0], key


def list_sql(city: str) -> list[tuple[str, Any]]:
    """The exact statements the partner list runs for ?city=<city>&limit=50: the listing,
    then the look-ups of the page's media and confirmed checklist items (app/public/sources;
    keyframes only where there is media, and the city's place ids come from a cache)."""
    from app.db import get_engine, session_scope
    from app.places.service import city_ids_for
    from app.public import repository, sources

    engine = get_engine()
    with session_scope() as session:
        ids = city_ids_for(session, city=city)
        f = repository.PublicFilter(place_ids=ids)
        stmt, params = repository.listing(f, 51)
        page = [r.id for r in session.execute(stmt, params).all()][:50]
        assert not sources.media(session, page), "the bench's clips have no media"
    statements = sources._statements()
    return [
        _compiled(engine, stmt, params),
        _compiled(engine, statements.media, {"ids": page}),
        _compiled(engine, statements.verification, {"ids": page}),
    ]


def measure_pages(base: str, key: str, url: str, city: str, n: int) -> dict[str, list[float]]:
    statements = list_sql(city)
    slug = city.lower().replace(" ", "-")
    times: dict[str, list[float]] = {"healthz": [], "city page": [], "api": [], "sql": []}
    conn = raw_connection(url)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=60) as client:
        page = client.get("/api/v1/published", params={"city": city, "limit": 50}, headers=headers)
        rows = conn.execute(*statements[0]).fetchall()
        assert [c["code"] for c in page.raise_for_status().json()["items"]] == [
            r[1] for r in rows[:50]
        ], "API and SQL disagree"
        client.get(f"/cities/{slug}").raise_for_status()
        warmup = max(20, n // 10)
        for i in range(warmup + n):
            keep = i >= warmup
            t0 = time.perf_counter()
            client.get("/healthz", headers=headers).raise_for_status()
            t1 = time.perf_counter()
            client.get(f"/cities/{slug}").raise_for_status()
            t2 = time.perf_counter()
            client.get(
                "/api/v1/published", params={"city": city, "limit": 50}, headers=headers
            ).raise_for_status()
            t3 = time.perf_counter()
            for sql, args in statements:
                conn.execute(sql, args).fetchall()
            t4 = time.perf_counter()
            if keep:
                for name, v in (("healthz", t1 - t0), ("city page", t2 - t1), ("api", t3 - t2),
                                ("sql", t4 - t3)):  # fmt: skip
                    times[name].append(v)
    conn.close()
    return times


def measure_export(base: str, key: str, rows: int) -> dict[str, float]:
    proc = psutil.Process(server_pid(base))
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=600, headers=headers) as client:
        client.get("/api/v1/export.ndjson", params={"q": "warm-up-matches-nothing"})
        client.get("/api/v1/published", params={"limit": 200})
        base_rss = proc.memory_info().rss
        peak = [base_rss]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], proc.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        lines = size = 0
        t = time.perf_counter()
        with client.stream("GET", "/api/v1/export.ndjson") as r:
            r.raise_for_status()
            for chunk in r.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - t
        done.set()
        sampler.join()
    assert lines == rows, f"the export has {lines} lines, expected {rows}"
    return {
        "seconds": elapsed,
        "clips_per_s": lines / elapsed,
        "mb_per_s": size / elapsed / 1e6,
        "mb": size / 1e6,
        "rss_base_mb": base_rss / 1e6,
        "rss_growth_mb": (peak[0] - base_rss) / 1e6,
    }


def report(db: str, times: dict[str, list[float]], export: dict[str, float]) -> list[bool]:
    ms = {k: tuple(x * 1000 for x in p50_p95(v)) for k, v in times.items()}
    (h50, h95), (c50, c95), (a50, a95), (s50, s95) = (
        ms["healthz"],
        ms["city page"],
        ms["api"],
        ms["sql"],
    )
    r50, r95 = a50 / (s50 + h50), a95 / (s95 + h95)
    print(f"\n  {db}: milliseconds over {len(times['api'])} requests each")
    print(f"  city page        p50 {c50:7.2f}  p95 {c95:7.2f}")
    print(f"  healthz          p50 {h50:7.2f}  p95 {h95:7.2f}")
    print(f"  API list         p50 {a50:7.2f}  p95 {a95:7.2f}")
    print(f"  raw SQL          p50 {s50:7.2f}  p95 {s95:7.2f}")
    ok_ratio = r95 <= RATIO_TARGET
    print(f"  API / (SQL + healthz): p50 {r50:.2f}, p95 {r95:.2f}  "
          f"{verdict(ok_ratio)} (p95 <= {RATIO_TARGET})")  # fmt: skip
    ok_rss = export["rss_growth_mb"] < RSS_TARGET_MB
    print(f"  export.ndjson: {export['seconds']:.1f} s, {export['clips_per_s']:,.0f} clips/s, "
          f"{export['mb_per_s']:.1f} MB/s ({export['mb']:.0f} MB); server RSS "
          f"{export['rss_base_mb']:.0f} MB + peak growth {export['rss_growth_mb']:.1f} MB  "
          f"{verdict(ok_rss)} (< {RSS_TARGET_MB:.0f} MB)")  # fmt: skip
    return [ok_ratio, ok_rss]


def run_one(db: str, rows: int, requests: int, tmp: Path) -> list[bool]:
    from app.db import reset_engine

    print(f"\n== {db}")
    url = f"sqlite:///{tmp / 'public.db'}" if db == "sqlite" else recreate_postgres_db(PG_DB)
    try:
        env = set_database(url, tmp)
        env["ARCHIVE_PUBLIC_CACHE_SECONDS"] = "0"
        t = time.perf_counter()
        city, key = seed_published(rows)
        print(f"  seeded {rows:,} published clips in {time.perf_counter() - t:.1f}s")
        reset_engine()
        with app_server(env, tmp / f"server-{db}.log") as base:
            times = measure_pages(base, key, url, city, requests)
            export = measure_export(base, key, rows)
        return report(db, times, export)
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
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"public bench: {args.rows:,} published clips, {args.requests} requests per kind; "
          f"{MACHINE_NOTE}")  # fmt: skip
    started = time.perf_counter()
    oks: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="bench-public-") as tmp:
        for db in dbs:
            if db == "postgres" and (why := postgres_reachable()):
                print(f"\n== postgres skipped: not reachable ({why})")
                continue
            oks += run_one(db, args.rows, args.requests, Path(tmp))
    print(f"\n{'all targets met' if all(oks) else 'some targets missed'}; "
          f"whole bench took {time.perf_counter() - started:.0f}s")  # fmt: skip
    return 1 if args.strict and not all(oks) else 0


if __name__ == "__main__":
    sys.exit(main())
