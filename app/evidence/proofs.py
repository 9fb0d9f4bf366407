"""The custody proofs in a bag: each event's inclusion proof against the latest checkpoint,
the checkpoint, its RFC 3161 token and TSA chain, and the archive's public key.

Filled from the Merkle custody log (app/custody/merkle.py, app/custody/checkpoint.py);
until the log has checkpoints, a bag carries the events alone and ``archive verify-bag``
reports the proof checks as not applicable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session


def custody_files(session: Session, events: Sequence[Any]) -> dict[str, bytes]:
    """Extra files for custody/ (name -> bytes)."""
    files: dict[str, bytes] = {}
    files.update(timestamp_files(session))
    return files


def timestamp_files(session: Session) -> dict[str, bytes]:
    """checkpoint.tsr (RFC 3161 TimeStampResp, DER) and tsa-chain.pem for the latest
    checkpoint, when a TSA stamped it (app/custody/stamping.py)."""
    from app.custody import checkpoints, stamping

    return stamping.bag_files(session, checkpoints.latest(session))
