"""Job rows: enqueue, claim (a lease with a token), heartbeat, finish, re-queue, retry.

A row is keyed by (clip, step, original SHA-256), so enqueueing twice leaves one row and a
step's result is written once, in the same transaction that marks the row done, and only
by the holder of the current claim token.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.jobs import dispatch, registry
from app.jobs.models import ProcessingJob
from app.kit.clock import utcnow

BOOT_ID = uuid.uuid4().hex[:12]
HOST = socket.gethostname()
ERROR_CHARS = 4000


def worker_identity(name: str = "worker") -> str:
    """``host:pid:boot:name``: lets a restarted process recognise its predecessor's claims."""
    return f"{HOST}:{os.getpid()}:{BOOT_ID}:{name}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_is_dead(claimed_by: str | None) -> bool:
    """True when the claim belongs to a process on this host that no longer exists."""
    if not claimed_by:
        return True
    parts = claimed_by.split(":")
    if len(parts) < 3 or parts[0] != HOST:
        return False  # another machine: only the heartbeat timeout can tell
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return parts[2] != BOOT_ID  # same pid, earlier incarnation (pid 1 in containers)
    return not _pid_alive(pid)


def enqueue(session: Session, *, clip_id: int, media_id: int, sha256: str, step: str) -> int:
    """Queue ``step`` for this original (idempotent); it is sent after the commit."""
    registry.get_step(step)  # raises for a step no domain registered
    job = session.scalar(
        select(ProcessingJob).where(
            ProcessingJob.clip_id == clip_id,
            ProcessingJob.step == step,
            ProcessingJob.original_sha256 == sha256,
        )
    )
    if job is None:
        job = ProcessingJob(
            clip_id=clip_id,
            media_id=media_id,
            step=step,
            original_sha256=sha256,
            state="queued",
            progress=0,
            attempts=0,
        )
        session.add(job)
    elif job.state != "running":
        job.state, job.progress, job.queued_at = "queued", 0, utcnow()
        job.claim_token = job.claimed_by = None
    session.flush()
    dispatch.after_commit(session, job.id)
    return job.id


@dataclass(frozen=True)
class Claim:
    job_id: int
    token: str
    step: str
    clip_id: int
    media_id: int
    sha256: str
    attempt: int


