"""Signed checkpoints of the custody log: (size, root, time) as a C2SP signed note.

``make`` signs the tree as it is now and stores the note (``custody_checkpoint``), with one
pending RFC 3161 timestamp per configured TSA (app/custody/timestamps.py stamps them). It
makes none when the log has not grown since the last one, unless asked to. Proofs for
partners and bags are computed against these sizes (``proofs``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.custody import checkpoint, keys, tree
from app.custody.exceptions import NoCheckpoint
from app.custody.models import CustodyCheckpoint, CustodyTimestamp
from app.kit.clock import utcnow


def latest(session: Session) -> CustodyCheckpoint | None:
    return session.scalar(select(CustodyCheckpoint).order_by(CustodyCheckpoint.id.desc()).limit(1))


def require_latest(session: Session) -> CustodyCheckpoint:
    cp = latest(session)
    if cp is None:
        raise NoCheckpoint(
            "the custody log has no checkpoint yet; one is made every hour when the log grew, "
            "or now with `archive audit checkpoint`"
        )
    return cp


def all_checkpoints(session: Session) -> list[CustodyCheckpoint]:
    return list(session.scalars(select(CustodyCheckpoint).order_by(CustodyCheckpoint.id)))


def make(session: Session, *, force: bool = False) -> tuple[CustodyCheckpoint, bool]:
    """(the checkpoint, whether it is new). Needs the log key (app/custody/keys.py)."""
    size = tree.size(session)
    last = latest(session)
    if last is not None and last.size == size and not force:
        return last, False
    key = keys.signing_key()
    now = utcnow()
    root = tree.root(session, size)
    _, note = checkpoint.make(keys.origin(), size, root, now, key)
    cp = CustodyCheckpoint(size=size, root_hash=root.hex(), created_at=now, note=note)
    session.add(cp)
    session.flush()
    for url in get_settings().tsa_urls:
        session.add(
            CustodyTimestamp(
                checkpoint_id=cp.id,
                tsa_url=url,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                last_error="",
                chain_pem="",
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    return cp, True
