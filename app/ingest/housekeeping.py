"""What the store's sweep of tmp/ asks the database (app/storage/tempfiles.py): whether a
dead promotion's row committed, and whether a resumable upload is still open."""

from __future__ import annotations

from sqlalchemy import select

from app.db import session_scope
from app.ingest.models import Media, Upload
from app.storage import MediaStore, References


def _has_row(sha256: str) -> bool:
    with session_scope() as session:
        return session.scalar(select(Media.id).where(Media.sha256 == sha256).limit(1)) is not None


def _upload_open(upload_id: str) -> bool:
    with session_scope() as session:
        state = session.scalar(select(Upload.state).where(Upload.id == upload_id))
        return state == "uploading"


def references() -> References:
    """Each answer in its own short transaction (the sweep runs outside any request)."""
    return References(has_row=_has_row, upload_open=_upload_open)


def sweep_temp(store: MediaStore, older_than: float) -> int:
    return store.sweep_temp(older_than, references())
