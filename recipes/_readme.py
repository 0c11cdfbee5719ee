"""The README's recipe table, made from the recipes themselves.

    python recipes/_readme.py      # prints the table README.md holds

Each recipe declares ``SLIDE`` (the scenario slide it follows, None for the extra
ones), ``BACKEND`` (its default), and says what it shows in its docstring's first
line; ``tests/test_recipes_engines.py`` checks that README.md holds this table.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent

SLIDES = {  # the titles of the scenario slides (../shared/scenarios)
    1: "Grid search cross-validation",
    2: "Random search",
    3: "Bayesian optimization",
    4: "Optuna (with XGBoost)",
    5: "Population-based training",
    6: "Hyperband",
    7: "TPE",
    8: "Multi-objective (NSGA-II)",
    9: "Early stopping",
    10: "Evolutionary search",
    11: "Pruning",
    12: "Parallel asynchronous search",
    13: "NLP pipeline",
    14: "Computer vision model",
}


def recipes() -> dict[str, ModuleType]:
    """Every recipe module (a file of recipes/ that declares SLIDE), by file stem."""
    found = {}
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"_recipe_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        if hasattr(module, "SLIDE"):
            found[path.stem] = module
    return found


def table() -> str:
    rows = []
    for stem, module in recipes().items():
        slide = module.SLIDE
        scenario = f"{slide}. {SLIDES[slide]}" if slide else "(extra)"
        shows = (module.__doc__ or "").strip().splitlines()[0]
        rows.append((slide or 99, f"| {scenario} | `{stem}.py` | `{module.BACKEND}` | {shows} |"))
    head = ["| slide | recipe | default backend | what it shows |", "|---|---|---|---|"]
    return "\n".join(head + [row for _, row in sorted(rows)])


if __name__ == "__main__":
    print(table())
