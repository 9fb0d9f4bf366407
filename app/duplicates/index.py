"""The in-process index of every usable PDQ frame hash, and the database fallback.

**Index.** faiss binary indexes over the 32-byte hashes of frames of quality >= 50:
``IndexBinaryFlat`` (exhaustive xor + popcount) up to ``ARCHIVE_DUPLICATES_MIH_ABOVE``
hashes, ``IndexBinaryMultiHash`` beyond (16 sub-hashes of 16 bits, one bit flipped per
probe: a pair at distance <= 31 agrees within one bit on at least one of 16 sub-hashes,
by pigeonhole, so the range search at radius 31 is exact; tests/duplicates and
bench/duplicates.py check recall 1.0 against brute force). faiss' range search keeps
distances strictly below its radius, so it is asked for 32.

**Build and refresh.** :func:`start` builds it in a background thread (API server and
workers); until it is ready :meth:`FrameIndex.search` raises :class:`IndexWarming` (a 503
``index_warming``), never an empty answer. The thread then polls the database's
high-water mark (the largest ``frame_hash.id``; ids only grow) every
``ARCHIVE_DUPLICATES_REFRESH_SECONDS`` and adds the new rows, so every node converges on
the same rows; when rows vanished (a re-hash replaces a clip's rows, a clip is deleted) it
rebuilds. A search refreshes first too, so it sees every row committed before it. The
poller and the request threads may refresh at once: rows are added only above the mark
as it stands under the lock (never twice), and a rebuild read before rows were added by
another thread is dropped rather than applied (never back to an older state).

**Fallback.** :func:`search_database` answers the same question with no index: PostgreSQL
``bit_count(bit(256) # bit(256))``, SQLite a registered ``pdq_distance`` function.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.duplicates.exceptions import IndexWarming
from app.duplicates.matching import MIN_QUALITY
from app.ingest.models import FrameHash
from app.video.pdq import HASH_BYTES, MATCH_DISTANCE, hamming256

log = logging.getLogger("archive.duplicates")

MIH_NHASH = 16
MIH_BITS = 16
MIH_NFLIP = 1


@dataclass(frozen=True)
class Hit:
    query: int  # position of the query hash in the request
    frame_id: int
    clip_id: int
    timestamp: float
    distance: int


def _make(kind: str) -> object:
    import faiss

    if kind == "mih":
        index = faiss.IndexBinaryMultiHash(HASH_BYTES * 8, MIH_NHASH, MIH_BITS)
        index.nflip = MIH_NFLIP
        return index
    return faiss.IndexBinaryFlat(HASH_BYTES * 8)


class FrameIndex:
    """All usable frame hashes in memory: faiss codes plus parallel id/clip/time arrays."""

    def __init__(self, *, mih_above: int) -> None:
        self.mih_above = mih_above
        self.ready = False
        self.kind = "flat"
        self.high_water = 0
        self._lock = threading.RLock()
        self._index: object = _make("flat")
        self._ids = np.zeros(0, dtype=np.int64)
        self._clips = np.zeros(0, dtype=np.int64)
        self._times = np.zeros(0, dtype=np.float64)
        self._codes = np.zeros((0, HASH_BYTES), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._ids)

    @staticmethod
    def _rows(session: Session, after: int) -> list[tuple[int, int, float, bytes]]:
        q = (
            select(FrameHash.id, FrameHash.clip_id, FrameHash.timestamp, FrameHash.pdq)
            .where(FrameHash.id > after, FrameHash.quality >= MIN_QUALITY)
            .order_by(FrameHash.id)
        )
        return [(r[0], r[1], r[2], r[3]) for r in session.execute(q)]

    def build(self, session: Session) -> None:
        """(Re)load every usable row."""
        mark = session.scalar(select(func.max(FrameHash.id))) or 0
        rows = [r for r in self._rows(session, 0) if r[0] <= mark]
        with self._lock:
            if self.ready and mark < self.high_water:
                return  # another thread loaded newer rows meanwhile: never go back to older
            self._reset()
            self._add(rows)
            self.high_water = mark
            self.ready = True

    def _reset(self) -> None:
        self._ids = np.zeros(0, dtype=np.int64)
        self._clips = np.zeros(0, dtype=np.int64)
        self._times = np.zeros(0, dtype=np.float64)
        self._codes = np.zeros((0, HASH_BYTES), dtype=np.uint8)
        self._index = _make("flat")
        self.kind = "flat"

    def _add(self, rows: Sequence[tuple[int, int, float, bytes]]) -> None:
        if not rows:
            return
        codes = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.uint8).reshape(-1, 32)
        self._ids = np.concatenate([self._ids, np.array([r[0] for r in rows], dtype=np.int64)])
        self._clips = np.concatenate([self._clips, np.array([r[1] for r in rows], dtype=np.int64)])
        self._times = np.concatenate(
            [self._times, np.array([r[2] for r in rows], dtype=np.float64)]
        )
        self._codes = np.concatenate([self._codes, codes])
        if self.kind == "flat" and len(self._ids) > self.mih_above:
            self._index = _make("mih")
            self.kind = "mih"
            self._index.add(self._codes)  # type: ignore[attr-defined]
        else:
            self._index.add(np.ascontiguousarray(codes))  # type: ignore[attr-defined]

    def refresh(self, session: Session) -> int:
        """Add rows above the high-water mark; rebuild when rows below it vanished."""
        if not self.ready:
            self.build(session)
            return len(self)
        with self._lock:
            mark = self.high_water
            loaded = len(self._ids)
        present = session.scalar(
            select(func.count())
            .select_from(FrameHash)
            .where(FrameHash.id <= mark, FrameHash.quality >= MIN_QUALITY)
        )
        if present != loaded:
            self.build(session)
            return len(self)
        rows = self._rows(session, mark)
        with self._lock:  # another thread may have added some of them meanwhile
            rows = [r for r in rows if r[0] > self.high_water]
            if rows:
                self._add(rows)
                self.high_water = rows[-1][0]
        return len(rows)

    def search(self, hashes: Sequence[bytes], *, radius: int = MATCH_DISTANCE) -> list[Hit]:
        """Every stored frame within ``radius`` of each query hash."""
        if not self.ready:
            raise IndexWarming()
        if not hashes:
            return []
        q = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, HASH_BYTES)
        with self._lock:
            if len(self._ids) == 0:
                return []
            lims, dist, pos = self._index.range_search(q, radius + 1)  # type: ignore[attr-defined]
            ids, clips, times = self._ids, self._clips, self._times
        hits = []
        for qi in range(len(hashes)):
            for k in range(int(lims[qi]), int(lims[qi + 1])):
                p = int(pos[k])
                hits.append(Hit(qi, int(ids[p]), int(clips[p]), float(times[p]), int(dist[k])))
        return hits

    def memory_bytes(self) -> int:
        return int(
            self._codes.nbytes + self._ids.nbytes + self._clips.nbytes + self._times.nbytes
        ) + len(self) * (HASH_BYTES if self.kind == "flat" else HASH_BYTES + 8 * MIH_NHASH)


def search_database(
    session: Session, hashes: Sequence[bytes], *, radius: int = MATCH_DISTANCE
) -> list[Hit]:
    """The same answer as :meth:`FrameIndex.search`, by a scan in the database."""
    hits: list[Hit] = []
    if session.get_bind().dialect.name == "postgresql":
        sql = text(
            "SELECT id, clip_id, timestamp, d FROM (SELECT id, clip_id, timestamp, "
            "bit_count(('x' || encode(pdq, 'hex'))::bit(256) # ('x' || :q)::bit(256)) AS d "
            "FROM frame_hash WHERE quality >= :mq) s WHERE d <= :r ORDER BY id"
        )
        for qi, h in enumerate(hashes):
            for row in session.execute(sql, {"q": h.hex(), "mq": MIN_QUALITY, "r": radius}):
                hits.append(Hit(qi, row[0], row[1], row[2], int(row[3])))
        return hits
    _register_sqlite(session)
    sql = text(
        "SELECT id, clip_id, timestamp, pdq_distance(pdq, :q) AS d FROM frame_hash "
        "WHERE quality >= :mq AND pdq_distance(pdq, :q) <= :r ORDER BY id"
    )
    for qi, h in enumerate(hashes):
        for row in session.execute(sql, {"q": h, "mq": MIN_QUALITY, "r": radius}):
            hits.append(Hit(qi, row[0], row[1], row[2], int(row[3])))
    return hits


def _register_sqlite(session: Session) -> None:
    raw = session.connection().connection.driver_connection
    raw.create_function("pdq_distance", 2, _sqlite_distance, deterministic=True)  # type: ignore[union-attr]


def _sqlite_distance(a: bytes | None, b: bytes | None) -> int | None:
    if a is None or b is None or len(a) != HASH_BYTES or len(b) != HASH_BYTES:
        return None
    return hamming256(a, b)


# -- the process-wide index -------------------------------------------------------------

_index: FrameIndex | None = None
_thread: threading.Thread | None = None
_stop = threading.Event()


def get_index() -> FrameIndex:
    global _index
    if _index is None:
        from app.config import get_settings

        _index = FrameIndex(mih_above=get_settings().duplicates_mih_above)
    return _index


def start(session_factory: Callable[[], Session], every: float) -> None:
    """Build the index in a background thread, then keep it refreshed (idempotent)."""
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    _stop.clear()
    index = get_index()

    def loop() -> None:
        while not _stop.is_set():
            try:
                with session_factory() as session:
                    index.refresh(session)
            except Exception:  # a database hiccup: try again on the next tick
                log.exception("refreshing the duplicate index failed")
            _stop.wait(every)

    _thread = threading.Thread(target=loop, name="duplicate-index", daemon=True)
    _thread.start()


def start_for_process() -> None:
    """What the API server and ``archive worker`` call at start-up (unless the index is
    switched off with ``ARCHIVE_DUPLICATES_INDEX=database``)."""
    from app.config import get_settings
    from app.db import new_session

    settings = get_settings()
    if settings.duplicates_index == "faiss":
        start(lambda: new_session(read_only=True), settings.duplicates_refresh_seconds)


def stop() -> None:
    global _thread
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=10)
    _thread = None


def reset() -> None:
    """Forget the process-wide index (tests, ``archive duplicates rebuild``)."""
    global _index
    stop()
    _index = None


def wait_ready(timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if get_index().ready:
            return True
        time.sleep(0.05)
    return get_index().ready
