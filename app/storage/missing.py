"""Keys that a request found missing from the store lately (per process, for ``TTL``
seconds).

On S3 the public listings do not ask the store whether each clip's poster and playback copy
exist (a HEAD per item, app/public/sources.py): the database says so. When it is wrong (an
object lost behind our back), the first request for the object finds it missing
(app/web/stored.py notes it here), and for the next ``TTL`` seconds the listings of this
process stop linking it, so a missing object is a broken image once, not for every visitor.
"""

from __future__ import annotations

import threading
import time

TTL = 120.0
LIMIT = 10_000  # keys remembered at most (the oldest go first)

_lock = threading.Lock()
_seen: dict[str, float] = {}


def note(key: str) -> None:
    """The store has no object ``key`` (just found out)."""
    now = time.monotonic()
    with _lock:
        _seen.pop(key, None)
        _seen[key] = now
        while len(_seen) > LIMIT:
            del _seen[next(iter(_seen))]


def recently(key: str) -> bool:
    """Whether a request found ``key`` missing in the last ``TTL`` seconds."""
    at = _seen.get(key)
    return at is not None and time.monotonic() - at < TTL


def clear() -> None:
    with _lock:
        _seen.clear()
