"""The package keeps its layers: no import cycle among unitune's modules, no module that
imports a layer above its own, and files and functions short enough to read.

Imports are read from the source (function-level imports included; ``if TYPE_CHECKING:``
blocks, which never run, excluded). Importing ``a.b.c`` runs ``a/__init__`` and
``a/b/__init__`` too, so those count as imported, except the importer's own packages
(they are already running when it is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import unitune

ROOT = Path(unitune.__file__).parent

# Each module's layer; a module may import its own layer and those below, never above.
# A module missing here fails the test: a new module gets its place on purpose.
LAYERS: dict[str, int] = {
    "unitune.errors": 0,
    "unitune._checks": 1, "unitune._secrets": 1, "unitune._portable": 1, "unitune._logs": 1, "unitune.records": 1, "unitune.space": 1,
    "unitune._interrupts": 1, "unitune._hooks": 1, "unitune._discover": 1,
    "unitune.ledger": 2, "unitune.ledger._writable": 2,
    "unitune.adapters": 3, "unitune.adapters.base": 3,  # the registry and the protocol
    "unitune.trial": 4, "unitune._procpool": 4, "unitune._procworker": 4,
    "unitune.adapters.optuna": 5, "unitune.adapters.skopt": 5, "unitune.adapters.pymoo": 5,
    "unitune.adapters.ray": 5, "unitune.adapters._optuna_options": 5,
    "unitune.adapters.auto": 5, "unitune.adapters._auto_rules": 5,
    "unitune._driver": 6, "unitune._batches": 6, "unitune._executor": 6, "unitune.optimize": 6, "unitune._progress": 6,
    "unitune._by_run": 6,
    "unitune._schedule": 6,
    "unitune.sklearn": 7, "unitune._cv_results": 7,
    "unitune._search_params": 7, "unitune._search_callbacks": 7, "unitune.cli": 7, "unitune._text": 7,
    "unitune._worker": 7, "unitune._script": 7, "unitune._objective_file": 7,
    "unitune.compare": 7, "unitune._compare_cli": 7, "unitune._cli_common": 7,
    "unitune.plots": 7, "unitune._fit": 7, "unitune._plot_cli": 7, "unitune._export": 7,
    "unitune._dashboard_cli": 7, "unitune._mlflow_cli": 7,
    "unitune._auto_cli": 7, "unitune.integrations": 7,
    "unitune": 7,
}
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(name: str, path: Path) -> set[str]:
    """The unitune modules ``name`` (at ``path``) imports, as they run."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.append(full if full in MODULES else base)
        for target in targets:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in MODULES and prefix != name and not (
                        i < len(parts) and name.startswith(prefix + ".")):
                    found.add(prefix)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


GRAPH = {name: _imported(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> int:
    while name not in LAYERS:
        if "." not in name:
            raise AssertionError(f"module {name!r} has no layer in LAYERS: give it one")
        name = name.rpartition(".")[0]
    return LAYERS[name]


def test_the_graph_sees_the_imports_it_must():
    # the reader itself is checked, or the other tests could pass on an empty graph
    assert "unitune.ledger._ledger" in GRAPH["unitune.ledger"]
    assert "unitune.space._convert" in GRAPH["unitune.space._space"]  # a lazy import
    assert "unitune.ledger" not in GRAPH["unitune.adapters.base"]  # under TYPE_CHECKING
    assert {"unitune.adapters", "unitune.adapters.base"} <= GRAPH["unitune.trial"]


def test_no_import_cycle_among_unitune_modules():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            strongconnect(v)
    assert cycles == [], cycles


def test_no_module_imports_a_layer_above_its_own():
    upward = sorted(f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
                    for a, targets in GRAPH.items() for b in targets if _layer(b) > _layer(a))
    assert upward == [], upward


def test_files_and_functions_stay_short():
    long_files = [f"{p.relative_to(ROOT)}: {n}" for p in MODULES.values()
                  if (n := p.read_text().count("\n")) > MAX_FILE_LINES]
    long_functions = [
        f"{p.relative_to(ROOT)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1}"
        for p in MODULES.values() for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long_files == [] and long_functions == []
