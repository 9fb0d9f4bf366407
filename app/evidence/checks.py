"""One named check of ``archive verify-bag``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: not applicable to this bag
    detail: str = ""
