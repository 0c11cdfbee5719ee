"""The backend comparison: the same problems, budgets and seeds for every engine, and the
same figures when it is run again."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import unitune as ut
from benchmarks import compare
from benchmarks.problems import BRANIN, HARTMANN6
from unitune.adapters import get

ROOT = Path(__file__).resolve().parents[1]


def test_problems_have_their_known_optima():
    assert BRANIN.objective({"x1": 3.14159265, "x2": 2.275}) == pytest.approx(0.397887, abs=1e-5)
    best = {"x0": 0.20169, "x1": 0.150011, "x2": 0.476874, "x3": 0.275332, "x4": 0.311652,
            "x5": 0.6573}
    assert HARTMANN6.objective(best) == pytest.approx(-3.32237, abs=1e-4)


def test_comparison_is_reproducible_and_fair(tmp_path):
    argv = ["--problems", "branin", "--backends", "optuna:tpe", "skopt:gp", "pymoo:ga",
            "--trials", "12", "--seeds", "2", "--out", str(tmp_path / "c.json")]
    first = compare.main(argv)
    again = compare.main(argv)
    assert [r["bests"] for r in first["rows"]] == [r["bests"] for r in again["rows"]]
    assert [(r["backend"], r["trials"], r["seeds"]) for r in first["rows"]] == [
        ("optuna:tpe", 12, [0, 1]), ("skopt:gp", 12, [0, 1]), ("pymoo:ga", 12, [0, 1])]
    assert all(r["median_best"] >= BRANIN.optimum and r["gap"] >= 0 for r in first["rows"])
    assert [r["options"] for r in first["rows"]] == [{}, {}, {"pop_size": 4}]
    assert (tmp_path / "c.json").is_file()


def test_the_population_rule():
    assert [compare.population(n, 100) for n in (4, 12, 20, 40, 50, 499, 500, 5000)] == [
        4, 4, 4, 8, 10, 99, 100, 100]
    assert compare.population(1000, 50) == 50
    assert compare.population(12, 2) == 2  # never above the engine's default
    # CMA-ES's own default depends on the dimension: 6 on Branin, 9 on Hartmann6
    assert compare.engine_population("optuna:cmaes", BRANIN) == 6
    assert compare.engine_population("optuna:cmaes", HARTMANN6) == 9
    assert compare.backend_options("optuna:cmaes", HARTMANN6, 50) == {"popsize": 9}
    assert compare.backend_options("optuna:nsga2", BRANIN, 50) == {"population_size": 10}
    assert compare.backend_options("pymoo:de", BRANIN, 40) == {"pop_size": 8}
    assert compare.backend_options("optuna:qmc", BRANIN, 50) == {"scramble": True}
    assert compare.backend_options("optuna:tpe", BRANIN, 50) == {}


def test_population_defaults_are_the_engines_own():
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("pymoo")
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.algorithms.soo.nonconvex.de import DE
    from pymoo.algorithms.soo.nonconvex.ga import GA

    def default(cls, name):
        return inspect.signature(cls).parameters[name].default

    engines = {"pymoo:ga": GA, "pymoo:de": DE, "pymoo:nsga2": NSGA2,
               "optuna:nsga2": optuna.samplers.NSGAIISampler,
               "optuna:nsga3": optuna.samplers.NSGAIIISampler,
               "optuna:cmaes": optuna.samplers.CmaEsSampler}
    for backend, cls in engines.items():
        name, value = compare.POPULATION_OPTION[backend]
        assert default(cls, name) == value, backend
        assert name in get(backend).accepted_options(), backend


def _generations(backend: str, n_trials: int, monkeypatch) -> int:
    """The index (from 0) of the last generation ``backend`` proposed trials from in the
    comparison's run at this budget, as the engine itself counts: 0 means that every trial
    came from the random first generation."""
    options = compare.backend_options(backend, BRANIN, n_trials)
    if backend.startswith("pymoo:"):
        from pymoo.core.algorithm import Algorithm

        asked = [0]
        ask = Algorithm.ask

        def counting(self, *args, **kwargs):
            asked[0] += 1
            return ask(self, *args, **kwargs)

        monkeypatch.setattr(Algorithm, "ask", counting)  # once per generation proposed
        compare.run_one(BRANIN, backend, 0, n_trials, options)
        return asked[0] - 1
    import optuna

    storage = optuna.storages.InMemoryStorage()
    ut.optimize(BRANIN.objective, BRANIN.space, backend=backend, n_trials=n_trials, seed=0,
                options=options, storage=storage)
    (name,) = optuna.get_all_study_names(storage)
    trials = optuna.load_study(study_name=name, storage=storage).trials
    # Optuna's GA and CMA-ES samplers tag each trial they propose with its generation
    return max(v for t in trials for k, v in t.system_attrs.items()
               if k.endswith(":generation"))


@pytest.mark.parametrize("backend", ["pymoo:ga", "pymoo:de", "pymoo:nsga2", "optuna:nsga2",
                                     "optuna:cmaes"])
def test_population_backends_evolve_within_a_small_budget(backend, monkeypatch):
    """At the test budget (12 trials: population 4) every population-based backend breeds
    two generations after its first; with its engine's default population (50 or 100) the
    GA backends never left the random first one (CMA-ES, 6 on Branin, reached a second)."""
    pytest.importorskip(backend.split(":")[0])
    assert _generations(backend, 12, monkeypatch) >= 2


def test_qmc_seeds_give_different_points():
    report = compare.main(["--problems", "branin", "--backends", "optuna:qmc", "--trials", "8",
                           "--seeds", "2", "--out", ""])
    (row,) = report["rows"]
    assert row["options"] == {"scramble": True}
    assert row["bests"][0] != row["bests"][1]


def test_a_missing_backend_fails_before_any_run():
    with pytest.raises(ut.UnknownBackend, match="optuna:tpx"):
        compare.main(["--backends", "optuna:tpe", "optuna:tpx", "--out", ""])


def test_interleave_takes_the_sides_in_turn():
    from benchmarks._timing import interleave, ratio, ratios

    calls = []
    runs = interleave({"a": lambda r: calls.append(("a", r)) or r,
                       "b": lambda r: calls.append(("b", r)) or 2 * r + 2,
                       "slow": lambda r: calls.append(("slow", r)) or -r},
                      3, warmup=[lambda: calls.append("warm")], alternate=True,
                      max_runs={"slow": 1})
    assert calls == ["warm", ("a", 0), ("b", 0), ("slow", 0), ("b", 1), ("a", 1),
                     ("a", 2), ("b", 2)]
    assert runs == {"a": [0, 1, 2], "b": [2, 4, 6], "slow": [0]}
    assert ratios(runs["b"], [1, 2, 3]) == [2, 2, 2]
    assert ratio(runs["b"], [1, 2, 3]) == 2


# script, tiny arguments, the committed figures it would have replaced before
SCRIPTS_WRITING_FIGURES = [
    ("compare", ["--problems", "branin", "--backends", "optuna:random", "--trials", "3",
                 "--seeds", "1"]),
    ("corrupt_files", []),
    ("overhead_optuna", ["--trials", "5", "--repeats", "1"]),
    ("resume_kills", ["--backends", "optuna:random", "--kills", "1", "--trials", "4"]),
]


@pytest.mark.parametrize("script,argv", SCRIPTS_WRITING_FIGURES,
                         ids=[s for s, _ in SCRIPTS_WRITING_FIGURES])
def test_a_run_without_out_leaves_the_committed_figures_as_they_are(script, argv):
    """Run as a user runs it, without --out, a script writes its figures to a new file in
    benchmarks/results/ (and says which); the committed NAME.json stays byte for byte."""
    results = ROOT / "benchmarks" / "results"
    committed = results / f"{script}.json"
    before = committed.read_bytes()
    proc = subprocess.run([sys.executable, f"benchmarks/{script}.py", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    after = committed.read_bytes()
    committed.write_bytes(before)  # put back, should the test fail
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert after == before
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("figures written to "), last
    written = Path(last.removeprefix("figures written to "))
    try:
        assert written.parent == results and written.name.startswith(f"{script}-")
        assert json.loads(written.read_text())  # the figures are there
    finally:
        written.unlink(missing_ok=True)


def test_no_script_names_a_committed_file_itself():
    """Only benchmarks/_results.py knows the results folder; a script that builds a path
    into it (a default --out) would overwrite the committed figures again."""
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        if path.name == "_results.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        named = [node.value for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 and id(node) not in docstrings
                 and (node.value == "results" or "results/" in node.value)]
        assert not named, (path.name, named)
