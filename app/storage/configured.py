"""The backend that ``ARCHIVE_STORAGE`` selects (app/storage/backend.py)."""

from __future__ import annotations

from app.config import Settings, get_settings
from app.storage.backend import Backend
from app.storage.local import LocalBackend
from app.storage.store import MediaStore


def make_backend(settings: Settings) -> Backend:
    if settings.storage == "s3":
        from app.storage.s3 import S3Backend  # boto3 is imported only when it is used

        return S3Backend.from_settings(settings)
    return LocalBackend(MediaStore(settings.media_root))


def get_backend() -> Backend:
    """The configured backend (one S3 client per process: boto3 clients are thread-safe)."""
    settings = get_settings()
    key = (settings.storage, str(settings.media_root), settings.s3_endpoint, settings.s3_bucket)
    cached = _cache.get(key)
    if cached is None:
        cached = _cache[key] = make_backend(settings)
    return cached


_cache: dict[tuple[str, str, str, str], Backend] = {}
