"""Moving a local archive's media to S3 (``archive storage migrate --to s3``): the
database's side of app/storage/migrate.py.

The originals to copy are the media rows (each with its current derivative generation);
local originals no row refers to are reported, not copied (a WORM bucket could never drop
them again: `archive reconcile --quarantine` moves them aside locally). A real run (not
``--dry-run``) is written to the custody log (``storage.migrated``) with its counts. The
copy runs outside any transaction: the rows are read first, the event written last.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from app.config import Settings
from app.custody import service as custody
from app.ingest.models import Media
from app.storage.backend import Backend
from app.storage.local import LocalBackend
from app.storage.migrate import Original, Report, migrate
from app.storage.store import MediaStore


class MigrationSetupError(Exception):
    """The target is not configured (a message for the operator)."""


def target_backend(settings: Settings, to: str) -> Backend:
    """The target store from the ARCHIVE_S3_* settings, whatever ARCHIVE_STORAGE says now."""
    if to != "s3":
        raise MigrationSetupError(f"--to {to}: only s3 is a migration target")
    if not settings.s3_bucket:
        raise MigrationSetupError(
            "--to s3 needs ARCHIVE_S3_BUCKET (and ARCHIVE_S3_ENDPOINT unless the store is "
            "AWS S3 itself, ARCHIVE_S3_REGION, and the credentials in AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY)"
        )
    from app.storage.s3 import S3Backend  # boto3 is imported only when it is used

    return S3Backend.from_settings(settings)


def run(
    settings: Settings,
    target: Backend,
    *,
    dry_run: bool,
    actor: str,
    say: Callable[[str], None],
) -> Report:
    from app.tasks import session_scope

    with session_scope() as session:
        rows = session.execute(
            select(Media.sha256, Media.size, Media.derivative_generation).order_by(Media.id)
        ).all()
    originals = [Original(r.sha256, r.size, r.derivative_generation) for r in rows]
    source = LocalBackend(MediaStore(settings.media_root))
    report = migrate(source, target, originals, dry_run=dry_run, say=say)
    if not dry_run:
        with session_scope() as session:
            custody.record(
                session,
                actor=actor,
                action="storage.migrated",
                payload={
                    "to": target.name,
                    "endpoint": settings.s3_endpoint or "AWS S3",
                    "bucket": settings.s3_bucket,
                    **report.counts(),
                    "seconds": round(report.seconds, 3),
                },
            )
    return report
