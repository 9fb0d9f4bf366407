"""Custody-log fixtures: the review team and its API driver, and a forger with full database
rights who rewrites the log and recomputes every hash (chain and Merkle tree)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import create_engine

from app.custody import merkle
from app.custody.service import GENESIS, chain_hash, event_body, leaf_data
from app.db import UTCDateTime
from tests.review.conftest import Api, Team, api, team  # noqa: F401  (fixtures)

EVENTS = sa.table(
    "custody_event",
    sa.column("id", sa.Integer),
    sa.column("leaf_index", sa.Integer),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("clip_code", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
NODES = sa.table(
    "custody_node", sa.column("level", sa.Integer), sa.column("idx", sa.Integer), sa.column("hash")
)

Edit = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def forge(url: str, edit: Edit, *, drop_checkpoints: bool = True) -> None:
    """Rewrite the whole log as ``edit`` says, recomputing chain, leaves and tree, and (by
    default) deleting the stored checkpoints: all a forger with the database can do."""
    eng = create_engine(url)
    try:
        with eng.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            rows = [dict(r._mapping) for r in conn.execute(sa.select(EVENTS).order_by(EVENTS.c.id))]
            rows = edit(rows)
            conn.execute(EVENTS.delete())
            conn.execute(NODES.delete())
            if drop_checkpoints:
                conn.execute(sa.text("DELETE FROM custody_timestamp"))
                conn.execute(sa.text("DELETE FROM custody_checkpoint"))
            tree = merkle.MemoryTree()
            prev = GENESIS
            for i, row in enumerate(rows):
                body = event_body(
                    row["occurred_at"],
                    row["actor"],
                    row["action"],
                    row["clip_code"],
                    row["payload"],
                )
                row.update(leaf_index=i, prev_hash=prev, hash=chain_hash(prev, body))
                prev = row["hash"]
                tree.append(merkle.leaf_hash(leaf_data(body)))
                conn.execute(EVENTS.insert().values(**row))
            for level, hashes in enumerate(tree.levels):
                for idx, h in enumerate(hashes):
                    conn.execute(NODES.insert().values(level=level, idx=idx, hash=h.hex()))
    finally:
        eng.dispose()
