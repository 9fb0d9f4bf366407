"""A response kept as bytes, for the public cache (app/public/cache.py): the web side's half
of it, so that the cache itself (which services use) loads no web framework."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response


@dataclass(frozen=True)
class Frozen:
    """A response kept as bytes: status, body and headers (a fresh Response each use)."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    etag: str | None = None

    @classmethod
    def of(cls, response: Response, etag: str | None = None) -> Frozen:
        return cls(response.status_code, bytes(response.body), tuple(response.raw_headers), etag)

    @property
    def weight(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 200

    def response(self) -> Response:
        out = Response(self.body, status_code=self.status)
        out.raw_headers = list(self.headers)
        return out
