"""HTTP responses for objects in the media store, on either backend (app/storage/backend.py).

On local disk Starlette's FileResponse serves the file (Range with 206, multiple ranges and
416, as before). On S3 the object is streamed through the app: one ``bytes=`` range (a
start-end, an open end or a suffix) is answered 206 with only those bytes fetched from the
store, a range past the end 416; a header with several ranges, or one that does not parse,
is ignored and the whole object sent (RFC 9110 lets a server do either).
"""

from __future__ import annotations

import re

from fastapi import Response
from fastapi.responses import FileResponse, StreamingResponse

from app.errors import NotFound
from app.storage.configured import get_backend
from app.storage.local import LocalBackend

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """(first, last) byte of one satisfiable range; None: serve it all; False: 416."""
    if not header:
        return None
    m = _RANGE.match(header.strip().replace(" ", ""))
    if m is None or (not m[1] and not m[2]):
        return None
    if not m[1]:  # the last n bytes
        n = int(m[2])
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else False
    first = int(m[1])
    last = min(int(m[2]), size - 1) if m[2] else size - 1
    if m[2] and int(m[2]) < first:
        return None  # invalid: ignored
    return (first, last) if first < size else False


def stored_response(
    key: str, media_type: str, *, range_header: str | None, headers: dict[str, str]
) -> Response:
    backend = get_backend()
    if isinstance(backend, LocalBackend):
        return FileResponse(backend.path(key), media_type=media_type, headers=headers)
    found = backend.stat(key)
    if found is None:
        raise NotFound("the file is gone")
    size = found.size
    base = {**headers, "Accept-Ranges": "bytes"}
    wanted = parse_range(range_header, size)
    if wanted is False:
        return Response(status_code=416, headers={**base, "Content-Range": f"bytes */{size}"})
    if wanted is None or wanted is True:
        return StreamingResponse(
            backend.read(key),
            media_type=media_type,
            headers={**base, "Content-Length": str(size)},
        )
    first, last = wanted
    return StreamingResponse(
        backend.read(key, first, last - first + 1),
        status_code=206,
        media_type=media_type,
        headers={
            **base,
            "Content-Length": str(last - first + 1),
            "Content-Range": f"bytes {first}-{last}/{size}",
        },
    )
