"""The layers of `app/`, checked from the source (AST), imports inside functions included.

- no import cycle between modules (imports inside functions count: they run too);
- the kernel (`app.jobs`, `app.storage`, `app.kit`, `app.video`) imports no domain;
- no `service.py` or `repository.py` imports FastAPI or Starlette, directly or through
  another module of `app/` (so a service can be used from the CLI or a worker without
  loading the web framework);
- routers and views (the web side: `router.py`, `views.py`, `app/web/`, `app/main.py`)
  build no queries: no SQL constructs from `sqlalchemy`, no `session.execute/get/...`.

Imports under ``if TYPE_CHECKING:`` are left out: they never run.
Run ``python tests/test_layers.py`` for the graph's figures (modules, edges, cycles, the
longest file).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.nodb

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

KERNEL = ("app.jobs", "app.storage", "app.kit", "app.video")
"""Packages that know no domain."""
BASE = ("app.config", "app.db", "app.errors")
KERNEL_MAY_IMPORT = {
    "app.jobs": (*BASE, "app.kit", "app.storage"),
    "app.storage": (*BASE, "app.kit"),
    "app.kit": (*BASE,),
    "app.video": (*BASE, "app.kit", "app.storage"),
}
"""What each kernel package may import from `app/` (besides itself)."""
WEB_FRAMEWORKS = ("fastapi", "starlette")


@dataclass
class Module:
    name: str
    path: Path
    lines: int
    imports: dict[str, list[int]] = field(default_factory=dict)  # app module -> line numbers
    external: dict[str, list[int]] = field(default_factory=dict)  # top-level package -> lines


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def build_graph() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for path in sorted(APP.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        modules[module_name(path)] = Module(module_name(path), path, text.count("\n"))
    for mod in modules.values():
        tree = ast.parse(mod.path.read_text(encoding="utf-8"), filename=str(mod.path))
        package = mod.name if mod.path.name == "__init__.py" else mod.name.rpartition(".")[0]
        for node in _import_nodes(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                top = target.split(".")[0]
                if top != "app":
                    mod.external.setdefault(top, []).append(node.lineno)
                    continue
                # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c; a module's own
                # packages are already loaded (Python runs them before the module)
                parts = target.split(".")
                for i in range(2, len(parts) + 1):
                    name = ".".join(parts[:i])
                    if name in modules and not _within(mod.name, (name,)):
                        mod.imports.setdefault(name, []).append(node.lineno)
    return modules


def find_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(modules[root].imports))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(modules[child].imports)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return result


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def reachable(modules: dict[str, Module], start: str) -> dict[str, str]:
    """Every app module ``start`` loads, each with the module that imports it first."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        for target in modules[name].imports:
            if target not in seen and target != start:
                seen[target] = name
                todo.append(target)
    return seen


def chain(via: dict[str, str], start: str, end: str) -> str:
    path = [end]
    while path[-1] != start:
        path.append(via[path[-1]])
    return " -> ".join(reversed(path))


GRAPH = build_graph()


def test_the_graph_sees_imports_inside_functions() -> None:
    # app/cli.py imports the services inside its commands: the graph must see them
    assert "app.accounts.service" in GRAPH["app.cli"].imports
    assert "app.tasks" in GRAPH["app.cli"].imports


def test_no_import_cycle() -> None:
    cycles = find_cycles(GRAPH)
    assert not cycles, "import cycles (imports inside functions count):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


@pytest.mark.parametrize("kernel", KERNEL)
def test_the_kernel_imports_no_domain(kernel: str) -> None:
    bad = [
        f"{mod.name} imports {target} (line {lines[0]})"
        for mod in GRAPH.values()
        if _within(mod.name, (kernel,))
        for target, lines in mod.imports.items()
        if not _within(target, (kernel, *KERNEL_MAY_IMPORT[kernel]))
    ]
    assert not bad, "\n".join(bad)


