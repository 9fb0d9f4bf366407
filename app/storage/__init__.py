"""The media store: streaming writes, SHA-256, atomic promote, paths, fixity."""

from app.storage.store import (
    Fixity,
    MediaStore,
    TempWrite,
    TooLarge,
    Written,
    fsync_dir,
    get_store,
    hash_file,
)

__all__ = [
    "Fixity",
    "MediaStore",
    "TempWrite",
    "TooLarge",
    "Written",
    "fsync_dir",
    "get_store",
    "hash_file",
]
