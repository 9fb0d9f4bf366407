"""The custody proof checks of ``archive verify-bag`` (offline, no database): each event's
inclusion proof against the bag's checkpoint, the checkpoint's Ed25519 signature against
the archive's key, and the checkpoint's RFC 3161 timestamp against the TSA chain in the bag.

Only the pure modules app/custody/merkle.py and app/custody/checkpoint.py are used.

- ``custody.checkpoint-signature``: custody/checkpoint.txt is signed by the key in
  custody/log-key.pub, or by the published key given with ``--key`` (then the bag's key
  must be that one too: a forger who re-signs with his own key and swaps the key file is
  caught only against a key kept elsewhere, so the detail prints the key to compare).
- ``custody.inclusion-proofs``: every event of custody/events.jsonl has its proof in
  custody/inclusion-proofs.json; its leaf hash is recomputed from the event as it is in
  the bag (SHA-256 of 0x00 and its canonical JSON) and its audit path leads to the root
  in the checkpoint (RFC 9162 §2.1.3.2). The bag is complete: its last event is the
  export, the last leaf of the checkpoint's tree, and that export counts the clip's
  earlier events, so an event cannot be taken out of the bag unseen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from app.custody import checkpoint, merkle
from app.evidence.checks import Check
from app.kit.canonical import canonical_json

NAMES = ("custody.inclusion-proofs", "custody.checkpoint-signature", "custody.timestamp-token")
CHECKPOINT = "custody/checkpoint.txt"
PROOFS = "custody/inclusion-proofs.json"
KEY = "custody/log-key.pub"
TOKEN = "custody/checkpoint.tsr"
BODY = ("occurred_at", "actor", "action", "clip_code", "payload")


def leaf_data(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's leaf hashes: the canonical JSON of its body."""
    return canonical_json({k: event[k] for k in BODY}).encode()


def _signature(tags: Mapping[str, bytes], trusted: str | None) -> Check:
    name = "custody.checkpoint-signature"
    if CHECKPOINT not in tags:
        return Check(name, False, f"{CHECKPOINT} is missing: nothing proves the custody events")
    bag_key = tags.get(KEY, b"").decode("utf-8", "replace").strip()
    if trusted is not None and bag_key != trusted.strip():
        return Check(name, False, f"{KEY} is not the archive's published key given with --key")
    vkey = trusted.strip() if trusted is not None else bag_key
    if not vkey:
        return Check(name, False, f"{KEY} is missing: the signature cannot be checked")
    try:
        cp = checkpoint.verify(tags[CHECKPOINT].decode("utf-8"), vkey)
    except (checkpoint.CheckpointError, UnicodeDecodeError) as exc:
        return Check(name, False, str(exc))
    when = cp.time.isoformat() if cp.time else "no time"
    source = "the published key given" if trusted is not None else f"the bag's key {vkey}"
    tail = "" if trusted is not None else " (compare it with the archive's published key)"
    return Check(name, True, f"{cp.size} events, signed {when} by {source}{tail}")


def _load_proofs(tags: Mapping[str, bytes]) -> tuple[checkpoint.Checkpoint, dict[int, Any]]:
    """(the checkpoint, proofs by event id); ValueError saying what is wrong."""
    try:
        cp, _ = checkpoint.parse(tags[CHECKPOINT].decode("utf-8"))
    except (checkpoint.CheckpointError, UnicodeDecodeError) as exc:
        raise ValueError(f"{CHECKPOINT} is not a checkpoint: {exc}") from None
    if PROOFS not in tags:
        raise ValueError(f"{PROOFS} is missing")
    try:
        doc = json.loads(tags[PROOFS])
        entries = {int(p["event_id"]): p for p in doc["events"]}
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{PROOFS} is not a list of inclusion proofs") from None
    return cp, entries


