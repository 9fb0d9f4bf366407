"""Catalogue listing benchmark (issue 2 §8; DESIGN.md §6).

Seeds N clips (default 100,000; a few big cities and a long tail, dates over five years)
into SQLite and PostgreSQL, serves the real app with uvicorn, and times through HTTP:

  first  - the first page of a big city's list (limit 50)
  deep   - a page 90% of the way into that city's keyset (limit 50)
  date   - a two-week date-overlap filter (from=/to=, limit 50)

Each is compared, in the same run, with the same SQL sent straight through the driver plus
the trivial endpoint (/healthz: auth + SELECT 1) on the same server:

  ratio = API / (raw SQL + trivial endpoint)   target <= 1.5   (p50 and p95 each)
  deep / first (API p50)                       target <= 1.2

    .venv/bin/python bench/catalogue.py [--rows N] [--db sqlite|postgres|both]
                                        [--requests N] [--strict]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _common import (
    MACHINE_NOTE,
    app_server,
    driver_url,
    drop_postgres_db,
    p50_p95,
    postgres_reachable,
    recreate_postgres_db,
    verdict,
)
from sqlalchemy import func, insert, select, text

PG_DB = "bench_catalogue"
SEED = 20191115
BIG_CITIES = ["Tehran", "Mashhad", "Esfahan", "Karaj", "Shiraz", "Tabriz", "Ahvaz", "Qom"]
EXTRA_CITIES = 300
FIRST_DAY, DAYS = date(2019, 1, 1), 5 * 365
PEAKS = [(date(2019, 11, 15), 12), (date(2021, 7, 15), 14), (date(2022, 9, 16), 100)]
DATE_WINDOW = ("2021-03-01", "2021-03-14")  # a quiet fortnight: the harder case for LIMIT
STATUS_WEIGHTS = {
    "published": 35, "verified": 15, "in_review": 10, "submitted": 10,
    "draft": 20, "needs_info": 5, "rejected": 4, "retracted": 1,
}  # fmt: skip
WORDS = [
    "protest", "crowd", "march", "street", "square", "night", "chant", "police", "strike",
    "workers", "students", "bazaar", "fire", "smoke", "gunfire", "arrest", "funeral", "video",
]  # fmt: skip
TAGS = ["protest", "strike", "night", "police", "funeral", "students", "bazaar", "fire"]
RATIO_TARGET, DEEP_TARGET = 1.5, 1.2


# ----------------------------------------------------------------------------- seeding
def set_database(url: str, var_dir: Path) -> dict[str, str]:
    """Point the app's settings (in this process and the server's) at ``url``."""
    from app.config import get_settings
    from app.db import reset_engine

    env = {
        "ARCHIVE_DATABASE_URL": url,
        "ARCHIVE_VAR_DIR": str(var_dir),
        "ARCHIVE_MEDIA_ROOT": str(var_dir / "media"),
        "ARCHIVE_JOBS": "off",
    }
    os.environ.update(env)
    get_settings.cache_clear()
    reset_engine()
    return env


def event_date(rng: random.Random) -> str:
    """An EDTF string: mostly single days, some 2-day sets, short intervals and months."""
    if rng.random() < 0.4:
        start, span = rng.choices(PEAKS, weights=[3, 2, 5])[0]
        day = start + timedelta(rng.randrange(span))
    else:
        day = FIRST_DAY + timedelta(rng.randrange(DAYS))
    shape = rng.random()
    if shape < 0.70:
        return day.isoformat()
    if shape < 0.80:
        return f"[{day},{day + timedelta(rng.choice([1, 2]))}]"
    if shape < 0.92:
        return f"{day}/{day + timedelta(rng.randint(2, 9))}"
    return f"{day.year:04d}-{day.month:02d}"


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def seed_catalogue(rows: int) -> tuple[str, str]:
    """Migrate, seed places (+ generated towns), a team token and ``rows`` clips.

    Returns (big city name, team token)."""
    from app.accounts.service import create_token, create_user
    from app.clips.models import Clip, CodeSequence
    from app.config import get_settings
    from app.db import get_engine, session_scope
    from app.kit.dates import from_edtf
    from app.migrate import upgrade
    from app.places.models import Place, PlaceAlias
    from app.places.service import normalise, seed

    rng = random.Random(SEED)
    upgrade(get_settings().database_url)
    with session_scope() as session:
        seed(session)
        user, _ = create_user(session, email="bench@example.org", role="contributor",
                              password="bench-password-123", actor="bench")  # fmt: skip
        _, token = create_token(session, user, "bench", actor="bench")
        user_id = user.id
        cities = {p.name_en: p for p in session.scalars(select(Place).where(Place.kind == "city"))}
        provinces = list(session.scalars(select(Place).where(Place.kind == "province")))
        towns = [
            Place(country_code="IRN", kind="city", name_en=f"Town {i:03d}",
                  parent_id=rng.choice(provinces).id)
            for i in range(EXTRA_CITIES)
        ]  # fmt: skip
        session.add_all(towns)
        session.flush()
        session.add_all(
            PlaceAlias(place_id=t.id, country_code="IRN", kind="city", alias=normalise(t.name_en))
            for t in towns
        )
        rest = sorted(set(cities) - set(BIG_CITIES))
        rng.shuffle(rest)
        ranked = [cities[n].id for n in BIG_CITIES] + [cities[n].id for n in rest]
        ranked += [t.id for t in towns]
    weights = [1 / (rank + 1) for rank in range(len(ranked))]  # Zipf: ~15% in the biggest city

    dates: dict[str, Any] = {}
    statuses, status_w = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    engine = get_engine()
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for seq in range(1, rows + 1):
            edtf = event_date(rng)
            d = dates.get(edtf) or dates.setdefault(edtf, from_edtf(edtf))
            status = rng.choices(statuses, status_w)[0]
            created = t0 + timedelta(minutes=seq * 20 + rng.randrange(20))
            batch.append({
                "code": f"IRN{seq:03d}", "country_code": "IRN", "seq": seq,
                "place_id": rng.choices(ranked, weights)[0],
                "date_edtf": d.edtf, "date_earliest": d.earliest, "date_latest": d.latest,
                "date_display_en": d.display_en, "date_display_fa": d.display_fa,
                "title_en": sentence(rng, rng.randint(3, 9)),
                "title_fa": "ویدیو از تجمع" if rng.random() < 0.5 else None,
                "description_en": sentence(rng, rng.randint(10, 40)) if rng.random() < 0.6
                else None,
                "description_fa": None,
                "graphic_violence": rng.random() < 0.1,
                "identifiable_people": rng.random() < 0.4,
                "tags": rng.sample(TAGS, rng.randint(0, 3)),
                "status": status, "source": "bench", "import_key": None,
                "created_by_id": user_id if rng.random() < 0.8 else None,
                "created_at": created, "updated_at": created,
                "published_at": created if status == "published" else None,
                "deleted_at": created if rng.random() < 0.01 else None,
                "version": 1,
            })  # fmt: skip
            if len(batch) == 10_000 or seq == rows:
                conn.execute(insert(Clip), batch)
                batch = []
        conn.execute(insert(CodeSequence), [{"country_code": "IRN", "last_seq": rows}])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
    return BIG_CITIES[0], token


# ----------------------------------------------------------------------------- cases
@dataclass
class Case:
    name: str
    params: dict[str, Any]  # query string for GET /api/v1/clips
    sql: str  # the repository's statement, compiled for the driver
    args: Any  # its parameters (dict for psycopg, tuple for sqlite3)
    before: list[tuple[str, Any]]  # statements the service runs first (the city look-up)


def _compiled(engine: Any, stmt: Any, params: dict[str, Any]) -> tuple[str, Any]:
    """A statement with its parameters, rendered for the raw driver."""
    state = stmt.compile(dialect=engine.dialect).construct_expanded_state(params)
    p = state.parameters
    if engine.dialect.name == "sqlite":
        assert state.positiontup is not None
        return state.statement, tuple(
            p[k].isoformat() if isinstance(p[k], date) else p[k] for k in state.positiontup
        )
    return state.statement, p


def build_cases(big_city: str) -> list[Case]:
    """The three listings, each with the exact SQL the service runs for it: the alias
    look-up of the city (when filtered by city) and the repository's listing statement."""
    from app.clips.models import Clip
    from app.clips.repository import ClipFilter, listing
    from app.db import get_engine, session_scope
    from app.kit.cursor import encode_cursor
    from app.places.service import _city_ids_statement, city_ids_for, normalise

    engine = get_engine()
    with session_scope() as session:
        place_ids = tuple(city_ids_for(session, city=big_city) or ())
        ids = list(session.scalars(
            select(Clip.id).where(Clip.place_id.in_(place_ids), Clip.deleted_at.is_(None))
            .order_by(Clip.id)
        ))  # fmt: skip
        total = session.scalar(select(func.count()).select_from(Clip))
    deep_at = int(len(ids) * 0.9)
    deep_after = ids[deep_at]
    print(f"  {total:,} clips; {big_city} has {len(ids):,} "
          f"(deep page = after id {deep_after}, about page {deep_at // 50 + 1})")  # fmt: skip
    lo, hi = (date.fromisoformat(s) for s in DATE_WINDOW)
    lookup = _compiled(
        engine, _city_ids_statement(True, False, False), {"city": normalise(big_city)}
    )
    specs = [
        ("first page", {"city": big_city}, ClipFilter(place_ids=place_ids)),
        ("deep page", {"city": big_city, "cursor": encode_cursor({"id": deep_after})},
         ClipFilter(place_ids=place_ids, after_id=deep_after)),
        ("date overlap", {"from": DATE_WINDOW[0], "to": DATE_WINDOW[1]},
         ClipFilter(date_from=lo, date_to=hi)),
    ]  # fmt: skip
    cases = []
    for name, params, f in specs:
        sql, args = _compiled(engine, *listing(f, 51))  # limit + 1, as served
        before = [lookup] if "city" in params else []
        cases.append(Case(name, {**params, "limit": 50}, sql, args, before))
    return cases


