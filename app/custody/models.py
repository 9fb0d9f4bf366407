"""The custody log: append-only, hash-chained and a Merkle tree (RFC 6962 / RFC 9162).

- ``custody_event``: one row per event; ``leaf_index`` is its leaf in the tree (0, 1, 2...)
  and ``hash = SHA-256(prev_hash || canonical JSON)`` keeps the older chain as well;
- ``custody_node``: every perfect subtree's hash, (level, index); level 0 holds the leaves,
  ``SHA-256(0x00 || canonical JSON)``. An append adds the leaf and the nodes it completes
  (O(log n)), and any proof is O(log n) look-ups, so a million events need no rebuild;
- ``custody_checkpoint``: signed notes (C2SP checkpoint format) of (size, root, time);
- ``custody_timestamp``: RFC 3161 tokens over a checkpoint's note, one row per TSA.

The first three are append-only (a trigger on PostgreSQL; the serving role gets INSERT and
SELECT only, see ``archive migrate --app-role``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class CustodyEvent(Base):
    __tablename__ = "custody_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    leaf_index: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64), index=True)
    clip_code: Mapped[str | None] = mapped_column(String(16), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # a fork cannot be written
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CustodyNode(Base):
    __tablename__ = "custody_node"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))  # hex


class CustodyCheckpoint(Base):
    __tablename__ = "custody_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(Integer, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))  # hex
    created_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)  # the signed note, exactly as served


class CustodyTimestamp(Base):
    """One TSA's token over one checkpoint's note. ``status``: pending (retried with
    back-off until ``next_attempt_at``), stamped, or failed (gave up after the attempts)."""

    __tablename__ = "custody_timestamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(
        ForeignKey("custody_checkpoint.id", ondelete="RESTRICT"), index=True
    )
    tsa_url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    token: Mapped[bytes | None] = mapped_column(LargeBinary)  # DER TimeStampResp token
    chain_pem: Mapped[str] = mapped_column(Text, default="")  # the TSA's certificates
    gen_time: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
