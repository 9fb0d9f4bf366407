"""A full disk: refuse an upload before reading its body, and say so clearly when it fills
up anyway (507 ``insufficient_storage``; nothing is stored)."""

from __future__ import annotations

from app.config import get_settings
from app.errors import InsufficientStorage
from app.storage import MediaStore


def _mib(n: int) -> str:
    return f"{n / 1024**2:,.1f} MiB"


def require_free(store: MediaStore, incoming: int | None, *, field: str | None = "file") -> None:
    """507 unless ``incoming`` bytes (0 when the length is not known yet) plus
    ``ARCHIVE_MIN_FREE_BYTES`` are free on the store."""
    reserve = get_settings().min_free_bytes
    free = store.free_bytes()
    need = (incoming or 0) + reserve
    if free < need:
        what = f"this upload ({_mib(incoming)})" if incoming else "an upload"
        raise InsufficientStorage(
            f"the archive's disk has {_mib(free)} free, too little for {what} plus the "
            f"{_mib(reserve)} it keeps in reserve; nothing was stored. Try again later.",
            field=field,
        )


def disk_full(
    *, field: str | None = "file", headers: dict[str, str] | None = None
) -> InsufficientStorage:
    return InsufficientStorage(
        "the archive's disk filled up during the upload; nothing was stored. Try again later.",
        field=field,
        headers=headers,
    )
