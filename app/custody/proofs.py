"""Proofs served to partners and the team, against the stored tree (app/custody/tree.py)."""

from __future__ import annotations

import base64

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.custody import checkpoints, tree
from app.custody.exceptions import BadTreeSize, EventNotFound
from app.custody.models import CustodyEvent
from app.custody.schemas import ConsistencyProof, InclusionProof
from app.custody.service import event_body, leaf_data


def b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def _size_or_latest(session: Session, size: int | None, field: str) -> int:
    now = tree.size(session)
    if size is None:
        return checkpoints.require_latest(session).size
    if size > now:
        raise BadTreeSize(f"{field}: the log has {now} events, not {size}", field=field)
    return size


def consistency(session: Session, from_size: int, to_size: int | None) -> ConsistencyProof:
    to = _size_or_latest(session, to_size, "to")
    if from_size > to:
        raise BadTreeSize(f"from: {from_size} is larger than to ({to})", field="from")
    return ConsistencyProof(
        from_size=from_size,
        to_size=to,
        from_root=b64(tree.root(session, from_size)),
        to_root=b64(tree.root(session, to)),
        proof=[b64(h) for h in tree.consistency(session, from_size, to)],
    )


def inclusion(session: Session, event_id: int, size: int | None) -> InclusionProof:
    event = session.scalar(select(CustodyEvent).where(CustodyEvent.id == event_id))
    if event is None:
        raise EventNotFound(f"event {event_id} is not in the custody log", field="event")
    n = _size_or_latest(session, size, "size")
    if event.leaf_index >= n:
        raise BadTreeSize(
            f"size: event {event_id} is leaf {event.leaf_index}, after a tree of {n} events; "
            "wait for the next checkpoint or ask for a larger size",
            field="size",
        )
    data = leaf_data(
        event_body(event.occurred_at, event.actor, event.action, event.clip_code, event.payload)
    )
    return InclusionProof(
        event_id=event.id,
        leaf_index=event.leaf_index,
        tree_size=n,
        leaf_data=data.decode(),
        leaf_hash=b64(tree.leaf(session, event.leaf_index)),
        root=b64(tree.root(session, n)),
        proof=[b64(h) for h in tree.inclusion(session, event.leaf_index, n)],
    )
