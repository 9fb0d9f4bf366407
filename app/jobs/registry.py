"""The job kernel's registry: the steps a worker can run and the sweepers it runs on a timer.

The kernel knows no domain. Each domain declares its steps and sweepers in its own
``tasks.py`` (a ``register()`` function); the composition root ``app/tasks.py`` calls every
``register()`` once, and every entrance (server, ``archive worker``, the Celery worker, the
CLI) calls the composition root. Whether a process can run a queued job therefore never
depends on what it happened to import.

A step's ``run(media_id, sha256, progress)`` does the slow work outside any transaction and
returns an :class:`Outcome`; the runner writes it in the transaction that marks the job
done (see app/jobs/runner.py). The steps the database accepts are fixed by the CHECK
constraint ``ck_processing_job_step`` (a migration widens it); :func:`check_database` makes
start-up fail loudly when the registered steps and that constraint differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from app.storage.space import out_of_space

Progress = Callable[[float], None]
"""Report a step's progress as a fraction 0..1 (published by the heartbeat)."""

STEP_CONSTRAINT = "ck_processing_job_step"
T = TypeVar("T")


class StepFailed(Exception):
    """A step found a problem that retrying will not fix (always permanent)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class RegistryError(RuntimeError):
    """The registry is inconsistent (a name twice, a next step that does not exist, or
    steps the database does not allow). Raised at start-up, never during a request."""


@dataclass
class Outcome:
    """What a step computed, written by ``apply(session)`` in the job's finishing
    transaction; ``after_commit`` runs once that committed, ``discard`` when it did not
    (or the claim was lost): e.g. delete files the result would have pointed at."""

    apply: Callable[[Session], None]
    after_commit: Callable[[], None] = field(default=lambda: None)
    discard: Callable[[], None] = field(default=lambda: None)


def describe_error(exc: BaseException) -> str:
    """The error text stored on a job row. An exception that knows more than its message
    (e.g. the tail of a tool's stderr) says so with a ``describe() -> str`` method; a
    :class:`StepFailed` gives its message; anything else its type and message."""
    if out_of_space(exc):
        return f"{DISK_FULL}\n--- error ---\n{_describe(exc)}"
    return _describe(exc)


DISK_FULL = (
    "the media store's disk is full (no space left on device): nothing was kept of this "
    "attempt and the step is retried; free space under ARCHIVE_MEDIA_ROOT, then retry it "
    "if it has run out of attempts"
)


def _describe(exc: BaseException) -> str:
    describe = getattr(exc, "describe", None)
    if callable(describe):
        return str(describe())
    if isinstance(exc, StepFailed):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[int, str, Progress], Outcome]
    """``run(media_id, original_sha256, progress) -> Outcome``, outside any transaction."""
    description: str
    next: str | None = None
    """The step queued (same original) when this one is done."""
    permanent: tuple[type[BaseException], ...] = ()
    """Errors that retrying will not fix: the job fails at once (``StepFailed`` always is)."""

    def is_permanent(self, exc: BaseException) -> bool:
        if out_of_space(exc):
            return False  # a full disk: retried once space is freed, whatever raised it
        return isinstance(exc, (StepFailed, *self.permanent))


@dataclass(frozen=True)
class Sweeper:
    name: str
    run: Callable[[], int | None]
    """Opens its own transactions; returns how many things it handled (for the log)."""
    description: str
    every_seconds: float = 60.0
    """At most this long between two runs in a process that sweeps (workers, Celery)."""
    at_start: bool = True
    """Also run once when a server or worker starts (before it takes work)."""


_steps: dict[str, Step] = {}
_sweepers: dict[str, Sweeper] = {}


def add_step(step: Step) -> None:
    """Register a step. Registering the very same step again is a no-op."""
    _add(_steps, step.name, step, "step")


def add_sweeper(sweeper: Sweeper) -> None:
    _add(_sweepers, sweeper.name, sweeper, "sweeper")


def _add(table: dict[str, T], name: str, item: T, kind: str) -> None:
    current = table.get(name)
    if current is not None and current != item:
        raise RegistryError(f"two different {kind}s are registered as {name!r}")
    table[name] = item


def steps() -> Mapping[str, Step]:
    return _steps


def sweepers() -> Mapping[str, Sweeper]:
    return _sweepers


def get_step(name: str) -> Step:
    try:
        return _steps[name]
    except KeyError:
        known = ", ".join(sorted(_steps)) or "none: app.tasks.bootstrap() was not called"
        raise RegistryError(
            f"no job step {name!r} is registered in this process (registered: {known})"
        ) from None


def check() -> None:
    """Every ``next`` names a registered step."""
    for step in _steps.values():
        if step.next is not None and step.next not in _steps:
            raise RegistryError(f"step {step.name!r} is followed by {step.next!r}, unregistered")


def database_steps(bind: Engine | Connection) -> set[str] | None:
    """The step names the database's CHECK constraint allows; None without the table."""
    insp = inspect(bind)
    if not insp.has_table("processing_job"):
        return None
    for constraint in insp.get_check_constraints("processing_job"):
        if constraint.get("name") == STEP_CONSTRAINT:
            return set(re.findall(r"'([^']*)'", str(constraint.get("sqltext", ""))))
    return set()  # no constraint: only a hand-made schema gets here


def check_database(bind: Engine | Connection) -> None:
    """Fail loudly when the registered steps differ from the steps the database allows: a
    job for a step the database refuses cannot even be queued, and a step row no process
    can run would wait forever."""
    check()
    allowed = database_steps(bind)
    if allowed is None:
        raise RegistryError("the database has no processing_job table: run `archive migrate` first")
    registered = set(_steps)
    if allowed == registered:
        return
    parts = []
    if registered - allowed:
        parts.append(
            f"registered but refused by the database: {', '.join(sorted(registered - allowed))}"
            " (run `archive migrate`, or add the migration that widens "
            f"{STEP_CONSTRAINT})"
        )
    if allowed - registered:
        parts.append(
            f"allowed by the database but registered by no domain: "
            f"{', '.join(sorted(allowed - registered))} (a register() call missing from "
            "app/tasks.py, or code older than the database)"
        )
    raise RegistryError("job steps do not match the database: " + "; ".join(parts))
