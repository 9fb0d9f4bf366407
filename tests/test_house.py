"""The composition root (app/tasks.py) and the job kernel's registry, as processes see them:
a fresh worker knows every step, start-up refuses a database whose steps differ, and
queueing a job does not load another domain's task code."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from app.config import PROJECT_ROOT
from app.jobs import registry

EXPECTED_STEPS = {"probe", "keyframes", "hashes", "playback", "match"}
BEFORE_PLAYBACK = "e7aae2eaa392"  # the revision before 2026-11-25-0900_playback_job_step


def fresh_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter with the test's settings (database, media)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        cwd=PROJECT_ROOT,
    )


def test_a_fresh_worker_has_every_step_the_database_allows(db_url: str) -> None:
    out = fresh_python(
        "import json, app.worker; from app.jobs import registry; "
        "print(json.dumps({'steps': sorted(registry.steps()), "
        "'next': {n: s.next for n, s in registry.steps().items()}, "
        "'sweepers': sorted(registry.sweepers())}))"
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    engine = create_engine(db_url)
    try:
        allowed = registry.database_steps(engine)
    finally:
        engine.dispose()
    assert set(seen["steps"]) == allowed == EXPECTED_STEPS
    assert seen["next"] == {
        "probe": "keyframes",
        "keyframes": "hashes",
        "hashes": "match",
        "playback": None,
        "match": None,
    }
    assert seen["sweepers"] == [
        "checkpoint",
        "expired-uploads",
        "fixity",
        "reconcile",
        "temp-files",
    ]


@pytest.mark.nodb
def test_celery_started_by_hand_finds_the_job_task() -> None:
    """`celery -A app.worker worker`: Celery finds the app here, with the task bound."""
    out = fresh_python(
        "import app.worker as w; from app.jobs.broker import TASK; print(TASK in w.celery.tasks)"
    )
    assert out.stdout.strip() == "True", out.stderr


@pytest.mark.nodb
def test_queueing_a_job_loads_no_task_code_and_no_web_framework() -> None:
    """The review and clips services queue the playback job; importing them must not load
    the public domain's step (ffmpeg), the ingest steps, or FastAPI."""
    out = fresh_python(
        "import sys, app.review.service, app.clips.service, app.accounts.service, "
        "app.partners.service; "
        "print(sorted(m for m in ('app.public.tasks', 'app.public.playback', "
        "'app.ingest.tasks', 'app.jobs.runner', 'fastapi', 'starlette') if m in sys.modules))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _migrated_to(revision: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from app.config import get_settings
    from app.db import reset_engine
    from app.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision)
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", url)
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(tmp_path / "media"))
    monkeypatch.setenv("ARCHIVE_SECRET_KEY", "test-secret-" + "x" * 40)
    monkeypatch.setenv("ARCHIVE_JOBS", "off")
    get_settings.cache_clear()
    reset_engine()
    return url


@pytest.mark.nodb
def test_the_server_does_not_start_on_a_database_that_refuses_a_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New code (it registers `playback`), database not migrated since: start-up says what
    to do instead of failing the first publish with an IntegrityError."""
    from fastapi.testclient import TestClient

    from app.db import reset_engine
    from app.main import create_app

    _migrated_to(BEFORE_PLAYBACK, tmp_path, monkeypatch)
    try:
        with pytest.raises(registry.RegistryError) as caught, TestClient(create_app()):
            pass
    finally:
        reset_engine()
    message = str(caught.value)
    assert "refused by the database: match, playback" in message and "archive migrate" in message


@pytest.mark.nodb
def test_archive_worker_does_not_start_on_a_database_that_refuses_a_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _migrated_to(BEFORE_PLAYBACK, tmp_path, monkeypatch)
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--concurrency", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        cwd=PROJECT_ROOT,
    )
    assert out.returncode != 0
    assert "refused by the database: match, playback" in out.stderr


def test_start_up_refuses_a_step_the_database_allows_but_nobody_registered(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other direction: a domain's register() call missing from app/tasks.py."""
    from app.jobs import lifecycle

    monkeypatch.delitem(registry._steps, "playback")
    with pytest.raises(registry.RegistryError, match="registered by no domain: playback"):
        lifecycle.check_steps()
    monkeypatch.undo()
    lifecycle.check_steps()  # the real registry matches the migrated database


@pytest.mark.nodb
def test_the_registry_refuses_two_steps_of_one_name_and_a_dangling_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = registry.get_step("probe")
    registry.add_step(probe)  # the same step again (bootstrap twice): nothing changes
    with pytest.raises(registry.RegistryError, match="two different steps"):
        registry.add_step(replace(probe, description="another"))
    monkeypatch.setitem(registry._steps, "probe", replace(probe, next="nowhere"))
    with pytest.raises(registry.RegistryError, match="'nowhere', unregistered"):
        registry.check()
    with pytest.raises(registry.RegistryError, match="no job step 'nowhere'"):
        registry.get_step("nowhere")


@pytest.mark.nodb
def test_permanent_errors_and_the_error_text_a_job_keeps() -> None:
    from app.video import VideoError

    probe = registry.get_step("probe")
    assert probe.is_permanent(VideoError("bad")) and probe.is_permanent(registry.StepFailed("x"))
    assert not probe.is_permanent(OSError(5, "EIO"))
    err = VideoError("ffmpeg failed", stderr_tail="[h264] broken\n")
    assert (
        registry.describe_error(err) == "ffmpeg failed\n--- ffmpeg stderr (end) ---\n[h264] broken"
    )
    assert registry.describe_error(registry.StepFailed("gone")) == "gone"
    assert registry.describe_error(OSError(5, "EIO")) == "OSError: [Errno 5] EIO"


ENTRANCES = ("app/cli.py", "app/ingest/commands.py", "app/worker.py")


@pytest.mark.nodb
@pytest.mark.parametrize("path", ENTRANCES)
def test_command_line_entrances_assemble_the_process_first(path: str) -> None:
    """CLI commands open their sessions through app.tasks.session_scope (which bootstraps),
    never app.db's directly: `archive fixity` crashed because one did."""
    tree = ast.parse((PROJECT_ROOT / path).read_text(encoding="utf-8"))
    bad: list[Any] = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module == "app.db"
        and any(a.name in ("session_scope", "new_session") for a in node.names)
    ]
    assert not bad, f"{path} opens a session without the composition root (lines {bad})"
