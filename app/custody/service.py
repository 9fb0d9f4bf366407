"""The custody log: append an event; verify the chain.

Each event's hash is SHA-256(prev_hash || canonical JSON of the event body), where the body
is {occurred_at, actor, action, clip_code, payload}. The first event's prev_hash is 64 zeros.
A unique constraint on prev_hash makes a fork impossible to write. Appends are serialised:
an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

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
    event = CustodyEvent(
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


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head: str
    first_bad_id: int | None = None
    reason: str = ""
    checkpoints: dict[str, int] = field(default_factory=dict)  # hash -> events up to it


def _iter_events(session: Session, batch: int = 1000) -> Iterator[CustodyEvent]:
    last: int | None = None  # no lower bound: a forged row with id <= 0 must be seen too
    while True:
        stmt = select(CustodyEvent).order_by(CustodyEvent.id).limit(batch)
        if last is not None:
            stmt = stmt.where(CustodyEvent.id > last)
        rows = session.scalars(stmt).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def verify(session: Session, expect: Collection[str] = ()) -> VerifyResult:
    """Recompute the chain; report the first entry that was edited, deleted or inserted.

    ``expect`` holds heads written down earlier (outside the system). Each must still be in
    the chain: a forger who rewrites the log and recomputes every hash after it leaves an
    internally consistent chain, which only a checkpoint kept elsewhere can expose."""
    prev_hash = GENESIS
    count = 0
    wanted = {h.strip().lower() for h in expect}
    found: dict[str, int] = {}
    for event in _iter_events(session):
        if event.prev_hash != prev_hash:
            return VerifyResult(
                False,
                count,
                prev_hash,
                event.id,
                f"event {event.id} does not follow the one before it: an entry before it was "
                "deleted or inserted",
            )
        body = event_body(
            event.occurred_at, event.actor, event.action, event.clip_code, event.payload
        )
        if chain_hash(prev_hash, body) != event.hash:
            return VerifyResult(
                False,
                count,
                prev_hash,
                event.id,
                f"event {event.id} ({event.action}) was edited after it was written",
            )
        prev_hash = event.hash
        count += 1
        if prev_hash in wanted:
            found[prev_hash] = count
    missing = sorted(wanted - set(found))
    if missing:
        return VerifyResult(
            False,
            count,
            prev_hash,
            None,
            f"checkpoint {missing[0]} is not in the chain: the log was rewritten or truncated "
            "before it",
            found,
        )
    return VerifyResult(True, count, prev_hash, checkpoints=found)


def events_for_clip(session: Session, code: str) -> list[CustodyEvent]:
    return list(
        session.scalars(
            select(CustodyEvent).where(CustodyEvent.clip_code == code).order_by(CustodyEvent.id)
        )
    )