def _service_modules() -> list[str]:
    return sorted(
        name for name, mod in GRAPH.items() if mod.path.name in ("service.py", "repository.py")
    )


@pytest.mark.parametrize("name", _service_modules())
def test_services_load_no_web_framework(name: str) -> None:
    loaded = reachable(GRAPH, name)
    bad = []
    for mod_name in [name, *loaded]:
        for framework in WEB_FRAMEWORKS:
            if framework in GRAPH[mod_name].external:
                how = chain(loaded, name, mod_name) if mod_name != name else name
                bad.append(f"{how} imports {framework}")
    assert not bad, "\n".join(bad)


def test_a_service_really_is_checked() -> None:
    # the check above must see FastAPI where it is: a router loads it
    assert "fastapi" in GRAPH["app.clips.router"].external
    assert "app.clips.service" in _service_modules()


WEB_SIDE_FILES = ("router.py", "views.py", "media.py", "tus_router.py", "auth_views.py")
QUERY_METHODS = {"execute", "scalar", "scalars", "get", "query", "add", "delete", "merge"}


def _web_side() -> list[Module]:
    out = []
    for mod in GRAPH.values():
        rel = mod.path.relative_to(APP).as_posix()
        if (
            rel.startswith("web/")
            or rel == "main.py"
            or (
                "/" in rel
                and mod.path.name in WEB_SIDE_FILES
                and not rel.startswith("ingest/media")
            )
        ):
            out.append(mod)
    return sorted(out, key=lambda m: m.name)


@pytest.mark.parametrize("mod", _web_side(), ids=lambda m: m.name)
def test_routers_and_views_build_no_queries(mod: Module) -> None:
    """They speak HTTP and call services; queries live in repositories and services."""
    tree = ast.parse(mod.path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("sqlalchemy", "sqlalchemy.sql"):
            bad.append(f"line {node.lineno}: from {node.module} import ...")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "session"
        ):
            bad.append(f"line {node.lineno}: session.{node.func.attr}(...)")
    assert not bad, f"{mod.path.relative_to(ROOT)} builds queries:\n" + "\n".join(bad)


def test_the_web_side_check_sees_the_routers() -> None:
    names = {m.name for m in _web_side()}
    assert {"app.review.router", "app.web.team.admin", "app.public.views", "app.main"} <= names


def test_the_keyframe_package_has_no_file_over_400_lines() -> None:
    long = [
        f"{m.path.relative_to(ROOT)}: {m.lines}"
        for m in GRAPH.values()
        if _within(m.name, ("app.video.keyframes",)) and m.lines > 400
    ]
    assert not long and "app.video.keyframes.extract" in GRAPH, long


DERIVATIVE_NAMES = {"poster.jpg", "contact.jpg", "playback.mp4"}


def test_derivative_file_names_are_spelled_in_one_module() -> None:
    """app/storage/derivatives.py names them; a second spelling drifts (it did: four
    modules wrote or read `kf_0000.jpg`, `poster.jpg` and `contact.jpg` on their own)."""
    bad = []
    for mod in GRAPH.values():
        if mod.name == "app.storage.derivatives":
            continue
        for node in ast.walk(ast.parse(mod.path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and (
                value in DERIVATIVE_NAMES or value.startswith(("kf_", "thumb_"))
            ):
                bad.append(f"{mod.path.relative_to(ROOT)}:{node.lineno}: {value!r}")
    assert not bad, "\n".join(bad)


def figures() -> str:
    cycles = find_cycles(GRAPH)
    edges = sum(len(m.imports) for m in GRAPH.values())
    longest = max(GRAPH.values(), key=lambda m: m.lines)
    lines = [
        f"modules: {len(GRAPH)}, import edges: {edges}",
        f"cycles: {len(cycles)}" + "".join(f"\n  {len(c)}: {', '.join(c)}" for c in cycles),
        f"longest file: {longest.path.relative_to(ROOT)} ({longest.lines} lines)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(figures() + "\n")
