"""The shape of the code, held to the limits docs/architecture.md states.

The layers themselves (which package may import which) are ruff's banned-api rules, one `ruff.toml`
per package; complexity is ruff's C901/PLR09xx with the thresholds in pyproject.toml. What ruff cannot
say is checked here: module and function sizes, and that no modules import each other in a circle.
"""

from __future__ import annotations

import ast
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "payoutkit"
MAX_MODULE_LINES = 500
MAX_MEDIAN_MODULE_LINES = 250
MAX_FUNCTION_LINES = 60


def _modules(folder: Path) -> list[Path]:
    # Migrations are a record of the schema's history, written once and never changed: not rooms.
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_modules_are_rooms_a_newcomer_can_read() -> None:
    sizes = {p.relative_to(ROOT).as_posix(): _lines(p) for p in _modules(PACKAGE) if _lines(p) > 0}
    too_big = {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES}
    assert too_big == {}
    assert statistics.median(sizes.values()) <= MAX_MEDIAN_MODULE_LINES
    assert not [p for p in sizes if Path(p).name == "common.py"]


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


@pytest.mark.parametrize("folder", ["payoutkit", "payoutkit_demo", "bench"])
def test_no_function_is_longer_than_a_screen(folder: str) -> None:
    long = {}
    for path in _modules(ROOT / folder):
        for fn in _functions(ast.parse(path.read_text())):
            length = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if length > MAX_FUNCTION_LINES:
                long[f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}"] = length
    assert long == {}


def _imports(path: Path, package: str) -> set[str]:
    """The modules of `package` that `path` imports (at any level, TYPE_CHECKING ones included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == package)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _graph(folder: str) -> dict[str, set[str]]:
    names = {}
    for path in _modules(ROOT / folder):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {
        name: {m for m in _imports(path, folder) if m in names and m != name} for name, path in names.items()
    }


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("folder", ["payoutkit", "payoutkit_demo", "bench"])
def test_no_modules_import_each_other_in_a_circle(folder: str) -> None:
    graph = _graph(folder)
    # A package's __init__ importing its own modules is how a package presents itself, not a circle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    assert _circles(graph) == []


def test_the_worker_and_the_runtime_load_without_the_web_layer() -> None:
    """A separate worker process runs the jobs with the runtime alone: neither imports payoutkit.api nor
    the web framework (a fresh interpreter, so nothing else has imported them first)."""
    import subprocess
    import sys

    probe = (
        "import sys, payoutkit.worker, payoutkit.runtime; "
        "print(sorted(m for m in sys.modules if m.startswith(('payoutkit.api', 'starlette'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
