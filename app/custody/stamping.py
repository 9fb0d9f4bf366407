"""Stamping checkpoints at the TSAs (``ARCHIVE_TSA_URLS``) and the scheduled checkpoint.

Each ``custody_timestamp`` row is one TSA's token over one checkpoint's note. A row is
``pending`` until tried, ``stamped`` once a token was accepted, ``failed`` otherwise:
``last_error`` says why, ``attempts`` how often, and ``next_attempt_at`` when it is tried
again (back-off doubling from 30 s up to an hour; ``None`` once ``ARCHIVE_TSA_MAX_ATTEMPTS``
were used). A TSA that is down, slow (``ARCHIVE_TSA_TIMEOUT_SECONDS``) or answers garbage
never blocks anything: stamping runs in the ``checkpoint`` sweeper (app/custody/tasks.py)
or in ``archive audit checkpoint``, never in a request, and the network call is made
outside any database transaction.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.custody import checkpoints, keys, timestamps, tree
from app.custody.exceptions import LogKeyMissing
from app.custody.models import CustodyCheckpoint, CustodyTimestamp
from app.db import session_scope
from app.kit.clock import utcnow

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 3600.0
CONTENT_TYPE = "application/timestamp-query"


@dataclass(frozen=True)
class Outcome:
    tsa_url: str
    status: str
    detail: str  # the error, or the TSA's time


def trusted_pem() -> bytes | None:
    path: Path | None = get_settings().tsa_ca_file
    return path.read_bytes() if path is not None else None


def backoff(attempts: int) -> timedelta:
    return timedelta(
        seconds=min(BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    )


def post(url: str, body: bytes, timeout: float) -> bytes:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": CONTENT_TYPE})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured URLs
        return bytes(resp.read(1_000_000))


def ask(url: str, note: str) -> timestamps.Stamp:
    """One TSA's stamp over the note, or TsaAnswerError / OSError saying why not."""
    request = timestamps.build_request(note)
    data = post(url, request.der, get_settings().tsa_timeout_seconds)
    stamp = timestamps.accept_response(data, request, note)
    trusted = trusted_pem()
    verdict = timestamps.verify(stamp.token, note, stamp.chain_pem, trusted)
    if not verdict.ok:
        raise timestamps.TsaAnswerError(verdict.reason)
    if trusted is not None:  # the bag then carries the whole chain, root included
        roots = [
            c for c in timestamps.load_pem(trusted) if c not in timestamps.load_pem(stamp.chain_pem)
        ]
        chain = stamp.chain_pem + timestamps.certs_pem(roots)
        stamp = timestamps.Stamp(stamp.token, chain, stamp.gen_time)
    return stamp


def _due(session: Session, now: datetime, checkpoint_id: int | None) -> list[int]:
    stmt = select(CustodyTimestamp.id).where(CustodyTimestamp.status != "stamped")
    if checkpoint_id is not None:
        stmt = stmt.where(CustodyTimestamp.checkpoint_id == checkpoint_id)
    else:
        stmt = stmt.where(
            CustodyTimestamp.next_attempt_at.is_not(None),
            CustodyTimestamp.next_attempt_at <= now,
        )
    return list(session.scalars(stmt.order_by(CustodyTimestamp.id)))


def stamp_due(*, checkpoint_id: int | None = None) -> list[Outcome]:
    """Try every row that is due (or every unstamped row of one checkpoint, now)."""
    with session_scope() as session:
        ids = _due(session, utcnow(), checkpoint_id)
    return [stamp_row(i) for i in ids]


def stamp_row(row_id: int) -> Outcome:
    with session_scope() as session:
        row = session.get(CustodyTimestamp, row_id)
        assert row is not None
        cp = session.get(CustodyCheckpoint, row.checkpoint_id)
        assert cp is not None
        url, note = row.tsa_url, cp.note
    stamp, error = _try(url, note)  # the network call, outside any transaction
    with session_scope() as session:
        row = session.get(CustodyTimestamp, row_id)
        assert row is not None
        return _record(row, stamp, error)


