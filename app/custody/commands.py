"""`archive audit verify|checkpoint|export` and `archive keys init|show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

audit_app = typer.Typer(help="The custody log.", no_args_is_help=True)
keys_app = typer.Typer(help="The custody log's signing key.", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@audit_app.command("verify")
def audit_verify(
    checkpoint_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint saved earlier outside the system (a partner's copy of "
            "/api/v1/custody/checkpoint); today's log must be consistent with it (repeatable)",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    expect_head: Annotated[
        list[str] | None,
        typer.Option(
            "--expect-head",
            help="A chain head printed by an earlier run and kept outside the system; it must "
            "still be in the chain (repeatable)",
        ),
    ] = None,
) -> None:
    """Recompute the custody log (chain, Merkle tree, checkpoints, coverage of clips, media
    and users); exit 1 naming the first bad event or checkpoint."""
    from app.custody.audit import Saved, verify
    from app.tasks import session_scope

    for h in expect_head or []:
        if len(h.strip()) != 64 or any(c not in "0123456789abcdef" for c in h.strip().lower()):
            _fail(f"--expect-head {h!r} is not a 64-character hex hash", code=2)
    saved = []
    for path in checkpoint_file or []:
        try:
            saved.append(Saved(f"checkpoint {path}", path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"cannot read {path}: {exc}", code=2)
    with session_scope() as session:
        result = verify(session, expect_head or [], saved)
    for line in result.checked:
        typer.echo(line)
    if not result.ok:
        typer.secho(f"TAMPERED: {result.reason}", fg=typer.colors.RED, err=True)
        if result.first_bad_id is not None:
            typer.echo(f"last good head after {result.count} events: {result.head}")
        raise typer.Exit(1)
    typer.echo(f"ok: {result.count} events, chain intact, Merkle tree intact")
    for h, n in sorted(result.checkpoints.items(), key=lambda kv: kv[1]):
        typer.echo(f"checkpoint {h} found after event {n} ({result.count - n} events since)")
    typer.echo(f"root: {result.root}")
    typer.echo(f"head: {result.head}")


@audit_app.command("checkpoint")
def audit_checkpoint(
    force: Annotated[bool, typer.Option(help="Sign one even if the log has not grown")] = False,
) -> None:
    """Sign a checkpoint of the log now, stamp it at every ARCHIVE_TSA_URLS and print it (as
    partners save it). Exit 1 if a TSA failed: the checkpoint is stored all the same, and
    the failed stamps are retried with back-off by the checkpoint sweeper."""
    from app.custody import checkpoints, stamping
    from app.errors import AppError
    from app.tasks import session_scope

    try:
        with session_scope() as session:
            cp, new = checkpoints.make(session, force=force)
            note, cp_id = cp.note, cp.id
    except AppError as exc:
        _fail(exc.message)
    if not new:
        typer.echo(
            "(the log has not grown since the last checkpoint; it is repeated here)", err=True
        )
    typer.echo(note, nl=False)
    outcomes = stamping.stamp_due(checkpoint_id=cp_id)
    for o in outcomes:
        typer.echo(f"timestamp {o.tsa_url}: {o.status} ({o.detail})", err=True)
    if any(o.status != "stamped" for o in outcomes):
        typer.secho("a TSA failed; it is retried with back-off", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(code: Annotated[str | None, typer.Option(help="Only this clip")] = None) -> None:
    """Print custody events as JSON lines (all, or one clip's)."""
    from sqlalchemy import select

    from app.custody.models import CustodyEvent
    from app.tasks import session_scope

    with session_scope() as session:
        stmt = select(CustodyEvent).order_by(CustodyEvent.id)
        if code:
            stmt = stmt.where(CustodyEvent.clip_code == code)
        for e in session.scalars(stmt):
            typer.echo(
                json.dumps(
                    {
                        "id": e.id,
                        "leaf_index": e.leaf_index,
                        "occurred_at": e.occurred_at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "clip_code": e.clip_code,
                        "payload": e.payload,
                        "prev_hash": e.prev_hash,
                        "hash": e.hash,
                    },
                    ensure_ascii=False,
                )
            )


@keys_app.command("init")
def keys_init(
    force: Annotated[
        bool, typer.Option(help="Replace an existing key (every saved checkpoint is orphaned)")
    ] = False,
) -> None:
    """Create the Ed25519 key that signs checkpoints (ARCHIVE_LOG_KEY_PATH, mode 0600) and
    print its public verifier key."""
    from app.custody import checkpoint, keys

    path = keys.key_path()
    try:
        key = keys.init_key(path, force=force)
    except FileExistsError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {path} (mode 0600); keep a backup outside the server")
    typer.echo("verifier key (publish it; partners keep it):")
    typer.echo(checkpoint.verifier_key(keys.origin(), key.public_key()))


@keys_app.command("show")
def keys_show() -> None:
    """Print the public verifier key."""
    from app.custody import checkpoint, keys
    from app.errors import AppError

    try:
        key = keys.load_key(keys.key_path())
    except AppError as exc:
        _fail(exc.message)
    typer.echo(checkpoint.verifier_key(keys.origin(), key.public_key()))


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.add_typer(keys_app, name="keys")
