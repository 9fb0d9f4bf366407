"""`archive probe`, `archive keyframes` and `archive fixity`.

probe/keyframes run the same app.video code as the server, offline (no database).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.config import get_settings


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
    """Re-hash originals and compare with their SHA-256; exit 1 if any differs or is missing.
    Also lists files in the store that no record refers to (never deletes them)."""
    from sqlalchemy import select

    from app.clips.models import Clip
    from app.ingest.models import Media
    from app.kit.clock import utcnow
    from app.storage import get_store
    from app.tasks import session_scope

    store = get_store()
    bad = 0
    with session_scope() as session:
        stmt = select(Media, Clip.code).join(Clip, Clip.id == Media.clip_id).order_by(Media.id)
        if code:
            stmt = stmt.where(Clip.code == code)
        known: set[str] = set()
        for media, clip_code in session.execute(stmt):
            known.add(media.sha256)
            result = store.fixity(media.sha256)
            status = "ok" if result.ok else f"FAILED: {result.reason}"
            typer.echo(f"{clip_code}  SHA-256:{media.sha256}  {status}")
            if result.ok:
                media.fixity_checked_at = utcnow()
            else:
                bad += 1
        if not code:
            all_known = set(session.scalars(select(Media.sha256)))
            for sha in store.iter_originals():
                if sha not in all_known:
                    typer.echo(f"unreferenced original (no record): SHA-256:{sha}")
    if bad:
        typer.secho(f"{bad} original(s) failed the fixity check", fg=typer.colors.RED, err=True)
        sys.exit(1)


def register(app: typer.Typer) -> None:
    app.command("probe")(probe_cmd)
    app.command("keyframes")(keyframes_cmd)
    app.command("fixity")(fixity_cmd)
