"""The faiss index answers exactly what brute force and the database fallback answer, and
the match step records a re-encoded copy as a candidate of its source (both databases)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from app.db import session_scope
from app.duplicates import index as frame_index
from app.duplicates import service
from app.duplicates.exceptions import IndexWarming
from app.duplicates.matching import distances, to_words
from app.duplicates.models import DuplicateCandidate
from app.ingest import frame_hashes
from app.ingest.models import FrameHash
from app.jobs import runner
from tests.ingest.conftest import upload


def _planted(n_base: int, n_queries: int, seed: int = 0) -> tuple[list[bytes], list[bytes]]:
    """Random stored hashes, and queries at distances 0..40 from some of them."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n_base, 32), dtype=np.uint8)
    queries = []
    for _ in range(n_queries):
        q = np.unpackbits(base[rng.integers(n_base)])
        flip = rng.choice(256, size=int(rng.integers(0, 41)), replace=False)
        q[flip] ^= 1
        queries.append(np.packbits(q).tobytes())
    return [b.tobytes() for b in base], queries


class _Rows:
    def __init__(self, hashes: list[bytes]) -> None:
        self.rows = [(i + 1, (i // 50) + 1, float(i % 50), h) for i, h in enumerate(hashes)]


@pytest.mark.nodb
@pytest.mark.parametrize("mih_above", [10**9, 0], ids=["flat", "mih"])
def test_index_range_search_is_exact_at_31(mih_above: int) -> None:
    stored, queries = _planted(20_000, 300)
    idx = frame_index.FrameIndex(mih_above=mih_above)
    with pytest.raises(IndexWarming):
        idx.search(queries[:1])
    idx._add(_Rows(stored).rows)  # type: ignore[arg-type]
    idx.ready = True
    assert idx.kind == ("mih" if mih_above == 0 else "flat")
    got = {(h.query, h.frame_id) for h in idx.search(queries)}
    d = distances(to_words(queries), to_words(stored))
    want = {(int(q), int(s) + 1) for q, s in zip(*np.nonzero(d <= 31), strict=True)}
    assert got == want and len(want) > 100  # recall 1.0, and nothing beyond radius 31


def _run_all(limit: int = 30) -> int:
    ran = 0
    while ran < limit and runner.execute("test-worker"):
        ran += 1
    return ran


def _new_clip(client: Any, who: Any) -> str:
    body = {"city": "Abadan", "province": "Khuzestan", "date": "2019-11-16"}
    r = client.post("/api/v1/clips", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def test_match_step_records_a_reencoded_copy_and_fallback_agrees(
    client: Any, contributor: Any, source_clip: Path, variants: dict[str, Path],
    unrelated: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    frame_index.reset()
    decodes: list[Path] = []
    real = frame_hashes.hash_seconds

    def counting(path: Path, **kw: Any) -> Any:
        decodes.append(path)
        return real(path, **kw)

    monkeypatch.setattr(frame_hashes, "hash_seconds", counting)
    codes = {}
    for name, path in [
        ("source", source_clip),
        ("unrelated", unrelated["sierpinski"]),
        ("copy", variants["reencode_360p_crf32"]),
    ]:
        codes[name] = _new_clip(client, contributor)
        assert upload(client, contributor, codes[name], path.read_bytes()).status_code == 201
        _run_all()
    # the video is decoded once per clip (hashes step); the match step reads the DCT blocks
    assert len(decodes) == 3, decodes
    with session_scope() as s:
        rows = s.scalars(select(DuplicateCandidate)).all()
        assert len(rows) == 1 and rows[0].state == "open"
        assert rows[0].a_pct >= 80 and rows[0].b_pct >= 80
        views = service.candidates_for(s, rows[0].clip_b_id)
        assert [v.other_code for v in views] == [codes["source"]]
        # the index (built from the database) and the database scan give the same hits
        hashes = list(s.scalars(select(FrameHash.pdq).where(FrameHash.quality >= 50)))[:40]
        idx = frame_index.FrameIndex(mih_above=10**9)
        idx.build(s)
        from_index = {(h.query, h.frame_id, h.distance) for h in idx.search(hashes)}
        from_db = {
            (h.query, h.frame_id, h.distance) for h in frame_index.search_database(s, hashes)
        }
        assert from_index == from_db and len(from_db) >= len(hashes)


class _Snapshot:
    """What one database session sees of the frame_hash table (its rows, as _rows gives
    them): enough for FrameIndex.build and refresh, which ask for max(id), count(*) and
    the rows above a mark."""

    def __init__(self, rows: list[tuple[int, int, float, bytes]]) -> None:
        self.rows = rows

    def scalar(self, statement: Any) -> int:
        sql = str(statement).lower()
        if "max(" in sql:
            return max((r[0] for r in self.rows), default=0)
        mark = statement.compile().params["id_1"]
        return sum(1 for r in self.rows if r[0] <= mark)


@pytest.mark.nodb
def test_concurrent_refreshes_neither_lose_nor_double_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The poller thread and a search's own refresh run at once in every API process: a
    rebuild read before another thread added new rows must not drop them (the node would
    miss the new clip), and rows fetched by both must be added once."""
    hashes, _ = _planted(3, 0, seed=1)
    rows = [(i + 1, i + 1, 0.0, h) for i, h in enumerate(hashes)]
    nested: list[_Snapshot] = []

    def fetch(session: _Snapshot, after: int) -> list[tuple[int, int, float, bytes]]:
        if nested:  # another thread refreshes while this one is between read and add
            idx.refresh(nested.pop())  # type: ignore[arg-type]
        return [r for r in session.rows if r[0] > after]

    monkeypatch.setattr(frame_index.FrameIndex, "_rows", staticmethod(fetch))
    idx = frame_index.FrameIndex(mih_above=10**9)
    old, new = _Snapshot(rows[:2]), _Snapshot(rows)
    idx.build(old)  # type: ignore[arg-type]
    nested.append(new)
    idx.build(old)  # (a rebuild) read the old rows; meanwhile the new one was added
    assert idx.high_water == 3 and sorted(idx._ids.tolist()) == [1, 2, 3]
    assert {h.clip_id for h in idx.search([hashes[2]])} == {3}

    idx = frame_index.FrameIndex(mih_above=10**9)  # (fetch refreshes this one now)
    idx.build(old)  # type: ignore[arg-type]
    nested.append(new)
    assert idx.refresh(new) == 0  # type: ignore[arg-type]  # the nested refresh added row 3
    assert sorted(idx._ids.tolist()) == [1, 2, 3]  # once
    assert len(idx.search([hashes[2]])) == 1
