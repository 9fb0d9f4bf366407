"""What gets installed where: the two locks and the Docker image (docker build cannot run on
the machines the suite runs on, so the Dockerfile is read instead).

- requirements.lock (runtime) and requirements-dev.lock (development) are exact pins,
  alphabetical, with no package in both; the runtime lock holds every runtime dependency
  of pyproject.toml (transitively, as installed here) and the development lock the rest;
- the image's runtime stage, and every stage it is built from or copies from, installs
  the runtime lock and nothing else (no pytest, playwright, mypy, ruff in production).
"""

from __future__ import annotations

import importlib.metadata as md
import re
import shlex
import tomllib
from dataclasses import dataclass, field

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from app.config import PROJECT_ROOT

pytestmark = pytest.mark.nodb

RUNTIME_LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"
DEV_TOOLS = {"pytest", "playwright", "mypy", "ruff", "schemathesis", "hypothesis"}


def lock(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (PROJECT_ROOT / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", line), f"{name}: {line!r}"
        package, version = line.split("==")
        pins[canonicalize_name(package)] = version
    return pins


def closure(requirements: list[str]) -> set[str]:
    """Every distribution these requirements install (from the installed metadata)."""
    seen: dict[str, set[str]] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        extras = set(req.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        for text in md.distribution(req.name).requires or []:
            sub = Requirement(text)
            envs = [{"extra": e} for e in (seen[name] or {""})]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs):
                todo.append(sub)
    return set(seen)


def test_the_locks_are_exact_sorted_and_disjoint() -> None:
    runtime, dev = lock(RUNTIME_LOCK), lock(DEV_LOCK)
    for name in (RUNTIME_LOCK, DEV_LOCK):  # as pip freeze sorts: by the name as written
        lines = (PROJECT_ROOT / name).read_text(encoding="utf-8").splitlines()
        names = [line.split("==")[0].lower() for line in lines if "==" in line]
        assert names == sorted(names), f"{name} is not in alphabetical order"
    assert not set(runtime) & set(dev), "in both locks: " + ", ".join(set(runtime) & set(dev))
    assert not DEV_TOOLS & set(runtime)


def test_the_runtime_lock_is_what_the_runtime_needs() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = closure(project["project"]["dependencies"])
    everything = closure(
        project["project"]["dependencies"] + project["project"]["optional-dependencies"]["dev"]
    )
    runtime_lock, dev_lock = lock(RUNTIME_LOCK), lock(DEV_LOCK)
    assert runtime - set(runtime_lock) == set(), (
        "runtime dependencies missing from the runtime lock"
    )
    assert set(runtime_lock) - runtime == set(), "packages the runtime does not need"
    assert (everything - runtime) - set(dev_lock) == set(), "missing from the development lock"
    for name, version in {**runtime_lock, **dev_lock}.items():  # the venv is the lock
        assert md.version(name) == version, (
            f"{name}: installed {md.version(name)}, locked {version}"
        )


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def dockerfile() -> dict[str, Stage]:
    text = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)  # continuation lines
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else str(len(stages))
            current = stages[name] = Stage(name, words[0])
            continue
        assert current is not None, "an instruction before the first FROM"
        current.instructions.append((keyword, rest))
    return stages


def lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage, the stages it is built on and every stage it copies from."""
    out: list[Stage] = []
    todo = [name]
    while todo:
        stage = stages[todo.pop()]
        if stage in out:
            continue
        out.append(stage)
        if stage.base in stages:
            todo.append(stage.base)
        for keyword, rest in stage.instructions:
            if keyword == "COPY" and (m := re.search(r"--from=(\S+)", rest)):
                todo.append(m.group(1))
    return out


def test_the_image_s_runtime_stage_installs_only_the_runtime_lock() -> None:
    stages = dockerfile()
    final = list(stages)[-1]
    assert final == "runtime", "the default target (the last stage) must be the runtime stage"
    pip_installs = []
    for stage in lineage(stages, final):
        for keyword, rest in stage.instructions:
            assert not (keyword in ("COPY", "ADD") and DEV_LOCK in rest), stage.name
            if keyword == "RUN" and "pip install" in rest:
                for command in re.split(r"&&|;", rest):
                    words = shlex.split(command)
                    if "pip" in words and "install" in words:
                        pip_installs.append((stage.name, words[words.index("install") + 1 :]))
    assert pip_installs, "the runtime stage installs nothing?"
    for stage_name, args in pip_installs:
        files = [args[i + 1] for i, a in enumerate(args) if a in ("-r", "--requirement")]
        packages = [a for a in args if not a.startswith("-") and a not in files]
        assert files in ([RUNTIME_LOCK], []), f"{stage_name}: pip install {' '.join(args)}"
        assert packages in ([], ["."]), f"{stage_name}: unpinned packages {packages}"
        assert not files or "--no-deps" not in args
        assert files or "--no-deps" in args, f"{stage_name}: the app with its deps unpinned"


def test_the_dev_stage_adds_the_development_lock() -> None:
    stages = dockerfile()
    runs = [rest for keyword, rest in stages["dev"].instructions if keyword == "RUN"]
    assert any(DEV_LOCK in r and RUNTIME_LOCK in r for r in runs)
    assert "dev" not in {s.name for s in lineage(stages, "runtime")}
