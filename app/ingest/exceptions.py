"""Expected ingest failures, each with a status and a stable code."""

from __future__ import annotations

from app.errors import AppError, Conflict, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMedia


class DuplicateMedia(Conflict):
    code = "duplicate_media"


class ClipHasMedia(Conflict):
    code = "clip_has_media"


class InvalidVideo(InvalidInput):
    code = "invalid_video"


class UnsupportedVideoFile(UnsupportedMedia):
    code = "unsupported_video"


class UploadTooLarge(PayloadTooLarge):
    code = "upload_too_large"


class MediaNotFound(NotFound):
    code = "media_not_found"


class BadUploadRequest(AppError):
    status = 400
    code = "bad_upload"


class UploadNotFound(NotFound):
    code = "upload_not_found"


class OffsetMismatch(Conflict):
    code = "offset_mismatch"


class UploadLocked(AppError):
    status = 423
    code = "upload_locked"


class UploadGone(AppError):
    status = 410
    code = "upload_gone"


class ClientGone(AppError):
    """The client disconnected mid-upload (the response is never seen)."""

    status = 400
    code = "client_disconnected"


class UploadCorrupt(AppError):
    """The bytes to store are not the ones received and hashed (the local file changed
    under us): nothing is stored."""

    status = 500
    code = "upload_corrupt"


class DigestMismatch(AppError):
    """The body's SHA-256 is not the one the client declared (``Repr-Digest``): nothing
    was stored."""

    status = 400
    code = "digest_mismatch"


class BadDigestHeader(AppError):
    """A ``Repr-Digest`` / ``Content-Digest`` header that cannot be read."""

    status = 400
    code = "bad_digest_header"
