"""The custody log: append an event, as a Merkle leaf and as a link of the hash chain.

- The body of an event is {occurred_at, actor, action, clip_code, payload}.
- Leaf: ``SHA-256(0x00 || canonical JSON of the body)`` in the log's Merkle tree
  (RFC 6962; app/custody/merkle.py, app/custody/tree.py). Signed checkpoints commit to
  its root (app/custody/checkpoints.py).
- Chain (kept from before): hash = SHA-256(prev_hash || canonical JSON); the first
  event's prev_hash is 64 zeros; a unique prev_hash makes a fork impossible to write.
- Appends are serialised: an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite.
- ``archive audit verify`` is app/custody/audit.py.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.custody import merkle, tree
from app.custody.models import CustodyEvent
from app.kit.canonical import canonical_json
from app.kit.clock import utcnow

GENESIS = "0" * 64
_LOCK_ID = 0x637573746F6479  # "custody"


def event_body(
    occurred_at: datetime, actor: str, action: str, clip_code: str | None, payload: Any
) -> dict[str, Any]:
    return {
        "occurred_at": occurred_at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "clip_code": clip_code,
        "payload": payload,
    }


def leaf_data(body: dict[str, Any]) -> bytes:
    """The bytes a leaf hashes: the canonical JSON of the event body."""
    return canonical_json(body).encode()


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    clip_code: str | None = None,
    payload: dict[str, Any] | None = None,
) -> CustodyEvent:
    """Append one event to the chain (inside the caller's transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    prev = session.scalar(select(CustodyEvent.hash).order_by(CustodyEvent.id.desc()).limit(1))
    prev_hash = prev or GENESIS
    occurred_at = utcnow()
    payload = payload or {}
    body = event_body(occurred_at, actor, action, clip_code, payload)
    # Store exactly what was hashed, so verification recomputes the same bytes.
    index = tree.append(session, merkle.leaf_hash(leaf_data(body)))
    event = CustodyEvent(
        leaf_index=index,
        occurred_at=occurred_at,
        actor=actor,
        action=action,
        clip_code=clip_code,
        payload=payload,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, body),
    )
    session.add(event)
    session.flush()
    return event


def events_for_clip(session: Session, code: str) -> list[CustodyEvent]:
    return list(
        session.scalars(
            select(CustodyEvent).where(CustodyEvent.clip_code == code).order_by(CustodyEvent.id)
        )
    )


def check_startup() -> None:
    """Production refuses to start without the log key once the log has events."""
    from app.config import Environment, get_settings
    from app.custody import keys
    from app.db import session_scope

    if get_settings().environment is not Environment.production:
        return  # (development makes a key on first use)
    with session_scope() as session:
        size = tree.size(session)
    keys.require_key(size)
