"""HTTP responses for objects in the media store, on either backend (app/storage/backend.py).

On local disk Starlette's FileResponse serves the file (Range with 206, multiple ranges and
416, as before). On S3 the object is streamed through the app: one ``bytes=`` range (a
start-end, an open end or a suffix) is answered 206 with only those bytes fetched from the
store, a range past the end 416; a header with several ranges, or one that does not parse,
is ignored and the whole object sent (RFC 9110 lets a server do either).

:func:`public_response` is for the public media routes only (app/public/media.py): with
``ARCHIVE_S3_PRESIGN`` on the S3 backend it answers 307 to a presigned GET URL valid for
``ARCHIVE_S3_PRESIGN_SECONDS``, so the bytes go from the store to the browser without
passing through the app (the store honours Range itself). The caller has already checked
that the clip is published and the object exists; the original is never presigned (its
every read is in the custody log), and team routes keep :func:`stored_response`.
"""

from __future__ import annotations

import re

from fastapi import Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from app.config import get_settings
from app.errors import NotFound
from app.storage import missing
from app.storage.backend import ORIGINALS
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
        missing.note(key)  # the public listings stop linking it for a while
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


def public_response(
    key: str, media_type: str, *, range_header: str | None, headers: dict[str, str]
) -> Response:
    """A public derivative: streamed like :func:`stored_response`, or with
    ``ARCHIVE_S3_PRESIGN`` on S3 a 307 to a short-lived presigned URL."""
    settings = get_settings()
    if not (settings.s3_presign and settings.storage == "s3"):
        return stored_response(key, media_type, range_header=range_header, headers=headers)
    if key.startswith(ORIGINALS):
        raise ValueError("an original is never presigned")  # a bug in the caller, not input
    from app.storage.s3 import S3Backend  # boto3 only when it is used

    backend = get_backend()
    assert isinstance(backend, S3Backend)
    if backend.stat(key) is None:  # no URL to nothing
        missing.note(key)
        raise NotFound("the file is gone")
    seconds = settings.s3_presign_seconds
    # a browser may keep the redirect for half the URL's life: what it follows then is
    # still valid; "private": a shared cache must not hand one user's URL to others
    cache = f"private, max-age={seconds // 2}"
    with backend._errors("signing a URL"):
        url = backend.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": backend.bucket,
                "Key": key,
                "ResponseContentType": media_type,
                "ResponseCacheControl": cache,
            },
            ExpiresIn=seconds,
        )
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": cache})
