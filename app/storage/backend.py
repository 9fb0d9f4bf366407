"""One storage interface, two backends: local disk (app/storage/local.py) and an
S3-compatible object store (app/storage/s3.py); ``ARCHIVE_STORAGE=local|s3`` picks one
(app/storage/configured.py ``get_backend()``).

Objects are named by keys, the same on both backends:

- ``originals/<sha256>``: the evidence, written once (create-only), keyed by the SHA-256
  taken while it streamed in;
- ``derivatives/<sha256>/<generation>/<name>``: keyframes, thumbnails, poster, ...
  (app/storage/derivatives.py names them), put and replaced freely;
- ``derivatives/<sha256>/preview/...``: the team-only preview of a face-blurred clip that
  is not public yet (``playback.mp4``, ``images/<generation>/...``: :func:`preview_key`);
- ``public/<sha256>/playback.mp4``: the public playback copy.

The local backend maps each key onto today's layout under ``MEDIA_ROOT``
(app/storage/store.py), so nothing on disk moves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.errors import AppError
from app.storage.fixity import FileCheck, Throttle

ORIGINALS = "originals/"
DERIVATIVES = "derivatives/"
PUBLIC = "public/"
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}"
_DERIVED_KEY = re.compile(rf"^(derivatives|public)/([0-9a-f]{{64}})/((?:{_NAME}/)*{_NAME})$")


class StorageUnavailable(AppError):
    """The store cannot be reached (or went away mid-operation)."""

    status = 503
    code = "storage_unavailable"


class StorageDenied(AppError):
    """The store refused our credentials or our access to the bucket (a configuration
    error, not the client's)."""

    status = 503
    code = "storage_denied"


class StorageTooLarge(AppError):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class Stored:
    """An original in the store."""

    sha256: str
    size: int
    created: bool  # False: the same bytes were stored already, and were reused


@dataclass(frozen=True)
class ObjectStat:
    key: str
    size: int
    modified: float  # POSIX time


class StagedOriginal(Protocol):
    """An original being streamed into the store while it is also written to a local temp
    file (which is validated on the complete file): the store's side of the tee
    (app/ingest/streaming.py). Bytes go out as they arrive, under a staging name; only
    :meth:`finish` puts them under ``originals/<sha256>``."""

    def feed(self, block: bytes) -> None:
        """Hand on the next bytes (waits while too many are buffered; raises what failed
        while sending, e.g. StorageUnavailable)."""

    def drain(self) -> None:
        """Send everything buffered that can go before the digest is known, and wait."""

    def finish(self, sha256: str, size: int) -> Stored:
        """Every byte is fed: store them create-only as ``originals/<sha256>`` (the digest
        the receiving pipe took) and remove the staging object."""

    def abort(self) -> None:
        """Drop what was sent (nothing is kept under a staging name); no error if done."""


def original_key(sha256: str) -> str:
    if not SHA_RE.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return ORIGINALS + sha256


def derivative_key(sha256: str, *names: str) -> str:
    """``derivatives/<sha256>/<names...>`` (e.g. a generation and a file name)."""
    return check_derived_key(DERIVATIVES + "/".join((sha256, *names)))


def playback_key(sha256: str) -> str:
    from app.storage.derivatives import PLAYBACK

    return check_derived_key(f"{PUBLIC}{sha256}/{PLAYBACK}")


def preview_key(sha256: str, *names: str) -> str:
    """``derivatives/<sha256>/preview/<names...>``: the team's blurred preview."""
    from app.storage.derivatives import PREVIEW

    return derivative_key(sha256, PREVIEW, *names)


def public_key(sha256: str, *names: str) -> str:
    """``public/<sha256>/<names...>``: the public derivatives (the face-blurred copies)."""
    return check_derived_key(PUBLIC + "/".join((sha256, *names)))


def check_derived_key(key: str) -> str:
    if not _DERIVED_KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a derivative key: {key!r}")
    return key


def check_prefix(prefix: str) -> tuple[str, str, list[str]]:
    """A derivative folder prefix (``derivatives/<sha256>/[<names>/...]``, or ``public/...``)
    as (top, sha256, names); ValueError for anything else (originals above all)."""
    parts = prefix.split("/")
    if len(parts) < 3 or parts[-1] != "" or parts[0] not in ("derivatives", "public"):
        raise ValueError(f"not a derivative folder prefix: {prefix!r}")
    top, sha, *names = parts[:-1]
    check_derived_key("/".join((top, sha, *names, "x")))
    return top, sha, names


def check_key(key: str) -> str:
    if key.startswith(ORIGINALS):
        original_key(key[len(ORIGINALS) :])
        return key
    return check_derived_key(key)


class Backend(Protocol):
    """What every caller uses (a local directory or a bucket behind it)."""

    name: str

    def check(self) -> None:
        """Raise StorageUnavailable / StorageDenied (naming the store) unless it is usable."""

    def put_original(self, chunks: Iterable[bytes], *, limit: int) -> Stored:
        """Stream an original in, taking its SHA-256 on the way, and store it under
        ``originals/<sha256>`` without ever overwriting an object there: the same bytes
        already stored are reused. More than ``limit`` bytes: StorageTooLarge, nothing kept."""

    def begin_original(self, limit: int, *, sha256: str | None = None) -> StagedOriginal | None:
        """Start streaming an original into the store beside its local temp file (the
        upload routes tee the body into both). ``sha256``: the digest the client declared
        (``Repr-Digest``): the bytes may go straight under ``originals/<sha256>``, invisible
        until :meth:`StagedOriginal.finish` with that same digest. None: the temp file
        itself is what gets promoted (the local backend: ``MediaStore.promote``)."""

    def put_original_file(self, path: Path, sha256: str, size: int) -> Stored:
        """Store the complete file ``path`` as ``originals/<sha256>`` (create-only; the same
        bytes already stored are reused), re-checking its SHA-256 and size while sending:
        a mismatch stores nothing and raises ValueError."""

    def put_derivative(self, key: str, data: bytes) -> None:
        """Create or replace a derivative object."""

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The object's bytes from ``start`` (``length`` of them, or to the end);
        FileNotFoundError when there is no such object."""

    def delete_derivative(self, key: str) -> None:
        """Remove a derivative (no error when it is gone); originals are never deleted."""

    def list(self, prefix: str) -> Iterator[ObjectStat]:
        """Every object whose key starts with ``prefix`` (reconciliation)."""

    def stat(self, key: str) -> ObjectStat | None:
        """Size and time of an object, None when there is none."""

    def check_original(
        self, sha256: str, size: int, throttle: Throttle | None = None, *, sha512: bool = False
    ) -> FileCheck:
        """Read the whole original and compare it with its SHA-256 and size (fixity); with
        ``sha512``, also take its SHA-512 from the same read (the bags' second checksum)."""

    def sweep_staging(self, older_than: float) -> int:
        """Remove what dead uploads left behind; returns how many went."""

    def put_derivative_file(self, key: str, path: Path) -> None:
        """Create or replace a derivative object with a file's bytes, streamed (in parts on
        S3: a playback copy can be hundreds of MB). On local disk nothing is copied when
        ``path`` is already the key's file."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every derivative whose key starts with ``prefix`` (which names a folder:
        ``derivatives/<sha256>/<generation>/``, ``public/<sha256>/blurred/``, ...; it ends
        with ``/``); originals are never deleted. Returns how many objects went."""