def claim(session: Session, worker: str, job_id: int | None = None) -> Claim | None:
    """Take a queued job (or a running one whose worker died) with a conditional update."""
    stmt = select(ProcessingJob).order_by(ProcessingJob.id)
    if job_id is not None:
        stmt = stmt.where(ProcessingJob.id == job_id)
    else:
        stmt = stmt.where(ProcessingJob.state == "queued").limit(20)
    for job in session.scalars(stmt).all():
        if job.state == "running" and claim_is_dead(job.claimed_by):
            expected_state, expected_token = "running", job.claim_token
        elif job.state == "queued":
            expected_state, expected_token = "queued", job.claim_token
        else:
            continue
        token = uuid.uuid4().hex
        now = utcnow()
        cond = [ProcessingJob.id == job.id, ProcessingJob.state == expected_state]
        cond.append(
            ProcessingJob.claim_token == expected_token
            if expected_token
            else ProcessingJob.claim_token.is_(None)
        )
        done = session.execute(
            update(ProcessingJob)
            .where(*cond)
            .values(
                state="running",
                claim_token=token,
                claimed_by=worker,
                started_at=now,
                heartbeat_at=now,
                attempts=ProcessingJob.attempts + 1,
                progress=0,
                finished_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            return Claim(
                job.id,
                token,
                job.step,
                job.clip_id,
                job.media_id,
                job.original_sha256,
                job.attempts + 1,
            )
    return None


def _owned(job_id: int, token: str) -> list[Any]:
    return [
        ProcessingJob.id == job_id,
        ProcessingJob.claim_token == token,
        ProcessingJob.state == "running",
    ]


def heartbeat(session: Session, job_id: int, token: str, progress: int | None) -> bool:
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = max(0, min(100, progress))
    res = session.execute(
        update(ProcessingJob)
        .where(*_owned(job_id, token))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return res.rowcount == 1  # type: ignore[attr-defined]


def lock_owned(session: Session, job_id: int, token: str) -> ProcessingJob | None:
    """The job row if this claim still holds it (locked for the finishing transaction)."""
    stmt = select(ProcessingJob).where(*_owned(job_id, token)).with_for_update()
    return session.scalar(stmt)


def mark_done(job: ProcessingJob) -> None:
    job.state, job.progress, job.finished_at = "done", 100, utcnow()
    job.last_error = None
    job.claim_token = None


def mark_failed(
    session: Session, job_id: int, token: str, error: str, *, retry: bool, max_attempts: int
) -> str | None:
    """Record ``error``; re-queue when ``retry`` and attempts remain. Returns the new state."""
    job = lock_owned(session, job_id, token)
    if job is None:
        return None
    job.last_error = error[-ERROR_CHARS:]
    job.claim_token = None
    if retry and job.attempts < max_attempts:
        job.state, job.queued_at = "queued", utcnow()
        session.flush()
        dispatch.after_commit(session, job.id)
    else:
        job.state, job.finished_at = "failed", utcnow()
    session.flush()
    return job.state


def requeue_stuck(session: Session, *, stuck_after: float, max_attempts: int) -> list[int]:
    """Running jobs whose worker is gone (dead local pid, or no heartbeat for too long)."""
    limit = utcnow() - timedelta(seconds=stuck_after)
    rows = session.scalars(select(ProcessingJob).where(ProcessingJob.state == "running")).all()
    moved: list[int] = []
    for job in rows:
        beat = job.heartbeat_at or job.started_at
        if not (claim_is_dead(job.claimed_by) or beat is None or beat < limit):
            continue
        who = job.claimed_by or "?"
        if job.attempts >= max_attempts:
            job.state, job.finished_at = "failed", utcnow()
            job.last_error = (
                f"gave up after {job.attempts} attempts: the worker ({who}) "
                "stopped responding each time"
            )
        else:
            job.state, job.queued_at = "queued", utcnow()
            job.last_error = f"the worker ({who}) stopped responding; re-queued"
            dispatch.after_commit(session, job.id)
        job.claim_token = None
        moved.append(job.id)
    session.flush()
    return moved


def resend_queued(session: Session, *, older_than: float) -> list[int]:
    """Queued jobs waiting longer than ``older_than`` s are sent again (lost broker sends)."""
    limit = utcnow() - timedelta(seconds=older_than)
    ids = list(
        session.scalars(
            select(ProcessingJob.id).where(
                ProcessingJob.state == "queued", ProcessingJob.queued_at < limit
            )
        )
    )
    for job_id in ids:
        dispatch.after_commit(session, job_id)
    return ids


def retry_failed(session: Session, clip_id: int) -> list[int]:
    jobs = session.scalars(
        select(ProcessingJob).where(
            ProcessingJob.clip_id == clip_id, ProcessingJob.state == "failed"
        )
    ).all()
    for job in jobs:
        job.state, job.queued_at, job.progress, job.attempts = "queued", utcnow(), 0, 0
        job.claim_token = None
        session.flush()
        dispatch.after_commit(session, job.id)
    return [j.id for j in jobs]


def jobs_for_clip(session: Session, clip_id: int) -> list[ProcessingJob]:
    return list(
        session.scalars(
            select(ProcessingJob).where(ProcessingJob.clip_id == clip_id).order_by(ProcessingJob.id)
        )
    )


def summary(jobs: list[ProcessingJob], chain: Sequence[str]) -> dict[str, Any]:
    """The state of a chain of steps (e.g. probe -> keyframes -> hashes): the first
    unfinished step decides. Jobs of other steps are ignored, so they never make the
    chain look unfinished."""
    jobs = [j for j in jobs if j.step in chain]
    by_step = {j.step: j for j in jobs}
    if not jobs:
        return {"state": "none", "step": None, "progress": 0, "attempts": 0, "last_error": None}
    steps = tuple(chain)
    current = next((by_step[s] for s in steps if s in by_step and by_step[s].state != "done"), None)
    if current is None and all(s in by_step for s in steps):
        last = by_step[steps[-1]]
        return {
            "state": "done",
            "step": None,
            "progress": 100,
            "attempts": last.attempts,
            "last_error": None,
        }
    if current is None:  # a step finished and the next one is about to be queued
        current = max(jobs, key=lambda j: steps.index(j.step))
        return {
            "state": "queued",
            "step": current.step,
            "progress": 100,
            "attempts": current.attempts,
            "last_error": None,
        }
    done = sum(1 for s in steps if s in by_step and by_step[s].state == "done")
    overall = round((done * 100 + (current.progress or 0)) / len(steps))
    return {
        "state": current.state,
        "step": current.step,
        "progress": overall,
        "step_progress": current.progress,
        "attempts": current.attempts,
        "last_error": current.last_error,
    }
