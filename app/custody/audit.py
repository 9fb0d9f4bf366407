"""``archive audit verify``: recompute the custody log and report the first thing wrong.

In one pass over the events (in id order, in batches, O(log n) memory) it checks:

1. the hash chain (an edited, deleted or inserted event breaks it);
2. each event is the next leaf (``leaf_index``) and its content hashes to the stored leaf;
3. every interior node of the stored tree is the hash of its children (proofs are served
   from those nodes);
4. every checkpoint (stored ones and saved copies given with ``--checkpoint``) is signed by
   the archive's key, no larger than today's log, and its root is today's root at its size:
   a rewritten log, even with every hash recomputed, or a truncated one, is caught by any
   checkpoint taken after the change's position;
5. the log covers the records it must: every clip, original (media) and user has its
   creating event, so a log emptied or cut short below them is tampered.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from app.custody import checkpoint, keys, merkle, tree
from app.custody.exceptions import LogKeyMissing
from app.custody.models import CustodyCheckpoint, CustodyEvent, CustodyNode
from app.custody.service import GENESIS, chain_hash, event_body, leaf_data

# The records the log must cover (their tables, read without importing their domains).
_CLIP = table("clip", column("id"), column("code"))
_MEDIA = table("media", column("id"), column("sha256"))
_USER = table("user_account", column("id"), column("email"))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head: str
    first_bad_id: int | None = None
    reason: str = ""
    checkpoints: dict[str, int] = field(default_factory=dict)  # chain head -> events up to it
    root: str = ""  # hex Merkle root of the whole log
    checked: list[str] = field(default_factory=list)  # "checkpoint X: size N ok"


@dataclass(frozen=True)
class Saved:
    """A checkpoint kept outside the system (a partner's copy): its name and its note."""

    label: str
    note: str


class _Bad(Exception):
    def __init__(self, reason: str, event_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id


def _iter_batches(session: Session, batch: int = 1000) -> Iterator[list[CustodyEvent]]:
    last: int | None = None  # no lower bound: a forged row with id <= 0 must be seen too
    while True:
        stmt = select(CustodyEvent).order_by(CustodyEvent.id).limit(batch)
        if last is not None:
            stmt = stmt.where(CustodyEvent.id > last)
        rows = list(session.scalars(stmt).all())
        if not rows:
            return
        yield rows
        last = rows[-1].id
        session.expunge_all()


def _public_key() -> tuple[str, Ed25519PublicKey] | None:
    try:
        key = keys.load_key(keys.key_path())
    except LogKeyMissing:
        return None
    return checkpoint.verifier_key(keys.origin(), key.public_key()), key.public_key()


def _read_checkpoint(label: str, note: str, vkey: str | None) -> checkpoint.Checkpoint:
    if vkey is None:
        raise _Bad(f"{label}: cannot be checked, the archive's log key is missing")
    try:
        return checkpoint.verify(note, vkey)
    except checkpoint.CheckpointError as exc:
        raise _Bad(f"{label} is not a valid checkpoint of this archive: {exc}") from None


class _Walk:
    """The single pass over the events."""

    def __init__(self, session: Session, sizes: Collection[int]) -> None:
        self.session = session
        self.sizes = set(sizes)
        self.roots: dict[int, bytes] = {}
        self.count = 0
        self.prev_hash = GENESIS
        self.frontier: list[bytes] = []
        self.heads: dict[str, int] = {}
        self.clips: set[str] = set()
        self.media: set[str] = set()
        self.users: set[str] = set()

    def run(self, wanted_heads: set[str]) -> None:
        for batch in _iter_batches(self.session):
            start = self.count
            leaves = self._stored(0, start, start + len(batch))
            made: dict[tuple[int, int], bytes] = {}
            for event in batch:
                self._event(event, leaves, made)
                if self.prev_hash in wanted_heads:
                    self.heads[self.prev_hash] = self.count
            self._check_nodes(made)

    def _stored(self, level: int, lo: int, hi: int) -> dict[int, bytes]:
        rows = self.session.execute(
            select(CustodyNode.idx, CustodyNode.hash).where(
                CustodyNode.level == level, CustodyNode.idx >= lo, CustodyNode.idx < hi
            )
        )
        return {r.idx: bytes.fromhex(r.hash) for r in rows}

    def _event(
        self, event: CustodyEvent, leaves: dict[int, bytes], made: dict[tuple[int, int], bytes]
    ) -> None:
        if event.prev_hash != self.prev_hash:
            raise _Bad(
                f"event {event.id} does not follow the one before it: an entry before it was "
                "deleted or inserted",
                event.id,
            )
        body = event_body(
            event.occurred_at, event.actor, event.action, event.clip_code, event.payload
        )
        if chain_hash(self.prev_hash, body) != event.hash:
            raise _Bad(
                f"event {event.id} ({event.action}) was edited after it was written", event.id
            )
        if event.leaf_index != self.count:
            raise _Bad(
                f"event {event.id} is leaf {event.leaf_index} of the tree, but it is event "
                f"number {self.count}: an entry before it was deleted or inserted",
                event.id,
            )
        leaf = merkle.leaf_hash(leaf_data(body))
        if leaves.get(self.count) != leaf:
            raise _Bad(
                f"event {event.id} ({event.action}) does not match its leaf in the Merkle tree: "
                "it or the tree was edited after it was written",
                event.id,
            )
        for level, index, h in merkle.append_nodes(self.frontier, self.count, leaf)[1:]:
            made[(level, index)] = h
        self.frontier = merkle.frontier_after(self.frontier, self.count, leaf)
        self.prev_hash = event.hash
        self.count += 1
        if self.count in self.sizes:
            self.roots[self.count] = merkle.frontier_root(self.frontier)
        self._cover(event)

    def _cover(self, event: CustodyEvent) -> None:
        payload = event.payload if isinstance(event.payload, dict) else {}
        if event.action == "clip.created" and event.clip_code:
            self.clips.add(event.clip_code)
        elif event.action == "media.ingested" and isinstance(payload.get("sha256"), str):
            self.media.add(payload["sha256"])
        elif event.action == "user.created" and isinstance(payload.get("email"), str):
            self.users.add(payload["email"].lower())

    def _check_nodes(self, made: dict[tuple[int, int], bytes]) -> None:
        by_level: dict[int, list[int]] = {}
        for level, index in made:
            by_level.setdefault(level, []).append(index)
        for level, indexes in by_level.items():
            stored = self._stored(level, min(indexes), max(indexes) + 1)
            for index in sorted(indexes):
                if stored.get(index) != made[(level, index)]:
                    first = index << level
                    raise _Bad(
                        f"the Merkle tree's node over events {first + 1}-{first + (1 << level)} "
                        "was changed: proofs served from it would not match the log"
                    )


def _coverage(session: Session, walk: _Walk) -> None:
    for code in session.scalars(select(_CLIP.c.code).order_by(_CLIP.c.id)):
        if code not in walk.clips:
            raise _Bad(
                f"clip {code} has no clip.created event: the log is missing events (it was "
                "truncated or events were deleted)"
            )
    for sha in session.scalars(select(_MEDIA.c.sha256).order_by(_MEDIA.c.id)):
        if sha not in walk.media:
            raise _Bad(
                f"original SHA-256:{sha} has no media.ingested event: the log is missing events"
            )
    for email in session.scalars(select(_USER.c.email).order_by(_USER.c.id)):
        if email.lower() not in walk.users:
            raise _Bad(f"user {email} has no user.created event: the log is missing events")


def _check_checkpoint(walk: _Walk, label: str, cp: checkpoint.Checkpoint) -> str:
    if cp.size > walk.count:
        raise _Bad(
            f"{label} vouches for {cp.size} events but the log has only {walk.count}: events "
            "were deleted (the log was truncated or cut)"
        )
    root = walk.roots.get(cp.size, merkle.EMPTY_ROOT if cp.size == 0 else b"")
    if root != cp.root:
        raise _Bad(
            f"{label} (size {cp.size}) does not match today's log: an event among the first "
            f"{cp.size} was edited, deleted or inserted, and the log rewritten"
        )
    return f"{label}: size {cp.size} consistent with today's log"


def verify(
    session: Session, expect: Collection[str] = (), saved: Sequence[Saved] = ()
) -> VerifyResult:
    """Check everything above; the first failure is the result's ``reason``."""
    wanted = {h.strip().lower() for h in expect}
    pub = _public_key()
    vkey = pub[0] if pub else None
    stored = list(
        session.execute(
            select(CustodyCheckpoint.id, CustodyCheckpoint.note).order_by(CustodyCheckpoint.id)
        )
    )
    walk: _Walk | None = None
    checked: list[str] = []
    try:
        outside = [(s.label, _read_checkpoint(s.label, s.note, vkey)) for s in saved]
        inside = [
            (
                f"stored checkpoint #{r.id}",
                _read_checkpoint(f"stored checkpoint #{r.id}", r.note, vkey),
            )
            for r in stored
        ]
        walk = _Walk(session, {cp.size for _, cp in outside + inside})
        walk.run(wanted)
        leaves = tree.size(session)
        if leaves != walk.count:
            raise _Bad(
                f"the Merkle tree holds {leaves} leaves but the log has {walk.count} events: "
                "events at the end of the log were deleted"
            )
        for label, cp in outside + inside:
            checked.append(_check_checkpoint(walk, label, cp))
        _coverage(session, walk)
    except _Bad as bad:
        count = walk.count if walk else 0
        head = walk.prev_hash if walk else GENESIS
        return VerifyResult(False, count, head, bad.event_id, bad.reason, checked=checked)
    missing = sorted(wanted - set(walk.heads))
    root = merkle.frontier_root(walk.frontier).hex()
    if missing:
        return VerifyResult(
            False,
            walk.count,
            walk.prev_hash,
            None,
            f"checkpoint {missing[0]} is not in the chain: the log was rewritten or truncated "
            "before it",
            walk.heads,
            root,
        )
    return VerifyResult(True, walk.count, walk.prev_hash, None, "", walk.heads, root, checked)
