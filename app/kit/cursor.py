"""Opaque keyset cursors: url-safe base64 of canonical JSON, ``{"id": <row id>}``.

A cursor comes back from the client, so it is read as hostile input: anything but a cursor
this API could have issued (not base64, not JSON, not an object, another key, an id that
is not a whole number between 0 and the largest 32-bit integer, or over ``MAX_LENGTH``
characters) is a 422 ``invalid_cursor`` naming the parameter, raised before any SQL runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from app.errors import InvalidInput
from app.kit.canonical import canonical_json

MAX_LENGTH = 500
MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL (the bind is cast)


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"

    def __init__(self, field: str, why: str) -> None:
        super().__init__(
            f"{field}: {why}; pass the next_cursor of the previous page back unchanged, "
            "or leave it out to start from the beginning",
            field=field,
        )


def encode_cursor(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(canonical_json(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, field: str = "cursor") -> dict[str, Any]:
    """The JSON object inside a cursor, or InvalidCursor."""
    if len(cursor) > MAX_LENGTH:
        raise InvalidCursor(field, f"a cursor is at most {MAX_LENGTH} characters")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        raise InvalidCursor(field, "this is not a cursor this API issued") from None
    if not isinstance(value, dict):
        raise InvalidCursor(field, "this is not a cursor this API issued")
    return value


def decode_id_cursor(cursor: str | None, *, field: str = "cursor") -> int | None:
    """The row id a keyset cursor resumes after; None when there is no cursor."""
    if cursor is None or cursor == "":
        return None
    value = decode_cursor(cursor, field=field)
    after = value.get("id")
    if (
        set(value) != {"id"}
        or not isinstance(after, int)
        or isinstance(after, bool)
        or not 0 <= after <= MAX_ID
    ):
        raise InvalidCursor(field, "this is not a cursor this API issued")
    return after


def decode_rank_cursor(
    cursor: str | None, *, field: str = "cursor"
) -> tuple[int | None, float | None]:
    """(id, rank) a ranked (search) page resumes after; (None, None) without a cursor."""
    if cursor is None or cursor == "":
        return None, None
    value = decode_cursor(cursor, field=field)
    after, rank = value.get("id"), value.get("r")
    if (
        set(value) != {"id", "r"}
        or not isinstance(after, int)
        or isinstance(after, bool)
        or not 0 <= after <= MAX_ID
        or not isinstance(rank, int | float)
        or isinstance(rank, bool)
        or not math.isfinite(rank)
    ):
        raise InvalidCursor(field, "this is not a cursor this API issued")
    return after, float(rank)
