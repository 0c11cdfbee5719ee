"""Compare backends fairly: the same problems, budgets and seeds for every engine.

    python benchmarks/compare.py                                  # every installed backend
    python benchmarks/compare.py --backends optuna:tpe skopt:gp --trials 40 --seeds 5

For each (problem, backend, seed) it runs ``ut.optimize`` with the same space, budget
and seed and keeps the best value; the table shows, per problem, the median best value
over seeds, its gap to the known optimum, the spread (min-max) and the wall time per
trial. A run is reproducible: the same arguments give the same best values for every
backend that repeats under a seed (all but ``ray:pbt`` and parallel runs).

Population-based backends get a population sized from the budget (see ``population``),
through each backend's own option name, and ``optuna:qmc`` a scrambled sequence, so
that every backend searches with the budget it is given; the JSON records the options
of every backend, the rule and the engine versions.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import unitune as ut  # noqa: E402
from benchmarks._results import add_out, write_report  # noqa: E402
from benchmarks.problems import PROBLEMS, Problem  # noqa: E402

# This script runs the synthetic problems (minimised, known optima); benchmarks/suite.py
# runs the whole catalogue.
SYNTHETIC = sorted(n for n, p in PROBLEMS.items() if p.family == "synthetic")
# Backends whose point is not single-objective search on a continuous box.
SKIP = {"optuna:grid", "optuna:nsga3", "pymoo:nsga3"}


def default_backends() -> list[str]:
    return [b.name for b in ut.backends() if b.installed and b.name not in SKIP
            and b.capabilities.continuous]


# The population rule. With their engines' default populations (pymoo 100, Optuna's
# NSGA-II/III 50) the genetic backends spend a 50-trial budget on their random first
# generation and never select or vary anything: they would be compared as random search.
# Each gets instead a population of n_trials // 5, at least MIN_POPULATION and at most the
# engine's own default:
# - a fifth of the budget is the share the model-based backends spend on random start-up
#   at the default budget (Optuna's TPE and GP and skopt start with 10 random trials of
#   50), and it leaves room for four generations of selection after the first;
# - at least 4: DE/rand/1 mutation draws three partners distinct from the target, and 4 is
#   CMA-ES's smallest default (4 + floor(3 ln d) for d = 1);
# - at most the default: a population is never made larger than its engine ships it, so
#   at large budgets (>= 5x the default) every engine runs exactly as shipped.
MIN_POPULATION = 4
POPULATION_RULE = ("population = min(engine default, max(4, n_trials // 5)); engine "
                   "defaults: pymoo 100, Optuna NSGA-II/III 50, CMA-ES 4 + floor(3 ln d)")

# backend -> the backend's option for its population size, and the engine's default
# (test_benchmarks checks these defaults against the installed engines' signatures).
POPULATION_OPTION: dict[str, tuple[str, int | None]] = {
    "pymoo:ga": ("pop_size", 100),
    "pymoo:de": ("pop_size", 100),
    "pymoo:nsga2": ("pop_size", 100),
    "pymoo:nsga3": ("pop_size", 100),  # unitune's default (pymoo's NSGA3 has none)
    "optuna:nsga2": ("population_size", 50),
    "optuna:nsga3": ("population_size", 50),
    "optuna:cmaes": ("popsize", None),  # None: 4 + floor(3 ln d), the cmaes package's rule
}
# Options other than the population, the same for every budget.
FIXED_OPTIONS: dict[str, dict[str, Any]] = {
    # Optuna's QMCSampler is unscrambled by default: every seed gives the same points.
    "optuna:qmc": {"scramble": True},
}
# What the figures of a backend mean beyond its options.
NOTES = {
    "optuna:qmc": "scrambled Sobol sequence (scramble=True): the seed picks the scrambling",
    "ray:pbt": "one report per trial and one trial at a time: PBT has nothing to exploit "
               "(its population is the trials running at once); random search",
    "ray:asha": "one report per trial: nothing to stop early; random search",
    "ray:hyperband": "one report per trial: nothing to stop early; random search",
    "ray:median": "one report per trial: nothing to stop early; random search",
}


def population(n_trials: int, engine_default: int) -> int:
    """The population size for a budget: see the comment above ``MIN_POPULATION``."""
    return min(engine_default, max(MIN_POPULATION, n_trials // 5))


def engine_population(backend: str, problem: Problem) -> int | None:
    """The engine's own default population for ``backend`` on ``problem`` (None: not a
    population-based backend)."""
    if backend not in POPULATION_OPTION:
        return None
    default = POPULATION_OPTION[backend][1]
    return 4 + math.floor(3 * math.log(len(problem.space))) if default is None else default


def backend_options(backend: str, problem: Problem, n_trials: int) -> dict[str, Any]:
    """The options the comparison passes to ``backend`` at this budget."""
    options = dict(FIXED_OPTIONS.get(backend, {}))
    default = engine_population(backend, problem)
    if default is not None:
        options[POPULATION_OPTION[backend][0]] = population(n_trials, default)
    return options


def versions() -> dict[str, str]:
    out = {}
    for dist in ("unitune", "optuna", "cmaes", "scikit-optimize", "scikit-learn", "ray",
                 "pymoo", "numpy", "scipy", "torch"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def run_one(problem: Problem, backend: str, seed: int, n_trials: int,
            options: dict[str, Any] | None = None) -> dict[str, Any]:
    start = time.perf_counter()
    result = ut.optimize(problem.objective, problem.space, backend=backend,
                         direction=problem.direction, n_trials=n_trials, seed=seed,
                         options=options or {})
    seconds = time.perf_counter() - start
    return {"best": result.best_value, "seconds": seconds,
            "failed": sum(t.state is ut.TrialState.FAIL for t in result.trials)}


def compare(problems: list[str], backends: list[str], n_trials: int,
            seeds: list[int]) -> dict[str, Any]:
    rows = []
    for name in problems:
        problem = PROBLEMS[name]
        for backend in backends:
            options = backend_options(backend, problem, n_trials)
            runs = [run_one(problem, backend, seed, n_trials, options) for seed in seeds]
            print(f"  {name} {backend}: {sum(r['seconds'] for r in runs):.1f} s",
                  file=sys.stderr, flush=True)  # progress: a full run takes many minutes
            bests = [r["best"] for r in runs]
            median = statistics.median(bests)
            default = engine_population(backend, problem)
            rows.append({
                "problem": name, "backend": backend, "trials": n_trials, "seeds": seeds,
                "options": options,
                "population": None if default is None else population(n_trials, default),
                "engine_default_population": default,
                "note": NOTES.get(backend),
                "bests": bests, "median_best": median,
                "gap": None if problem.optimum is None else median - problem.optimum,
                "min": min(bests), "max": max(bests),
                "ms_per_trial": 1e3 * statistics.median(r["seconds"] for r in runs) / n_trials,
                "failed": sum(r["failed"] for r in runs),
            })
    return {"trials": n_trials, "seeds": seeds, "population_rule": POPULATION_RULE,
            "versions": versions(), "rows": rows}


def table(report: dict[str, Any]) -> str:
    lines = ["| problem | backend | median best | gap to optimum | min - max | ms/trial "
             "| options |", "|---|---|---|---|---|---|---|"]
    for r in sorted(report["rows"], key=lambda r: (r["problem"], r["median_best"])):
        gap = "" if r["gap"] is None else f"{r['gap']:.4g}"
        opts = ", ".join(f"{k}={v}" for k, v in r.get("options", {}).items())
        lines.append(f"| {r['problem']} | {r['backend']} | {r['median_best']:.5g} | {gap} | "
                     f"{r['min']:.4g} - {r['max']:.4g} | {r['ms_per_trial']:.1f} | {opts} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["branin", "hartmann6"],
                        choices=SYNTHETIC)
    parser.add_argument("--backends", nargs="+", default=None,
                        help="default: every installed single-objective-capable backend")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    add_out(parser, "compare")
    args = parser.parse_args(argv)
    from unitune.adapters import get

    backends = args.backends or default_backends()
    for name in backends:  # a misspelt or missing backend fails before hours of work
        get(name).ensure_installed()
    report = compare(args.problems, backends, args.trials, list(range(args.seeds)))
    print(f"{args.trials} trials, seeds 0..{args.seeds - 1}: median best over seeds; "
          f"{POPULATION_RULE}")
    print(table(report))
    write_report(args.out, "compare", report)
    return report


if __name__ == "__main__":
    main()