def raw_connection(url: str) -> Any:
    if url.startswith("sqlite"):
        return sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
    import psycopg

    return psycopg.connect(driver_url(url), autocommit=True)


# ----------------------------------------------------------------------------- measuring
def measure(base: str, token: str, url: str, cases: list[Case], n: int) -> dict[str, list[float]]:
    """Interleave every request kind in each round so that noise hits them all alike."""
    times: dict[str, list[float]] = {"healthz": []}
    for c in cases:
        times[c.name], times["sql " + c.name] = [], []
    conn = raw_connection(url)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        trivial: dict[str, Any] = {}  # /healthz with the token: auth + one round trip
        try:
            client.get("/healthz", timeout=10).raise_for_status()
        except httpx.HTTPError as exc:
            print(f"  note: /healthz with a token failed ({exc}); timing it anonymously")
            trivial = {"headers": {"Authorization": ""}}
        for c in cases:  # check once that the API and the raw SQL return the same page
            page = client.get("/api/v1/clips", params=c.params).raise_for_status().json()
            rows = conn.execute(c.sql, c.args).fetchall()
            codes = [item["code"] for item in page["items"]]
            assert codes == [r[1] for r in rows[:50]], f"{c.name}: API and SQL disagree"
            if len(rows) < 51:
                print(f"  note: {c.name} matches only {len(rows)} clips (use more --rows)")
        warmup = max(20, n // 10)
        for i in range(warmup + n):
            keep = i >= warmup
            t = time.perf_counter()
            client.get("/healthz", **trivial).raise_for_status()
            if keep:
                times["healthz"].append(time.perf_counter() - t)
            for c in cases:
                t = time.perf_counter()
                client.get("/api/v1/clips", params=c.params).raise_for_status()
                t2 = time.perf_counter()
                for sql, args in c.before:
                    conn.execute(sql, args).fetchall()
                conn.execute(c.sql, c.args).fetchall()
                t3 = time.perf_counter()
                if keep:
                    times[c.name].append(t2 - t)
                    times["sql " + c.name].append(t3 - t2)
    conn.close()
    return times


def report(db: str, times: dict[str, list[float]], cases: list[Case]) -> list[bool]:
    ms = {k: tuple(x * 1000 for x in p50_p95(v)) for k, v in times.items()}
    h50, h95 = ms["healthz"]
    print(f"\n  {db}: milliseconds over {len(times['healthz'])} requests each "
          f"(healthz p50 {h50:.2f}, p95 {h95:.2f})")  # fmt: skip
    head = ("case", "API p50", "API p95", "SQL p50", "SQL p95", "ratio p50", "ratio p95",
            f"target <= {RATIO_TARGET}")  # fmt: skip
    print("  {:<13}{:>9}{:>9}{:>9}{:>9}{:>11}{:>11}  {}".format(*head))
    oks = []
    for c in cases:
        a50, a95 = ms[c.name]
        s50, s95 = ms["sql " + c.name]
        r50, r95 = a50 / (s50 + h50), a95 / (s95 + h95)
        ok50, ok95 = r50 <= RATIO_TARGET, r95 <= RATIO_TARGET
        oks += [ok50, ok95]
        figures = f"{a50:>9.2f}{a95:>9.2f}{s50:>9.2f}{s95:>9.2f}{r50:>11.2f}{r95:>11.2f}"
        print(f"  {c.name:<13}{figures}  p50 {verdict(ok50)}, p95 {verdict(ok95)}")
    deep = ms["deep page"][0] / ms["first page"][0]
    raw = ms["sql deep page"][0] / ms["sql first page"][0]
    oks.append(deep <= DEEP_TARGET)
    print(f"  deep / first page (API p50): {deep:.2f}  {verdict(deep <= DEEP_TARGET)} "
          f"(<= {DEEP_TARGET}); raw SQL: {raw:.2f}")  # fmt: skip
    return oks


def run_one(db: str, rows: int, requests: int, tmp: Path) -> list[bool]:
    from app.db import reset_engine

    print(f"\n== {db}")
    url = f"sqlite:///{tmp / 'catalogue.db'}" if db == "sqlite" else recreate_postgres_db(PG_DB)
    try:
        env = set_database(url, tmp)
        t = time.perf_counter()
        big_city, token = seed_catalogue(rows)
        print(f"  seeded {rows:,} clips in {time.perf_counter() - t:.1f}s")
        cases = build_cases(big_city)
        reset_engine()
        with app_server(env, tmp / f"server-{db}.log") as base:
            times = measure(base, token, url, cases, requests)
        return report(db, times, cases)
    finally:
        reset_engine()
        if db == "postgres":
            drop_postgres_db(PG_DB)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="clips to seed (default 100000)")
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--requests", type=int, default=200, help="timed requests per case")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()
    if args.rows < 2000:
        ap.error("--rows must be at least 2000 (the deep page needs a long list)")
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"catalogue bench: {args.rows:,} clips, {args.requests} requests per case; "
          f"{MACHINE_NOTE}")  # fmt: skip
    started = time.perf_counter()
    oks: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="bench-catalogue-") as tmp:
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
