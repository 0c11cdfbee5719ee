"""Every recipe, run as a user runs it (``python recipes/X.py --backend B``), on one
backend of each engine: it runs, or it is refused up front in one line that says why.

The runs are subprocesses (what the in-process recipe tests cannot see: Ray's workers
loading a script's objective), with tiny budgets, three at a time (a Ray run mostly
waits for its runtime to start), all started once per session; each test waits for
its own run to end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "recipes"))
from _readme import recipes, table  # noqa: E402

RECIPES = recipes()
ENGINES = ("optuna", "skopt", "ray", "pymoo")
DEFAULTS = {"optuna": "optuna:tpe", "skopt": "skopt:gp", "ray": "ray:random",
            "pymoo": "pymoo:ga"}

# Flags that shrink each recipe to a few seconds (and 3 trials).
TINY: dict[str, list[str]] = {
    "grid": ["--cv", "2", "--no-compare"],
    "random_search": ["--cv", "2"],
    "bayesian": ["--cv", "2", "--n-samples", "300"],
    "optuna_xgboost": ["--cv", "2", "--max-estimators", "50"],
    "searchcv_xgboost": ["--cv", "2"],
    "pbt": ["--steps", "3"],
    "hyperband": ["--max-epochs", "3"],
    "early_stopping": ["--max-epochs", "10"],
    "pruning": ["--max-epochs", "5"],
    "async_parallel": ["--epochs", "2", "--workers", "2"],
    "tpe": ["--cv", "2"],
    "model_choice": ["--cv", "2"],
    "multi_objective": ["--pop-size", "3", "--max-iter", "3"],
    "evolutionary": ["--pop-size", "3", "--max-iter", "3"],
    "nlp_pipeline": ["--max-iter", "5"],
    "vision": ["--epoch-scale", "0.01"],
}
# (recipe, engine) pairs that cannot express the scenario: refused up front.
REFUSED = {("multi_objective", "skopt")}


def _backend(module, engine: str) -> str:
    return module.BACKEND if module.BACKEND.startswith(engine + ":") else DEFAULTS[engine]


CASES = [(stem, engine) for stem in RECIPES for engine in ENGINES]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """Start every run once; each test waits for the one it checks."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}

    def run(stem: str, engine: str) -> subprocess.CompletedProcess:
        cwd = tmp_path_factory.mktemp(f"{stem}-{engine}")
        args = [sys.executable, str(ROOT / "recipes" / f"{stem}.py"), "--backend",
                _backend(RECIPES[stem], engine), "--n-trials", "3", *TINY.get(stem, [])]
        return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=900)

    pool = ThreadPoolExecutor(max_workers=3)
    futures: dict[tuple[str, str], Future] = {
        case: pool.submit(run, *case) for case in CASES}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("stem, engine", CASES)
def test_each_recipe_runs_as_a_script_on_each_engine_or_says_why_not(runs, stem, engine):
    proc = runs[(stem, engine)].result()
    backend = _backend(RECIPES[stem], engine)
    if (stem, engine) in REFUSED:
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr[-3000:]
        assert proc.stderr.count("\n") == 1
        assert proc.stderr.startswith(f"{stem}.py: error: --backend {backend}: ")
        return
    assert proc.returncode == 0, proc.stderr[-5000:]
    lines = proc.stdout.splitlines()
    assert backend in lines[0]  # the first line: the goal, its direction and the backend
    assert "maximize" in lines[0] or "minimize" in lines[0]
    trials = [ln for ln in lines if ln.startswith("trial ")]
    assert 1 <= len(trials) and all(ln.split()[2] in ("COMPLETE", "PRUNED") for ln in trials)
    assert "Traceback" not in proc.stderr


def test_the_readme_table_is_made_from_the_recipes():
    readme = (ROOT / "README.md").read_text()
    assert table() in readme, "run `python recipes/_readme.py` and paste its table"
    slides = sorted(m.SLIDE for m in RECIPES.values() if m.SLIDE)
    assert slides == list(range(1, 15))  # one recipe per slide
