"""The fixity cycle: every original re-hashed once per ``ARCHIVE_FIXITY_CYCLE_DAYS``.

The schedule is a sweeper (app/ingest/tasks.py), so it runs wherever jobs run: in the
server's embedded workers, in ``archive worker``, in the Celery worker. Each scheduled run
checks a slice: the originals checked longest ago, as many as the time since the last
scheduled run is of the cycle (at least one; and at least every original already overdue),
so the whole store is read once per cycle, spread evenly. A run reads at most
``ARCHIVE_FIXITY_MAX_MB_PER_S`` and stops after ``budget_seconds`` (the rest comes first in
the next run), so it never crowds out the other sweepers. Several processes sweep: a run
is skipped when another one started less than half an interval ago.

``archive fixity`` runs the same check over every original (or one clip's), unthrottled.

Each file is hashed outside any transaction; its finding is written in a short one of its
own. Findings: ``ok``, ``changed``, ``missing``, ``unreadable`` (app/storage/fixity.py).
Custody: every run is one ``fixity.run`` event with its figures, every failure one
``fixity.failed`` event on its clip.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.clips.models import Clip
from app.config import get_settings
from app.custody import service as custody
from app.db import session_scope
from app.ingest.models import FixityRun, Media
from app.kit.clock import utcnow
from app.storage.configured import get_backend
from app.storage.fixity import OK, FileCheck, Throttle

SCHEDULE, CLI = "schedule", "cli"
ACTOR = "system:fixity"


@dataclass(frozen=True)
class Target:
    media_id: int
    sha256: str
    size: int
    code: str
    has_sha512: bool = True  # False: this read also takes the original's SHA-512


@dataclass(frozen=True)
class Checked:
    target: Target
    result: FileCheck

    @property
    def ok(self) -> bool:
        return self.result.status == OK


@dataclass
class RunReport:
    run_id: int
    trigger: str
    checked: list[Checked] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return len(self.checked)

    @property
    def bytes(self) -> int:
        return sum(c.result.read for c in self.checked)

    @property
    def failures(self) -> list[Checked]:
        return [c for c in self.checked if not c.ok]

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1_000_000 / self.seconds if self.seconds > 0 else 0.0


def _last_checked() -> ColumnElement[datetime]:
    """When an original was last looked at (never: when it was stored)."""
    return func.coalesce(Media.fixity_attempted_at, Media.fixity_checked_at, Media.created_at)


def _targets(
    session: Session, *, code: str | None = None, limit: int | None = None
) -> list[Target]:
    stmt = (
        select(Media.id, Media.sha256, Media.size, Clip.code, Media.sha512.is_not(None))
        .join(Clip, Clip.id == Media.clip_id)
        .order_by(_last_checked(), Media.id)
    )
    if code is not None:
        stmt = stmt.where(Clip.code == code)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [Target(*row) for row in session.execute(stmt).all()]


def cycle() -> timedelta:
    return timedelta(days=get_settings().fixity_cycle_days)


def overdue_count(session: Session, now: datetime | None = None) -> int:
    """Originals not looked at within the cycle."""
    since = (now or utcnow()) - cycle()
    return int(
        session.scalar(select(func.count()).select_from(Media).where(_last_checked() < since)) or 0
    )


def slice_size(total: int, elapsed: float, overdue: int) -> int:
    """How many originals a scheduled run checks: its share of the cycle for ``elapsed``
    seconds (at least one), and never fewer than those already overdue."""
    if total <= 0:
        return 0
    share = math.ceil(total * min(elapsed, cycle().total_seconds()) / cycle().total_seconds())
    return min(total, max(1, share, overdue))


def run(
    targets: list[Target],
    *,
    trigger: str,
    mb_per_s: float = 0.0,
    budget_seconds: float | None = None,
    on_file: Callable[[Checked], None] | None = None,
) -> RunReport:
    """Check ``targets`` in order; record each finding, the run and its failures."""
    with session_scope() as session:
        row = FixityRun(trigger=trigger, started_at=utcnow())
        session.add(row)
        session.flush()
        report = RunReport(row.id, trigger)
    backend = get_backend()  # local disk or S3: the same reads and findings
    throttle = Throttle(mb_per_s)
    start = time.monotonic()
    for target in targets:
        if budget_seconds is not None and time.monotonic() - start >= budget_seconds:
            break
        result = backend.check_original(
            target.sha256, target.size, throttle, sha512=not target.has_sha512
        )
        checked = Checked(target, result)
        _record(checked)
        report.checked.append(checked)
        if on_file is not None:
            on_file(checked)
    report.seconds = time.monotonic() - start
    _finish(report)
    return report


def _record(checked: Checked) -> None:
    t, r = checked.target, checked.result
    with session_scope() as session:
        media = session.get(Media, t.media_id)
        if media is None or media.sha256 != t.sha256:
            return  # the row went while its file was read: nothing to record
        now = utcnow()
        media.fixity_attempted_at = now
        media.fixity_status = r.status
        media.fixity_detail = r.detail[:300] or None
        if checked.ok:
            media.fixity_checked_at = now
            if r.sha512 is not None and media.sha512 is None:
                media.sha512 = r.sha512  # an original stored before the SHA-512 was taken
            return
        custody.record(
            session,
            actor=ACTOR,
            action="fixity.failed",
            clip_code=t.code,
            payload={
                "sha256": t.sha256,
                "finding": r.status,
                "detail": r.detail,
                "found_sha256": r.actual,
                "bytes_read": r.read,
            },
        )


def _finish(report: RunReport) -> None:
    with session_scope() as session:
        row = session.get(FixityRun, report.run_id)
        assert row is not None
        row.finished_at = utcnow()
        row.files, row.bytes = report.files, report.bytes
        row.failures, row.seconds = len(report.failures), round(report.seconds, 3)
        custody.record(
            session,
            actor=ACTOR,
            action="fixity.run",
            payload={
                "run": report.run_id,
                "trigger": report.trigger,
                "files": report.files,
                "bytes": report.bytes,
                "failures": len(report.failures),
                "seconds": round(report.seconds, 3),
                "failed": [c.target.code for c in report.failures][:100],
            },
        )


def check_all(
    code: str | None = None, *, on_file: Callable[[Checked], None] | None = None
) -> RunReport:
    """``archive fixity``: every original (or one clip's), oldest check first, unthrottled."""
    with session_scope() as session:
        targets = _targets(session, code=code)
    return run(targets, trigger=CLI, on_file=on_file)


def scheduled(every_seconds: float, budget_seconds: float) -> RunReport | None:
    """One scheduled slice of the cycle (None: nothing to do, or another process is on it)."""
    now = utcnow()
    with session_scope() as session:
        last = session.scalar(
            select(func.max(FixityRun.started_at)).where(FixityRun.trigger == SCHEDULE)
        )
        if last is not None and (now - last).total_seconds() < every_seconds / 2:
            return None
        elapsed = (now - last).total_seconds() if last is not None else every_seconds
        total = int(session.scalar(select(func.count()).select_from(Media)) or 0)
        n = slice_size(total, elapsed, overdue_count(session, now))
        if n == 0:
            return None
        targets = _targets(session, limit=n)
    settings = get_settings()
    return run(
        targets,
        trigger=SCHEDULE,
        mb_per_s=settings.fixity_max_mb_per_s,
        budget_seconds=budget_seconds,
    )


@dataclass(frozen=True)
class Summary:
    """What the team dashboard shows."""

    last_run: FixityRun | None
    complete_since: datetime | None  # every original was checked at or after this
    overdue: int
    originals: int
    failures: list[dict[str, Any]]


def summary(session: Session) -> Summary:
    last = session.scalar(
        select(FixityRun)
        .where(FixityRun.finished_at.is_not(None))
        .order_by(FixityRun.id.desc())
        .limit(1)
    )
    originals = int(session.scalar(select(func.count()).select_from(Media)) or 0)
    unchecked = session.scalar(
        select(func.count()).select_from(Media).where(Media.fixity_attempted_at.is_(None))
    )
    since = None if unchecked else session.scalar(select(func.min(Media.fixity_attempted_at)))
    rows = session.execute(
        select(
            Clip.code,
            Media.sha256,
            Media.fixity_status,
            Media.fixity_detail,
            Media.fixity_attempted_at,
        )
        .join(Clip, Clip.id == Media.clip_id)
        .where(Media.fixity_status.is_not(None), Media.fixity_status != OK)
        .order_by(Media.fixity_attempted_at.desc())
        .limit(50)
    ).all()
    failures = [
        {"code": r[0], "sha256": r[1], "finding": r[2], "detail": r[3], "at": r[4]} for r in rows
    ]
    return Summary(last, since, overdue_count(session), originals, failures)
