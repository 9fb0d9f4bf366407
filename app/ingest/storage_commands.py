"""``archive storage migrate --to s3``: copy the local media store into the S3 bucket of
the ARCHIVE_S3_* settings (app/ingest/migration.py, app/storage/migrate.py)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

storage_app = typer.Typer(help="The media store's backends.", no_args_is_help=True)

NEXT_STEPS = """\
next: every original is in the bucket and verified. Now
  1. stop the server and the workers;
  2. set ARCHIVE_STORAGE=s3 (keep the ARCHIVE_S3_* settings as they are);
  3. run `archive storage migrate --to s3` once more (it copies what arrived meanwhile
     and verifies the rest), start the server and workers;
  4. run `archive fixity` and `archive reconcile`: both now read the bucket.
The local files under {root} were not touched: keep them until you have a backup of the
bucket, then remove them yourself."""


@storage_app.command("migrate")
def migrate_cmd(
    to: Annotated[str, typer.Option("--to", help="the target backend (s3)")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what would be copied; copy nothing")
    ] = False,
) -> None:
    """Copy every original (and its current derivatives, playback and blurred copies) from
    the local store under ARCHIVE_MEDIA_ROOT into the S3 bucket (ARCHIVE_S3_*), create-only,
    each read back and its SHA-256 checked. Resumable: what is there and verifies is
    skipped. Works while ARCHIVE_STORAGE is still local; never deletes a local file.
    Exit 1 on any failure."""
    from app.config import get_settings
    from app.errors import AppError
    from app.ingest.commands import _actor, _fail
    from app.ingest.migration import MigrationSetupError, run, target_backend
    from app.tasks import bootstrap

    settings = get_settings()
    bootstrap()
    try:
        target = target_backend(settings, to)
        target.check()
    except MigrationSetupError as exc:
        _fail(str(exc))
    except AppError as exc:
        _fail(exc.message)
    where = f"{settings.s3_endpoint or 'AWS S3'} bucket {settings.s3_bucket!r}"
    typer.echo(f"{'dry run: ' if dry_run else ''}copying {settings.media_root} -> {where}")
    try:
        report = run(settings, target, dry_run=dry_run, actor=_actor(), say=typer.echo)
    except AppError as exc:  # the store went away: what was verified stays verified
        _fail(f"{exc.message} (run the command again to resume)")
    for sha in report.orphans:
        typer.echo(
            f"not copied: originals/{sha} has no media row "
            "(see `archive reconcile`; it stays on local disk)"
        )
    typer.echo(
        f"{report.originals} original(s): {report.copied} copied, {report.verified} "
        f"already there and verified; derivatives: {report.derivatives_copied} copied, "
        f"{report.derivatives_kept} already there; {report.bytes_copied / 1e6:.1f} MB in "
        f"{report.seconds:.1f} s; {len(report.failures)} failure(s)"
        + (" (dry run: nothing copied)" if dry_run else "")
    )
    if report.failures:
        for f in report.failures:
            typer.secho(f"failed: {f}", fg=typer.colors.RED, err=True)
        typer.secho(
            f"{len(report.failures)} object(s) failed: nothing was overwritten; fix them and "
            "run the command again (it resumes)",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(1)
    if not dry_run:
        typer.echo(NEXT_STEPS.format(root=settings.media_root))


def register(app: typer.Typer) -> None:
    app.add_typer(storage_app, name="storage")
