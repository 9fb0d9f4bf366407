"""`archive probe`, `archive keyframes`, `archive fixity` and `archive reconcile`.

probe/keyframes run the same app.video code as the server, offline (no database).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.config import get_settings


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


VideoArg = Annotated[
    Path, typer.Argument(help="a video file", exists=True, dir_okay=False, readable=True)
]


def probe_cmd(video: VideoArg) -> None:
    """Print the video's metadata as JSON (the same probe the upload check uses)."""
    from app.video import VideoError, probe

    try:
        info = probe(video, timeout=get_settings().ffprobe_timeout_seconds)
    except VideoError as exc:
        _fail(f"{video}: {exc.message}")
    typer.echo(json.dumps(info, indent=2, ensure_ascii=False))


def keyframes_cmd(
    video: VideoArg,
    out: Annotated[
        Path, typer.Option("--out", help="directory for the JPEG keyframes", file_okay=False)
    ],
    min_interval: Annotated[
        float | None, typer.Option(help="at least one frame per this many seconds (0: off)")
    ] = None,
    threshold: Annotated[
        int | None,
        typer.Option(help="drop a frame within this pHash distance of the last kept one (-1: off)"),
    ] = None,
    diff_threshold: Annotated[
        float | None,
        typer.Option(
            help="drop a frame whose 32x32 thumbnail differs from the last kept one by at "
            "most this mean absolute value, 0-255 (-1: off)"
        ),
    ] = None,
    max_count: Annotated[int | None, typer.Option(help="at most this many frames")] = None,
) -> None:
    """Write the keyframes to --out and print [{"timestamp", "path", "phash"}, ...] as JSON."""
    from app.video import VideoError, extract_keyframes

    s = get_settings()
    try:
        frames = extract_keyframes(
            video,
            out,
            min_interval=s.keyframe_min_interval_seconds if min_interval is None else min_interval,
            phash_threshold=s.keyframe_phash_threshold if threshold is None else threshold,
            diff_threshold=s.keyframe_diff_threshold if diff_threshold is None else diff_threshold,
            max_count=s.keyframe_max_count if max_count is None else max_count,
            timeout=s.ffmpeg_timeout_seconds,
        )
    except VideoError as exc:
        _fail(f"{video}: {exc.message}")
    typer.echo(
        json.dumps(
            [{"timestamp": f.timestamp, "path": str(f.path), "phash": f.phash} for f in frames],
            indent=2,
        )
    )


def fixity_cmd(
    code: Annotated[str | None, typer.Argument(help="one clip (default: every original)")] = None,
) -> None:
    """Re-hash originals (every byte) against their SHA-256; print each finding (ok, changed,
    missing, unreadable) and the run's figures; exit 1 on any failure. Also lists files in
    the store that no record refers to (never deletes them; see `archive reconcile`)."""
    from sqlalchemy import select

    from app.ingest import fixity
    from app.ingest.models import Media
    from app.storage.backend import ORIGINALS, SHA_RE
    from app.storage.configured import get_backend
    from app.tasks import bootstrap, session_scope

    def show(c: fixity.Checked) -> None:
        status = "ok" if c.ok else f"FAILED: {c.result.status}: {c.result.detail}"
        typer.echo(f"{c.target.code}  SHA-256:{c.target.sha256}  {status}")

    bootstrap()  # every mapper, as every entrance does
    report = fixity.check_all(code, on_file=show)
    if code and not report.files:
        _fail(f"clip {code} has no original")
    if not code:
        with session_scope() as session:
            known = set(session.scalars(select(Media.sha256)))
        for o in get_backend().list(ORIGINALS):
            sha = o.key[len(ORIGINALS) :]
            if SHA_RE.match(sha) and sha not in known:
                typer.echo(f"unreferenced original (no record): SHA-256:{sha}")
    failed = len(report.failures)
    typer.echo(
        f"{report.files} file(s), {report.bytes} bytes in {report.seconds:.2f} s "
        f"({report.mb_per_s:.1f} MB/s), {failed} failure(s)"
    )
    if failed:
        typer.secho(f"{failed} original(s) failed the fixity check", fg=typer.colors.RED, err=True)
        sys.exit(1)


def reconcile_cmd(
    quarantine: Annotated[
        bool,
        typer.Option(
            "--quarantine",
            help="move untracked files to MEDIA_ROOT/quarantine/ (never deletes; on S3 "
            "untracked originals stay in the bucket)",
        ),
    ] = False,
    remove_derivatives: Annotated[
        bool,
        typer.Option(
            "--remove-derivatives",
            help="delete derivative generations and public copies no record points at "
            "(on S3; they can be made again by re-processing)",
        ),
    ] = False,
    min_age: Annotated[
        float | None,
        typer.Option(
            help="skip untracked files younger than this many seconds "
            "(default ARCHIVE_UPLOAD_TMP_STALE_SECONDS)"
        ),
    ] = None,
) -> None:
    """Compare the database with the media store (the bucket on S3): rows whose original is
    missing or of the wrong size, originals no row refers to, stale partial uploads, and
    on S3 derivative generations no row points at. Dry unless --quarantine or
    --remove-derivatives; exit 1 while anything is left to look at."""
    from app.ingest.reconcile import reconcile
    from app.storage import get_store
    from app.storage.configured import get_backend
    from app.tasks import session_scope

    backend = get_backend()
    with session_scope() as session:
        report = reconcile(
            session,
            get_store(),
            quarantine=quarantine,
            actor=_actor(),
            min_age=min_age,
            remove_derivatives=remove_derivatives,
            backend=backend,
        )
    for f in report.findings:
        tail = ""
        if (moved := report.quarantined.get(f.subject)) is not None:
            tail = f"  -> moved to {moved}"
        elif f.subject in report.removed:
            tail = f"  -> removed ({report.removed[f.subject]} object(s))"
        elif f.subject in report.kept:
            tail = "  -> left in the bucket (not moved: a WORM bucket cannot)"
        typer.echo(f"{f.kind}  {f.subject}  {f.detail}{tail}")
    for subject in report.young:
        typer.echo(f"skipped (too new to judge)  {subject}")
    left = len(report.unresolved)
    changed = quarantine or remove_derivatives
    mode = (
        ""
        if changed
        else " (dry run: nothing changed; --quarantine moves untracked files"
        + (
            ", --remove-derivatives deletes unreferenced derivatives)"
            if backend.name != "local"
            else ")"
        )
    )
    removed = f", {len(report.removed)} derivative set(s) removed" if report.removed else ""
    typer.echo(
        f"{len(report.findings)} finding(s), {len(report.quarantined)} quarantined{removed}, "
        f"{len(report.young)} skipped{mode}"
    )
    if backend.name != "local" and any(f.kind == "original_without_row" for f in report.findings):
        typer.echo(
            "on S3, originals no record refers to are reported and left in the bucket: the "
            "archive never moves or deletes an original (and a WORM bucket could not); look "
            "at each one (an upload that died before its commit, or one from elsewhere)"
        )
    if left:
        sys.exit(1)


def register(app: typer.Typer) -> None:
    app.command("probe")(probe_cmd)
    app.command("keyframes")(keyframes_cmd)
    app.command("fixity")(fixity_cmd)
    app.command("reconcile")(reconcile_cmd)
