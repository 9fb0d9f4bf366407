"""The custody proof checks of ``archive verify-bag`` (offline): each event's inclusion
proof against the bag's checkpoint, the checkpoint's Ed25519 signature against the bag's
public key, and the checkpoint's RFC 3161 timestamp against the TSA chain in the bag."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from app.evidence.checks import Check

NAMES = ("custody.inclusion-proofs", "custody.checkpoint-signature", "custody.timestamp-token")


def checks(tags: Mapping[str, bytes], events: Sequence[dict[str, Any]]) -> Iterator[Check]:
    if "custody/checkpoint.txt" not in tags:
        for name in NAMES:
            yield Check(name, None, "no checkpoint in this bag (proofs are not exported yet)")
        return
    yield timestamp_check(tags)


def timestamp_check(tags: Mapping[str, bytes]) -> Check:
    """custody/checkpoint.tsr against custody/checkpoint.txt, the chain in
    custody/tsa-chain.pem and the roots of ARCHIVE_TSA_CA_FILE (if set; else the chain's
    own root, and the detail says so)."""
    from app.custody import stamping, timestamps

    name = "custody.timestamp-token"
    token = tags.get("custody/checkpoint.tsr")
    note = tags.get("custody/checkpoint.txt")
    if note is None or token is None:
        return Check(name, None, "the checkpoint in this bag has no RFC 3161 timestamp")
    trusted = stamping.trusted_pem()
    verdict = timestamps.verify(token, note, tags.get("custody/tsa-chain.pem", b""), trusted)
    if not verdict.ok:
        return Check(name, False, verdict.reason)
    when = verdict.gen_time.isoformat() if verdict.gen_time else "?"
    whose = "a CA of ARCHIVE_TSA_CA_FILE" if trusted is not None else "the bag's own TSA chain"
    return Check(name, True, f"timestamped {when}, trusted via {whose}")