def _one(event: Mapping[str, Any], proof: Mapping[str, Any], cp: checkpoint.Checkpoint) -> str:
    """'' when the event's proof leads to the checkpoint's root, else why not."""
    eid = event["id"]
    data = leaf_data(event)
    leaf = merkle.leaf_hash(data)
    try:
        index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
    except (ValueError, KeyError, TypeError):
        return f"event {eid}: its proof is malformed"
    if size != cp.size:
        return (
            f"event {eid}: its proof is for a tree of {size} events, the checkpoint has {cp.size}"
        )
    if proof.get("leaf_hash") != leaf.hex():
        return f"event {eid}: its content does not hash to the leaf the proof is for (edited)"
    if not merkle.verify_inclusion(leaf, index, size, path, cp.root):
        return f"event {eid}: its proof does not lead to the checkpoint's root hash"
    return ""


def _complete(events: Sequence[Mapping[str, Any]], proofs: Mapping[int, Any], size: int) -> str:
    """'' when no event was taken out of the bag, else why it looks so."""
    extra = sorted(set(proofs) - {int(e["id"]) for e in events})
    if extra:
        return f"event {extra[0]} has a proof but is not in custody/events.jsonl (removed)"
    last = events[-1]
    index = int(proofs[int(last["id"])]["leaf_index"])
    if last["action"] != "evidence.exported" or index != size - 1:
        return "the last event is not the export the checkpoint was made for (events removed)"
    payload = last["payload"] if isinstance(last["payload"], dict) else {}
    expected = payload.get("custody_events")
    if expected != len(events) - 1:
        return f"the export counted {expected} earlier events, the bag has {len(events) - 1}"
    codes = {e["clip_code"] for e in events}
    if len(codes) != 1:
        return "the events are not all of one clip"
    return ""


def _inclusion(tags: Mapping[str, bytes], events: Sequence[Mapping[str, Any]]) -> Check:
    name = "custody.inclusion-proofs"
    if CHECKPOINT not in tags:
        return Check(name, False, f"{CHECKPOINT} is missing: no event can be proven")
    if not events:
        return Check(name, False, "no custody event to prove")
    try:
        cp, proofs = _load_proofs(tags)
    except ValueError as exc:
        return Check(name, False, str(exc))
    for event in events:
        proof = proofs.get(int(event["id"]))
        if proof is None:
            return Check(name, False, f"event {event['id']} has no inclusion proof")
        problem = _one(event, proof, cp)
        if problem:
            return Check(name, False, problem)
    problem = _complete(events, proofs, cp.size)
    if problem:
        return Check(name, False, problem)
    return Check(
        name, True, f"{len(events)} events proven in the log of {cp.size} events, none missing"
    )


def timestamp_check(tags: Mapping[str, bytes]) -> Check:
    """custody/checkpoint.tsr against custody/checkpoint.txt, the chain in
    custody/tsa-chain.pem and the roots of ARCHIVE_TSA_CA_FILE (if set; else the chain's
    own root, and the detail says so)."""
    from app.custody import stamping, timestamps

    name = "custody.timestamp-token"
    token = tags.get("custody/checkpoint.tsr")
    note = tags.get("custody/checkpoint.txt")
    if note is None or token is None:
        return Check(name, None, "no timestamp token in this bag")
    trusted = stamping.trusted_pem()
    verdict = timestamps.verify(token, note, tags.get("custody/tsa-chain.pem", b""), trusted)
    if not verdict.ok:
        return Check(name, False, verdict.reason)
    when = verdict.gen_time.isoformat() if verdict.gen_time else "?"
    whose = "a CA of ARCHIVE_TSA_CA_FILE" if trusted is not None else "the bag's own TSA chain"
    return Check(name, True, f"timestamped {when}, trusted via {whose}")


def checks(
    tags: Mapping[str, bytes], events: Sequence[dict[str, Any]], key: str | None = None
) -> Iterator[Check]:
    yield _inclusion(tags, events)
    yield _signature(tags, key)
    yield timestamp_check(tags)
