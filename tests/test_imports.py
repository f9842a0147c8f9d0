"""Every module imports on its own, in a fresh interpreter, and no imports go round in a cycle.

An import that works only because another module was imported first (a model registered as a
side effect, half of a circular import) passes every test that boots the whole app, and breaks
the first script, worker or migration that imports the module alone. These tests import each
module of ``marketplace``, ``indexing`` and ``matching`` alone, and read the import graph with
:mod:`ast` (imports inside functions count: they are dependencies too).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_PACKAGES = ("marketplace", "indexing", "matching")
PROJECT = frozenset({*TOP_PACKAGES, "seed_data", "tests"})
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# Runs in its own interpreter: loads the libraries once, then forks a child per project module, so
# that each child starts with no project module loaded and pays only for the project's own code.
FRESH_IMPORTS = """
import importlib, json, os, sys, traceback

for library in json.loads(sys.argv[1]):
    try:
        importlib.import_module(library)
    except Exception:
        pass
failures = {}
for name in json.loads(sys.argv[2]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 0
        try:
            importlib.import_module(name)
            if "sqlalchemy.orm" in sys.modules:
                sys.modules["sqlalchemy.orm"].configure_mappers()
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, encoding="utf-8", errors="replace") as pipe:
        message = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status:
        failures[name] = message or f"exit status {status}"
print(json.dumps(failures))
"""


def module_names(root: Path, package: str) -> list[str]:
    """Dotted names of every module under ``root/package``, the package itself included."""
    names = []
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _is_package(root: Path, name: str) -> bool:
    return (root / Path(*name.split(".")) / "__init__.py").is_file()


def _tree(root: Path, module: str) -> ast.Module:
    path = root / Path(*module.split("."))
    path = path / "__init__.py" if _is_package(root, module) else path.with_suffix(".py")
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imported(node: ast.AST, module: str, is_package: bool, known: frozenset[str]) -> Iterable[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            yield submodule if submodule in known else base


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    """Each module's imports of other modules in ``packages``, wherever in the file they happen.

    ``from a import b`` names the module ``a.b`` when there is one, else ``a`` itself.
    """
    modules = [name for package in packages for name in module_names(root, package)]
    known = frozenset(modules)
    graph = {}
    for module in modules:
        is_package = _is_package(root, module)
        graph[module] = {
            name
            for node in ast.walk(_tree(root, module))
            for name in _imported(node, module, is_package, known)
            if name in known and name != module
        }
    return graph


def libraries(root: Path, modules: Iterable[str]) -> list[str]:
    """Every module outside the project that ``modules`` import."""
    names = set()
    for module in modules:
        for node in ast.walk(_tree(root, module)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    return sorted(name for name in names if name.partition(".")[0] not in PROJECT)


def reachable(graph: dict[str, set[str]], starts: Iterable[str]) -> set[str]:
    """``starts`` and every module they import, directly or not."""
    seen, todo = set(), list(starts)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph folded onto the packages of each top package: ``a.b.c`` counts as ``a.b``.

    Modules directly under a top package (``marketplace.models``) and the top package itself stay
    nodes of their own.
    """

    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    folded: dict[str, set[str]] = {}
    for module, imports in graph.items():
        edges = folded.setdefault(package(module), set())
        edges.update(package(name) for name in imports if package(name) != package(module))
    return folded


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, …, a]``, or None if there is none."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def import_each_fresh(root: Path, modules: list[str], preload: list[str]) -> dict[str, str]:
    """Import each of ``modules`` in a process of its own; returns the traceback of each that failed.

    The libraries in ``preload`` (and the standard library) are loaded once before the processes
    fork; none of the modules under test is.
    """
    result = subprocess.run(
        [sys.executable, "-c", FRESH_IMPORTS, json.dumps(preload), json.dumps(modules)],
        cwd=root,
        env={**os.environ, **SINGLE_THREADED, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("package", TOP_PACKAGES)
def test_every_module_imports_alone(package):
    """Each module imports, and its mappers configure, in a process where no other project module ran."""
    modules = module_names(ROOT, package)
    preload = libraries(ROOT, reachable(import_graph(ROOT, TOP_PACKAGES), modules))
    failures = import_each_fresh(ROOT, modules, preload)
    assert not failures, "\n\n".join(f"{name}:\n{message}" for name, message in failures.items())


def test_no_module_imports_round_in_a_cycle():
    """No module of marketplace, indexing or matching reaches itself again through its imports."""
    assert find_cycle(import_graph(ROOT, TOP_PACKAGES)) is None


def test_no_marketplace_package_imports_round_in_a_cycle():
    """The packages of marketplace (pilots, assessments, auth, common, …) import each other acyclically."""
    assert find_cycle(package_graph(import_graph(ROOT, ["marketplace"]))) is None


def write_package(root: Path, files: dict[str, str]) -> None:
    """Write a throwaway package tree: ``{"pkg/a.py": source}``."""
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


def test_an_import_that_needs_another_module_first_is_reported(tmp_path):
    """``b`` reads ``pkg.a`` without importing it: imported after ``a`` it works, alone it fails."""
    write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "VALUE = 1\n",
            "pkg/b.py": "import pkg\n\nVALUE = pkg.a.VALUE\n",
        },
    )
    failures = import_each_fresh(tmp_path, ["pkg.a", "pkg.b"], [])
    assert list(failures) == ["pkg.b"]
    assert "AttributeError" in failures["pkg.b"]


def test_cycles_are_found_between_files_and_between_packages(tmp_path):
    """A file cycle is named; so is a package cycle whose files form none."""
    write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/x/__init__.py": "",
            "pkg/x/one.py": "from pkg.y import two\n",
            "pkg/x/three.py": "",
            "pkg/y/__init__.py": "",
            "pkg/y/two.py": "def later():\n    from pkg.x import three\n",
            "pkg/loop.py": "from . import back\n",
            "pkg/back.py": "import pkg.loop\n",
        },
    )
    graph = import_graph(tmp_path, ["pkg"])
    assert find_cycle(graph) == ["pkg.back", "pkg.loop", "pkg.back"]
    del graph["pkg.back"]
    assert find_cycle(graph) is None
    assert find_cycle(package_graph(graph)) == ["pkg.x", "pkg.y", "pkg.x"]
