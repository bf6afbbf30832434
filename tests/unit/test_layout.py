"""The layout holds: no import cycle among labelmend's modules, and a pure core.

``labelmend.cleaner`` imports only numpy, pandas, scipy, cleanlab, the standard library,
its own modules, ``labelmend.errors`` and the private ``labelmend._*`` helpers; and none
of those helpers imports anything of labelmend's but each other and ``errors``, so no
arrow leads from the core back into it. Imports inside functions count too: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import labelmend

ROOT = Path(labelmend.__file__).resolve().parent
CORE_THIRD_PARTY = {"numpy", "pandas", "scipy", "cleanlab"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every labelmend module -> the modules it imports (labelmend's resolved to modules)."""
    modules = {
        _module_name(path): path
        for path in ROOT.rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    targets.add(child if child in modules else node.module)
        graph[name] = targets - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among labelmend's own modules, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node] & graph.keys()):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle():
    graph = import_graph()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_cycle_detection_sees_a_cycle():
    graph = {"labelmend.a": {"labelmend.b"}, "labelmend.b": {"labelmend.a", "numpy"}}
    assert _cycle(graph) == ["labelmend.a", "labelmend.b", "labelmend.a"]


def _allowed_for_core(target: str) -> bool:
    top = target.split(".")[0]
    if top != "labelmend":
        return top in CORE_THIRD_PARTY or top in sys.stdlib_module_names
    return (
        target.startswith("labelmend.cleaner")
        or target == "labelmend.errors"
        or target.split(".")[1].startswith("_")
    )


def test_the_core_imports_only_numerics_and_its_helpers():
    graph = import_graph()
    core = {m for m in graph if m.startswith("labelmend.cleaner")}
    helpers = {
        m
        for m in graph
        if m.count(".") == 1 and m.split(".")[-1].startswith("_") and not m.endswith("__")
    }  # private helper modules; ``__main__`` (the CLI entry point) is not one
    wrong = {
        module: sorted(t for t in graph[module] if not _allowed_for_core(t)) for module in core
    }
    assert not {m: t for m, t in wrong.items() if t}
    # The helpers the core uses never lead back into labelmend (but errors).
    back = {
        helper: sorted(t for t in graph[helper] if t.startswith("labelmend") and t not in helpers)
        for helper in helpers
    }
    assert not {h: t for h, t in back.items() if t and t != ["labelmend.errors"]}


def test_top_level_api_is_lazy_and_versioned():
    import subprocess
    from importlib.metadata import version

    code = (
        "import sys, labelmend; "
        "print(labelmend.__version__, 'pandas' in sys.modules, 'numpy' in sys.modules); "
        "labelmend.select_batch; print('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [version("labelmend"), "False", "False", "True"]
    from labelmend.cleaner import rank_samples
    from labelmend.simulator.study import run_study

    assert (labelmend.rank_samples, labelmend.simulate) == (rank_samples, run_study)
    assert set(labelmend.__all__) == {
        "__version__",
        "rank_samples",
        "select_batch",
        "simulate",
        "repair_model",
    }


PUBLIC_PACKAGES = ("cleaner", "simulator", "repair", "storage", "sync", "workflow", "report")


def test_every_public_package_lists_its_api_and_every_name_in_it_exists():
    # labelmend.sync had no __all__: `from labelmend.sync import *` gave nothing and its
    # API was only reachable through its submodules.
    import importlib

    for name in PUBLIC_PACKAGES:
        package = importlib.import_module(f"labelmend.{name}")
        assert package.__all__, name
        missing = [n for n in package.__all__ if not hasattr(package, n)]
        assert not missing, (name, missing)


@pytest.mark.parametrize("old", ["id_column", "label_column"])
def test_each_column_parameter_has_one_name_everywhere(old):
    # rank_files, load_labels, read_column and ShardLayout took id_column while the
    # workflow, the docs and the CLI's --id-col say id_col; rank_files, load_labels,
    # ShardLayout, repair_files and analyze_files took label_column while import_samples,
    # score_shards and the CLI's --label-col say label_col.
    import importlib
    import inspect
    import pkgutil

    names = [
        module.name
        for module in pkgutil.walk_packages(labelmend.__path__, "labelmend.")
        if ".migrations" not in module.name and not module.name.endswith("__main__")
    ]
    found = []
    for name in names:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if not (inspect.isfunction(value) or inspect.isclass(value)):
                continue
            if value.__module__ != name:
                continue
            try:
                parameters = inspect.signature(value).parameters
            except (TypeError, ValueError):
                continue
            if old in parameters:
                found.append(f"{name}.{attribute}")
    assert not found
