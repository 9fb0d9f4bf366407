"""Aggregates (counts per city, totals) cached per process, keyed by the change-log head.

Every change that can alter what the public sees (a clip published, edited or retracted)
adds a row to ``public_change``, so "the newest change id" is an exact version number for
these aggregates: a cached value is reused only while no change has happened since. The
stamp is (id, time) so that a database recreated under the same URL (tests, restores) is
never mistaken for the old one. Place renames are not changes: they show up with the next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from app.public import changes

T = TypeVar("T")
_lock = threading.Lock()
_values: dict[tuple[str, str], tuple[tuple[int, str], Any]] = {}


def cached(session: Session, name: str, compute: Callable[[], T]) -> T:
    head = changes.head(session)
    key = (str(session.get_bind().engine.url), name)
    with _lock:
        hit = _values.get(key)
    if hit is not None and hit[0] == head:
        return hit[1]  # type: ignore[no-any-return,unused-ignore]
    value = compute()
    with _lock:
        if len(_values) > 10_000:
            _values.clear()
        _values[key] = (head, value)
    return value


def clear() -> None:
    with _lock:
        _values.clear()