def stamp_now(session: Session, cp: CustodyCheckpoint) -> list[Outcome]:
    """Stamp ``cp`` at every TSA inside the caller's transaction (an evidence export, whose
    bag must carry the token of the checkpoint made for it). Bounded by the TSA timeout; a
    TSA that fails is left to the sweeper's retries, the bag then says it has no token."""
    rows = session.scalars(
        select(CustodyTimestamp)
        .where(CustodyTimestamp.checkpoint_id == cp.id, CustodyTimestamp.status != "stamped")
        .order_by(CustodyTimestamp.id)
    ).all()
    outcomes = []
    for row in rows:
        stamp, error = _try(row.tsa_url, cp.note)
        outcomes.append(_record(row, stamp, error))
        if stamp is not None:
            break  # one good token is what a bag carries; the sweeper stamps the rest
    session.flush()
    return outcomes


def _try(url: str, note: str) -> tuple[timestamps.Stamp | None, str]:
    try:
        return ask(url, note), ""
    except timestamps.TsaAnswerError as exc:
        return None, str(exc)
    except (OSError, urllib.error.URLError, ValueError) as exc:  # down, slow, refused, HTTP error
        return None, f"the TSA did not answer: {exc}"[:500]


def _record(row: CustodyTimestamp, stamp: timestamps.Stamp | None, error: str) -> Outcome:
    now = utcnow()
    row.attempts += 1
    row.updated_at = now
    if stamp is not None:
        row.status, row.token, row.chain_pem = "stamped", stamp.token, stamp.chain_pem
        row.gen_time, row.last_error, row.next_attempt_at = stamp.gen_time, "", None
        return Outcome(row.tsa_url, "stamped", stamp.gen_time.isoformat())
    row.status, row.last_error = "failed", error
    more = row.attempts < get_settings().tsa_max_attempts
    row.next_attempt_at = now + backoff(row.attempts) if more else None
    log.warning("TSA %s failed (attempt %d): %s", row.tsa_url, row.attempts, error)
    return Outcome(row.tsa_url, "failed", error)


def due_checkpoint(session: Session, now: datetime) -> bool:
    """A checkpoint is due when the log grew and the interval has passed since the last."""
    last = checkpoints.latest(session)
    if last is not None and last.size == tree.size(session):
        return False
    interval = timedelta(seconds=get_settings().checkpoint_interval_seconds)
    return last is None or last.created_at + interval <= now


def scheduled() -> int:
    """The sweeper: a checkpoint if due (and a log key is set up), then the due stamps."""
    made = 0
    try:
        with session_scope() as session:
            if tree.size(session) > 0 and due_checkpoint(session, utcnow()):
                keys.signing_key()
                checkpoints.make(session)
                made = 1
    except LogKeyMissing as exc:
        log.warning("no scheduled checkpoint: %s", exc.message)
    return made + len(stamp_due())


def bag_files(session: Session, cp: CustodyCheckpoint | None) -> dict[str, bytes]:
    """custody/checkpoint.tsr and custody/tsa-chain.pem: the first good stamp of ``cp``."""
    if cp is None:
        return {}
    row = session.scalar(
        select(CustodyTimestamp)
        .where(CustodyTimestamp.checkpoint_id == cp.id, CustodyTimestamp.status == "stamped")
        .order_by(CustodyTimestamp.id)
        .limit(1)
    )
    if row is None or row.token is None:
        return {}
    return {
        "custody/checkpoint.tsr": row.token,
        "custody/tsa-chain.pem": row.chain_pem.encode("ascii"),
    }


def status(session: Session) -> tuple[CustodyCheckpoint | None, list[CustodyTimestamp]]:
    """The last checkpoint and its stamps (for the dashboard)."""
    cp = checkpoints.latest(session)
    if cp is None:
        return None, []
    rows = session.scalars(
        select(CustodyTimestamp)
        .where(CustodyTimestamp.checkpoint_id == cp.id)
        .order_by(CustodyTimestamp.id)
    )
    return cp, list(rows)
