"""The media store: streaming writes, SHA-256, atomic promote, paths, fixity."""

from app.storage.fs import fsync_dir
from app.storage.space import free_bytes, out_of_space
from app.storage.store import (
    Busy,
    Fixity,
    MediaStore,
    Promotion,
    TempWrite,
    TooLarge,
    Written,
    get_store,
    hash_file,
)
from app.storage.tempfiles import References
from app.storage.writer import HashingFile

__all__ = [
    "Busy",
    "Fixity",
    "HashingFile",
    "MediaStore",
    "Promotion",
    "References",
    "TempWrite",
    "TooLarge",
    "Written",
    "free_bytes",
    "fsync_dir",
    "get_store",
    "hash_file",
    "out_of_space",
]
