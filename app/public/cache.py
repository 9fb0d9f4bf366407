"""Public output cached per process, keyed by the change-log head.

Every change that can alter what the public sees (a clip published, edited or retracted,
its playback copy, keyframes or hashes) adds a row to ``public_change``, so "the newest
change id" is an exact version number for everything public: a cached value is reused only
while no change has happened since. The stamp is (id, time) so that a database recreated
under the same URL (tests, restores) is never mistaken for the old one.

What is cached: aggregates (counts per city, totals), the place ids a city or province
name stands for, and whole rendered responses (public pages for anonymous visitors, the
partner list; kept as app/public/frozen.py's ``Frozen``). A hit costs one query, the head
(read once per transaction), and nothing else. Entries live in one LRU of at most
``ARCHIVE_PUBLIC_RESPONSE_CACHE_MB`` (0: no caching). Place renames and aliases added by
``archive migrate`` are not changes: they show with the next change or restart (the app
itself never renames a place).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.config import get_settings
from app.public import changes

T = TypeVar("T")
_HEAD = "archive_public_head"
_lock = threading.Lock()
_values: OrderedDict[tuple[str, Hashable], tuple[tuple[int, str], Any, int]] = OrderedDict()
_size = 0


@runtime_checkable
class Weighed(Protocol):
    """A cached value that knows its own weight (bytes)."""

    @property
    def weight(self) -> int: ...


def head(session: Session) -> tuple[int, str]:
    """The change-log head as this transaction sees it (one query per transaction)."""
    stamp: tuple[int, str] | None = session.info.get(_HEAD)
    if stamp is None:
        stamp = session.info[_HEAD] = changes.head(session)
    return stamp


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_head(session: Session, *_: Any) -> None:
    session.info.pop(_HEAD, None)


def cached(session: Session, name: Hashable, compute: Callable[[], T], *, weight: int = 1024) -> T:
    """``compute()``, or the value it gave at the same change-log head. ``weight`` is the
    value's rough size in bytes (for the cache's budget)."""
    budget = get_settings().public_response_cache_mb * 1024 * 1024
    if budget <= 0:
        return compute()
    stamp = head(session)
    key = (str(session.get_bind().engine.url), name)
    with _lock:
        hit = _values.get(key)
        if hit is not None and hit[0] == stamp:
            _values.move_to_end(key)
            return hit[1]  # type: ignore[no-any-return,unused-ignore]
    value = compute()
    if isinstance(value, Weighed):  # e.g. a frozen response: its size in bytes
        weight = value.weight
    _store(key, (stamp, value, weight), budget)
    return value


def _store(key: tuple[str, Hashable], entry: tuple[Any, Any, int], budget: int) -> None:
    global _size
    with _lock:
        old = _values.pop(key, None)
        if old is not None:
            _size -= old[2]
        _values[key] = entry
        _size += entry[2]
        while _size > budget and _values:
            _, dropped = _values.popitem(last=False)
            _size -= dropped[2]


def clear() -> None:
    global _size
    with _lock:
        _values.clear()
        _size = 0
