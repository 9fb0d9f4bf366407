"""``archive export bag`` and ``archive verify-bag`` (the latter offline: no database)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

export_app = typer.Typer(help="Export evidence packages.", no_args_is_help=True)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@export_app.command("bag")
def export_bag(
    codes: Annotated[list[str] | None, typer.Argument(help="clip codes")] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="FILE.tar (one tar, a bag per clip inside) or a DIR (one bag directory "
            "per clip, DIR/<CODE>/)",
        ),
    ] = Path("evidence.tar"),
    city: Annotated[str | None, typer.Option(help="every clip of this city")] = None,
    status: Annotated[
        list[str] | None, typer.Option(help="every clip in this state (repeatable)")
    ] = None,
) -> None:
    """Export BagIt (RFC 8493) evidence packages: the original byte for byte, its
    derivatives, the record, the review, the custody events and their proofs. Each export
    is written to the custody log."""
    from app.errors import AppError
    from app.evidence import service
    from app.evidence.package import write_dir, write_tar
    from app.tasks import session_scope

    as_tar = out.suffix == ".tar"
    if not as_tar and out.exists() and not out.is_dir():
        _fail(f"--out {out} is a file: give FILE.tar or a directory")
    try:
        with session_scope() as session:
            chosen = service.select_codes(session, codes or [], city=city, status=status)
            if not chosen:
                _fail("no clip matches")
            plans = [service.plan_bag(session, c, actor=_actor()) for c in chosen]
            if not as_tar:
                existing = [p.root for p in plans if (out / p.root).exists()]
                if existing:
                    _fail(f"{out / existing[0]} exists already; choose another --out")
            # the files are written inside the transaction: if writing fails, the exports
            # are not logged as done
            if as_tar:
                size = write_tar(plans, out)
                typer.echo(f"wrote {out} ({size} bytes): {', '.join(p.root for p in plans)}")
            else:
                for plan in plans:
                    typer.echo(f"wrote {write_dir(plan, out)}")
    except AppError as exc:
        _fail(exc.message)


def verify_bag(
    path: Annotated[Path, typer.Argument(help="an evidence FILE.tar or a bag DIR", exists=True)],
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="the archive's published verifier key (from /.well-known/archive-log-key "
            "or its README), as text or a FILE; the checkpoint must be signed by it",
        ),
    ] = None,
) -> None:
    """Check evidence bags offline (no database, no network): the BagIt manifests, the
    custody events, the inclusion proofs against the checkpoint, the checkpoint's
    signature and its RFC 3161 timestamp. Prints each check; exit 1 if any fails."""
    import tarfile

    from app.evidence.verify import verify

    if key is not None and Path(key).is_file():
        key = Path(key).read_text(encoding="utf-8").strip()
    try:
        bags = verify(path, key)
    except (tarfile.TarError, OSError, UnicodeDecodeError) as exc:
        _fail(f"{path} cannot be read as a bag: {exc}")
    if not bags:
        _fail(f"{path} holds no bag (no bagit.txt)")
    bad = 0
    for bag in bags:
        typer.echo(f"bag {bag.root}")
        for c in bag.checks:
            word = {True: "PASS", False: "FAIL", None: "SKIP"}[c.ok]
            typer.echo(f"  {word}  {c.name}: {c.detail}")
        bad += not bag.ok
    if bad:
        typer.secho(f"{bad} bag(s) failed verification", fg=typer.colors.RED, err=True)
        sys.exit(1)
    typer.echo(f"ok: {len(bags)} bag(s) verified")


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.command("verify-bag")(verify_bag)
