"""`archive duplicates rebuild` and `archive duplicates scan [CODE]`.

rebuild: compute the PDQ frame hashes of every processed original that has none (the
backfill for clips stored before frame hashes existed), then run the match for every
original, so the candidate pairs are complete. scan: run the match for one clip or all.
Both show a progress bar on a terminal and print one line per clip; a decided pair keeps
its decision (a dismissal stays dismissed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Annotated, Any

import typer

from app.config import get_settings

duplicates_app = typer.Typer(
    help="Near-duplicate search: backfill and matching.", no_args_is_help=True
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _originals(code: str | None) -> list[tuple[int, str, bool]]:
    """(media id, clip code, has frame hashes) of every processed original, by code."""
    from sqlalchemy import exists, select

    from app.clips.models import Clip
    from app.ingest.models import FrameHash, Media
    from app.tasks import session_scope

    with session_scope() as session:
        q = (
            select(Media.id, Clip.code, exists().where(FrameHash.media_id == Media.id))
            .join(Clip, Clip.id == Media.clip_id)
            .where(Media.derivative_generation.is_not(None), Clip.deleted_at.is_(None))
            .order_by(Clip.code)
        )
        if code:
            q = q.where(Clip.code == code)
        return [(r[0], r[1], bool(r[2])) for r in session.execute(q)]


def _each(label: str, items: list[Any], work: Callable[[Any], None]) -> None:
    bar: Any = (
        typer.progressbar(length=len(items), label=label, file=sys.stderr)
        if items and sys.stderr.isatty()
        else nullcontext()
    )
    with bar as b:
        for item in items:
            work(item)
            if b is not None:
                b.update(1)


def _build_index() -> None:
    """This process's own index, loaded once (refreshed before each search)."""
    from app.duplicates import index as frame_index
    from app.tasks import session_scope

    if get_settings().duplicates_index == "faiss":
        with session_scope() as session:
            frame_index.get_index().build(session)


def _scan(items: Iterable[tuple[int, str, bool]]) -> tuple[int, int]:
    from app.duplicates.tasks import scan_one
    from app.jobs.registry import StepFailed
    from app.video import VideoError

    listed = list(items)
    found = [0, 0]

    def one(item: tuple[int, str, bool]) -> None:
        media_id, code, _ = item
        try:
            new = scan_one(media_id)
        except (StepFailed, VideoError) as exc:
            typer.echo(f"{code}  failed: {exc}")
            found[1] += 1
            return
        found[0] += new
        typer.echo(f"{code}  {new} new candidate pair(s)")

    _each("matching", listed, one)
    return found[0], found[1]


@duplicates_app.command("scan")
def scan_cmd(
    code: Annotated[str | None, typer.Argument(help="one clip (default: every clip)")] = None,
) -> None:
    """Run the match for one clip or every clip and record new candidate pairs."""
    items = [i for i in _originals(code) if i[2]]
    if code and not items:
        _fail(f"clip {code} has no frame hashes yet (processing not finished; see rebuild)")
    _build_index()
    new, failed = _scan(items)
    typer.echo(f"{len(items)} clip(s) matched, {new} new candidate pair(s), {failed} failed")
    if failed:
        raise typer.Exit(1)


@duplicates_app.command("rebuild")
def rebuild_cmd() -> None:
    """Compute the missing frame hashes of every processed original (the backfill), then
    match every clip again."""
    from app.ingest.frame_hashes import backfill_one
    from app.video import VideoError

    missing = [i for i in _originals(None) if not i[2]]
    failed = [0]
    timeout = get_settings().ffmpeg_timeout_seconds

    def hash_one(item: tuple[int, str, bool]) -> None:
        media_id, code, _ = item
        try:
            n = backfill_one(media_id, timeout=timeout)
        except VideoError as exc:
            typer.echo(f"{code}  hashing failed: {exc.message}")
            failed[0] += 1
            return
        typer.echo(f"{code}  {n} frame hash(es)" if n is not None else f"{code}  skipped")

    _each("hashing", missing, hash_one)
    typer.echo(f"{len(missing)} original(s) without frame hashes hashed, {failed[0]} failed")
    items = [i for i in _originals(None) if i[2]]
    _build_index()
    new, failed_match = _scan(items)
    typer.echo(f"{len(items)} clip(s) matched, {new} new candidate pair(s), {failed_match} failed")
    if failed[0] or failed_match:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(duplicates_app, name="duplicates")
