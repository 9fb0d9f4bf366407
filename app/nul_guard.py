"""Reject text containing NUL (U+0000) before it reaches the database: a 422, not a 500.

PostgreSQL cannot store NUL in text columns (psycopg raises DataError, which would be a
500), and SQLite would store it silently, so both databases behave alike only if it never
gets that far. Checked: the path, the query string, and JSON or form bodies (parsed, so the
answer names the field). Other bodies (video uploads, tus chunks) pass untouched, and so
do bodies over ``MAX_BODY`` (a JSON API body here is a few kilobytes at most).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1 << 20
NUL = "\x00"


def _find(value: Any, where: str) -> str | None:
    """The dotted path of the first string (or key) holding NUL, or None."""
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                return path
            if (hit := _find(item, path)) is not None:
                return hit
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (hit := _find(item, f"{where}.{i}" if where else str(i))) is not None:
                return hit
    return None


def _in_query(raw: bytes) -> str | None:
    if b"%00" not in raw and b"\x00" not in raw:
        return None
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    return next((k for k, v in pairs if NUL in k or NUL in v), "query")


def _in_body(body: bytes, ctype: str) -> str | None:
    if "json" in ctype:
        try:
            data = json.loads(body)
        except ValueError:
            return None  # FastAPI answers malformed JSON itself
        return _find(data, "")
    if "x-www-form-urlencoded" in ctype:
        return _in_query(body)
    return None


def _refuse(field: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": "invalid",
            "detail": f"{field}: text may not contain NUL (0x00) characters",
            "field": field,
        },
        status_code=422,
    )


class RejectNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if b"\x00" in unquote_to_bytes(raw_path):
            await _refuse("path")(scope, receive, send)
            return
        if (field := _in_query(scope.get("query_string", b""))) is not None:
            await _refuse(field)(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        if "json" not in ctype and "x-www-form-urlencoded" not in ctype:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size, more = 0, True
        while more and size <= MAX_BODY:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        if not more and size <= MAX_BODY:
            body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
            if (field := _in_body(body, ctype)) is not None:
                await _refuse(field)(scope, receive, send)
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
