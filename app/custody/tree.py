"""The custody log's Merkle tree in the database (table ``custody_node``).

Every perfect subtree's hash is stored once, as (level, index): level 0 holds the leaves.
Appending leaf ``n`` reads the frontier of ``n`` (one node per set bit of ``n``, one query)
and inserts the leaf plus the nodes it completes: O(log n). A root or a proof at any size
needs O(log n) nodes, fetched in one query (the proof's shape does not depend on the hash
values, so a first pass with placeholder hashes names the nodes, a second one computes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.custody import merkle
from app.custody.models import CustodyNode

T = TypeVar("T")
_PLACEHOLDER = b"\0" * merkle.HASH_SIZE


def size(session: Session) -> int:
    """Leaves in the tree (events in the log)."""
    top = session.scalar(select(func.max(CustodyNode.idx)).where(CustodyNode.level == 0))
    return 0 if top is None else int(top) + 1


def nodes(session: Session, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    found: dict[tuple[int, int], bytes] = {}
    for i in range(0, len(wanted), 200):
        chunk = wanted[i : i + 200]
        cond = or_(*(and_(CustodyNode.level == lv, CustodyNode.idx == ix) for lv, ix in chunk))
        for row in session.execute(
            select(CustodyNode.level, CustodyNode.idx, CustodyNode.hash).where(cond)
        ):
            found[(row.level, row.idx)] = bytes.fromhex(row.hash)
    missing = [k for k in wanted if k not in found]
    if missing:
        raise LookupError(f"custody tree node {missing[0]} is missing")
    return found


def _with_nodes(session: Session, compute: Callable[[merkle.NodeSource], T]) -> T:
    keys: list[tuple[int, int]] = []

    def record(level: int, index: int) -> bytes:
        keys.append((level, index))
        return _PLACEHOLDER

    compute(record)
    found = nodes(session, keys)
    return compute(lambda level, index: found[(level, index)])


def append(session: Session, leaf: bytes) -> int:
    """Add a leaf (the caller holds the log's append lock); returns its index."""
    n = size(session)
    frontier_keys = merkle.frontier_indexes(n)
    found = nodes(session, frontier_keys)
    frontier = [found[k] for k in frontier_keys]
    for level, index, h in merkle.append_nodes(frontier, n, leaf):
        session.add(CustodyNode(level=level, idx=index, hash=h.hex()))
    return n


def root(session: Session, tree_size: int) -> bytes:
    return _with_nodes(session, lambda node: merkle.tree_root(tree_size, node))


def inclusion(session: Session, index: int, tree_size: int) -> list[bytes]:
    return _with_nodes(session, lambda node: merkle.inclusion_proof(index, tree_size, node))


def consistency(session: Session, size1: int, size2: int) -> list[bytes]:
    return _with_nodes(session, lambda node: merkle.consistency_proof(size1, size2, node))


def leaf(session: Session, index: int) -> bytes:
    return nodes(session, [(0, index)])[(0, index)]
