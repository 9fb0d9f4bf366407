"""Opaque keyset cursors: url-safe base64 of canonical JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from app.errors import InvalidInput
from app.kit.canonical import canonical_json


def encode_cursor(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(canonical_json(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, field: str = "cursor") -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput(
            f"cursor {cursor!r} is not valid; pass next_cursor back unchanged", field=field
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"cursor {cursor!r} is not valid", field=field)
    return value
