"""The SHA-256 a client declares for a raw upload body (RFC 9530).

``Repr-Digest: sha-256=:<base64>:`` (or ``Content-Digest``, the same for a raw body with
no content coding) names the SHA-256 of the bytes before they are sent. The server checks
the body against it (a mismatch is a 400 ``digest_mismatch`` and nothing is stored) and, on
S3, streams the parts straight to ``originals/<sha256>`` instead of a staging key that is
copied server-side afterwards. Other algorithms in the header are ignored (RFC 9530 lets a
recipient ignore what it does not support); no ``sha-256`` member: no declared digest.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from app.ingest.exceptions import BadDigestHeader

HEADERS = ("repr-digest", "content-digest")
_TOKEN = re.compile(r"^[a-z*][a-z0-9_\-.*]*$")
_BYTES = re.compile(r"^:([A-Za-z0-9+/]*={0,2}):$")


def _sha256_of(name: str, value: str) -> str | None:
    """The ``sha-256`` member of a Structured Fields dictionary header, as hex."""
    found: str | None = None
    for member in value.split(","):
        member = member.strip()
        if not member:
            continue
        key, eq, rest = member.partition("=")
        key = key.strip()
        item = rest.split(";", 1)[0].strip()  # parameters are allowed and ignored
        if not eq or not _TOKEN.match(key) or not _BYTES.match(item):
            raise BadDigestHeader(
                f"the {name} header is malformed ({member[:80]!r}); send "
                "sha-256=:<base64 of the 32-byte SHA-256>: (RFC 9530)",
                field=name,
            )
        if key != "sha-256":
            continue
        try:
            raw = base64.b64decode(item[1:-1], validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise BadDigestHeader(
                f"the {name} header's sha-256 is not the base64 of 32 bytes "
                f"({len(raw)} bytes); nothing was stored",
                field=name,
            )
        if found is not None and found != raw.hex():
            raise BadDigestHeader(f"the {name} header names two SHA-256 values", field=name)
        found = raw.hex()
    return found


def declared_sha256(headers: Mapping[str, str]) -> str | None:
    """The SHA-256 (hex) declared for a raw body, or None. ``Content-Digest`` counts only
    for a body without a content coding (then it is the same digest as ``Repr-Digest``);
    both given and different: 400."""
    lower = {k.lower(): v for k, v in headers.items()}
    repr_sha = _sha256_of("Repr-Digest", lower["repr-digest"]) if "repr-digest" in lower else None
    coding = lower.get("content-encoding", "identity").strip().lower()
    content_sha = None
    if "content-digest" in lower and coding in ("", "identity"):
        content_sha = _sha256_of("Content-Digest", lower["content-digest"])
    if repr_sha and content_sha and repr_sha != content_sha:
        raise BadDigestHeader(
            "Repr-Digest and Content-Digest name different SHA-256 values for the same "
            "unencoded body; nothing was stored",
            field="Repr-Digest",
        )
    return repr_sha or content_sha
