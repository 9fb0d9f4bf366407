"""The custody proofs in a bag (``custody/``), read from the Merkle custody log:

- ``checkpoint.txt``: a signed checkpoint (C2SP signed note) whose tree holds every one of
  the clip's events. The export event is appended just before, so the latest checkpoint
  never covers it: one is made here (cheap: the tree's frontier is stored) and kept in
  ``custody_checkpoint`` like any other, so partners can ask for proofs against it;
- ``inclusion-proofs.json``: per event, its leaf index, the tree size, the canonical JSON
  the leaf hashes, the leaf hash and the audit path (RFC 9162 §2.1.3), in hex and base64;
- ``log-key.pub``: the archive's verifier key, as served at /.well-known/archive-log-key.

The RFC 3161 token of the checkpoint and its TSA chain are added by the timestamp code
when there is one (``checkpoint.tsr``, ``tsa-chain.pem``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.custody import checkpoint, checkpoints, keys, merkle, tree
from app.custody.service import event_body, leaf_data

FORMAT = "archive-inclusion-proofs/1"


def _covering(session: Session, last_leaf: int) -> Any:
    """The latest checkpoint whose tree holds leaf ``last_leaf``; a new one if none does."""
    cp = checkpoints.latest(session)
    if cp is None or cp.size <= last_leaf:
        cp, _ = checkpoints.make(session, force=True)
    return cp


def proof_entry(event: Any, size: int, path: Sequence[bytes], leaf: bytes) -> dict[str, Any]:
    data = leaf_data(
        event_body(event.occurred_at, event.actor, event.action, event.clip_code, event.payload)
    )
    return {
        "event_id": event.id,
        "leaf_index": event.leaf_index,
        "tree_size": size,
        "leaf_data": data.decode(),
        "leaf_hash": leaf.hex(),
        "audit_path": [h.hex() for h in path],
        "audit_path_base64": [base64.b64encode(h).decode() for h in path],
    }


def custody_files(session: Session, events: Sequence[Any]) -> dict[str, bytes]:
    """Extra files for custody/ (name -> bytes): the checkpoint, the proofs, the key."""
    if not events:
        return {}
    cp = _covering(session, max(e.leaf_index for e in events))
    parsed, _ = checkpoint.parse(cp.note)
    proofs = []
    for e in events:
        leaf = tree.leaf(session, e.leaf_index)
        path = tree.inclusion(session, e.leaf_index, cp.size)
        if not merkle.verify_inclusion(leaf, e.leaf_index, cp.size, path, parsed.root):
            raise RuntimeError(f"custody event {e.id}: its proof does not reach the checkpoint")
        proofs.append(proof_entry(e, cp.size, path, leaf))
    document = {
        "format": FORMAT,
        "hash": "SHA-256; leaf = H(0x00 || leaf_data), node = H(0x01 || left || right)",
        "proof_rule": "RFC 9162 section 2.1.3.2",
        "checkpoint": "custody/checkpoint.txt",
        "tree_size": cp.size,
        "root": parsed.root.hex(),
        "root_base64": base64.b64encode(parsed.root).decode(),
        "events": proofs,
    }
    return {
        "custody/checkpoint.txt": cp.note.encode(),
        "custody/inclusion-proofs.json": (
            json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        ).encode(),
        "custody/log-key.pub": (keys.verifier_key() + "\n").encode(),
        **timestamp_files(session, cp),
    }


def timestamp_files(session: Session, cp: Any) -> dict[str, bytes]:
    """custody/checkpoint.tsr (RFC 3161 TimeStampResp, DER) and custody/tsa-chain.pem. The
    checkpoint is usually the one made for this export, so when TSAs are configured it is
    stamped now (app/custody/stamping.py); with no TSA, or none answering, there is none."""
    from app.custody import stamping

    if not stamping.bag_files(session, cp):
        stamping.stamp_now(session, cp)
    return stamping.bag_files(session, cp)
