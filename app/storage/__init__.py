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
from app.storage.writer import HashingFile

__all__ = [
    "Fixity",
    "HashingFile",
    "MediaStore",
    "TempWrite",
    "TooLarge",
    "Written",
    "fsync_dir",
    "get_store",
    "hash_file",
]
