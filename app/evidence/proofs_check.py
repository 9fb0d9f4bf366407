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
