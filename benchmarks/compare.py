"""Compare backends fairly: the same problems, budgets and seeds for every engine.

    python benchmarks/compare.py                                  # every installed backend
    python benchmarks/compare.py --backends optuna:tpe skopt:gp --trials 40 --seeds 5

For each (problem, backend, seed) it runs ``ut.optimize`` with the same space, budget
and seed and keeps the best value; the table shows, per problem, the median best value
over seeds, its gap to the known optimum, the spread (min-max) and the wall time per
trial. A run is reproducible: the same arguments give the same best values for every
backend that repeats under a seed (all but ``ray:pbt`` and parallel runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import unitune as ut  # noqa: E402
from benchmarks.problems import PROBLEMS, Problem  # noqa: E402

# Backends whose point is not single-objective search on a continuous box.
SKIP = {"optuna:grid", "optuna:nsga3", "pymoo:nsga3"}


def default_backends() -> list[str]:
    return [b.name for b in ut.backends() if b.installed and b.name not in SKIP
            and b.capabilities.continuous]


def run_one(problem: Problem, backend: str, seed: int, n_trials: int) -> dict[str, Any]:
    start = time.perf_counter()
    result = ut.optimize(problem.objective, problem.space, backend=backend,
                         direction=problem.direction, n_trials=n_trials, seed=seed)
    seconds = time.perf_counter() - start
    return {"best": result.best_value, "seconds": seconds,
            "failed": sum(t.state is ut.TrialState.FAIL for t in result.trials)}


def compare(problems: list[str], backends: list[str], n_trials: int,
            seeds: list[int]) -> dict[str, Any]:
    rows = []
    for name in problems:
        problem = PROBLEMS[name]
        for backend in backends:
            runs = [run_one(problem, backend, seed, n_trials) for seed in seeds]
            bests = [r["best"] for r in runs]
            median = statistics.median(bests)
            rows.append({
                "problem": name, "backend": backend, "trials": n_trials, "seeds": seeds,
                "bests": bests, "median_best": median,
                "gap": None if problem.optimum is None else median - problem.optimum,
                "min": min(bests), "max": max(bests),
                "ms_per_trial": 1e3 * statistics.median(r["seconds"] for r in runs) / n_trials,
                "failed": sum(r["failed"] for r in runs),
            })
    return {"rows": rows}


def table(report: dict[str, Any]) -> str:
    lines = ["| problem | backend | median best | gap to optimum | min - max | ms/trial |",
             "|---|---|---|---|---|---|"]
    for r in sorted(report["rows"], key=lambda r: (r["problem"], r["median_best"])):
        gap = "" if r["gap"] is None else f"{r['gap']:.4g}"
        lines.append(f"| {r['problem']} | {r['backend']} | {r['median_best']:.5g} | {gap} | "
                     f"{r['min']:.4g} - {r['max']:.4g} | {r['ms_per_trial']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=sorted(PROBLEMS),
                        choices=sorted(PROBLEMS))
    parser.add_argument("--backends", nargs="+", default=None,
                        help="default: every installed single-objective-capable backend")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "compare.json"))
    args = parser.parse_args(argv)
    from unitune.adapters import get

    backends = args.backends or default_backends()
    for name in backends:  # a misspelt or missing backend fails before hours of work
        get(name).ensure_installed()
    report = compare(args.problems, backends, args.trials, list(range(args.seeds)))
    print(f"{args.trials} trials, seeds 0..{args.seeds - 1}: median best over seeds")
    print(table(report))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
