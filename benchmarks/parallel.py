"""The parallel family: ``n_workers`` 1 against 2, at equal trials and at equal wall time.

For each problem, backend and seed the same search runs with 1 worker and with 2, and
each run gives:

- **equal trials**: the best value after ``n_trials`` trials (what a second worker costs
  in quality: the trials proposed while others run see fewer results);
- **equal wall time**: the best value of the trials that had ended ``T`` seconds after
  the run started, where ``T`` is the time the 1-worker run of the same backend and seed
  took for half its trials (what a second worker gains: more trials in the same time);
- the wall time of the whole run and its speed-up.

What it measures on this machine: 2 workers share its 2 cores with the engine (and with
whatever else runs), so the speed-up is at most 2 and is less where the engine's own
work (TPE's sampling, Ray's bookkeeping) or the objective holds the CPU. The ``optuna:*``
and ``skopt:*`` backends run their workers as threads of one process (a pure-Python
objective holds the GIL: no speed-up beyond the time spent in NumPy or waiting), Ray
as processes. ``delayed(problem, s)`` makes a synthetic problem cost ``s`` seconds of
waiting per evaluation, as an evaluation done elsewhere (a remote job) does: then two
workers can only gain. Runs with 2 workers do not repeat bit for bit (which trial ends
first depends on timing).

    python benchmarks/parallel.py [--problems branin mlp_digits] [--n-trials 30] [--seeds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `unitune` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unitune as ut
from benchmarks._results import add_out, write_report
from benchmarks.multifidelity import NO_PRUNING
from benchmarks.multifidelity import PROBLEM as MLP_DIGITS
from benchmarks.problems import BRANIN, HARTMANN6, Problem

Variant = tuple[str, str, dict[str, Any]]
# Backends that run trials at once (every installed one does: ut.backends()'s
# capabilities.parallel), one per way of doing it: Optuna's TPE and random search in
# threads (no pruning: the optuna:* default is the median pruner), Optuna's TPE inside
# Ray Tune in processes, skopt's GP in threads (constant liar: skopt asks a batch of
# n_workers points and refits its GP once per point of it, which on this machine made
# 2 workers slower than 1).
BACKENDS: list[Variant] = [
    ("optuna:tpe", "optuna:tpe", dict(NO_PRUNING)),
    ("optuna:random", "optuna:random", dict(NO_PRUNING)),
    ("ray:optuna", "ray:optuna", {}),
    ("skopt:gp", "skopt:gp", {}),
]
WORKERS = (1, 2)


class _Delayed:
    """A problem's objective that waits ``seconds`` before answering (picklable)."""

    def __init__(self, fn: Any, seconds: float) -> None:
        self.fn, self.seconds = fn, seconds

    def __call__(self, params: dict[str, Any]) -> float:
        time.sleep(self.seconds)
        return float(self.fn(params))


def delayed(problem: Problem, seconds: float) -> Problem:
    """``problem`` with each evaluation taking ``seconds`` more, spent waiting."""
    return dataclasses.replace(problem, name=f"{problem.name}+{seconds:g}s",
                               objective=_Delayed(problem.objective, seconds))


PROBLEMS = {p.name: p for p in (BRANIN, HARTMANN6, MLP_DIGITS, delayed(BRANIN, 0.1))}


def _ends(result: ut.Result) -> tuple[float, list[tuple[float, ut.TrialRecord]]]:
    """The run's start, and (seconds from it to the trial's end, trial) in end order."""
    timed = [(t.datetime_start.timestamp(), t) for t in result.trials if t.datetime_start]
    start = min(s for s, _ in timed)
    ends = [(s + (t.duration or 0.0) - start, t) for s, t in timed]
    return start, sorted(ends, key=lambda e: (e[0], e[1].number))


def best_by(result: ut.Result, seconds: float, sign: float) -> float | None:
    """The best value (``sign`` 1 minimises, -1 maximises) of the completed trials that
    had ended ``seconds`` after the run's first trial started; None: none had."""
    values = [t.value for end, t in _ends(result)[1]
              if end <= seconds and t.state is ut.TrialState.COMPLETE and t.value is not None]
    return min(values, key=lambda v: sign * v) if values else None


def time_to(result: ut.Result, n: int) -> float:
    """Seconds from the run's start until its ``n``-th trial ended."""
    return _ends(result)[1][n - 1][0]


def compare(problem: Problem, backends: Sequence[Variant | str], n_trials: int,
            seeds: int | Sequence[int], n_workers: int, storage: Any = None,
            study_name: str | None = None) -> ut.Comparison:
    """``ut.compare`` of ``backends`` on ``problem`` with ``n_workers`` workers per study
    (studies ``parallel/<problem>/w<n_workers>/<label>/seed<k>``)."""
    chosen = [(b, b, {}) if isinstance(b, str) else b for b in backends]
    baseline = "optuna:random" if any(v[0] == "optuna:random" for v in chosen) else None
    return ut.compare(problem.objective, problem.space, backends=chosen, n_trials=n_trials,
                      seeds=seeds, direction=problem.direction, optimum=problem.optimum,
                      n_workers=n_workers, storage=storage, baseline=baseline,
                      study_name=study_name or f"parallel/{problem.name}/w{n_workers}")


def rows_from(problem: Problem, comparisons: Mapping[int, ut.Comparison]) -> Any:
    """A DataFrame, one row per (backend, n_workers, seed) of ``comparisons`` (n_workers
    -> the comparison run with them; the fewest workers are the reference): ``best``
    after the budget, ``best_at_T`` with ``T`` the seconds the reference run of that
    backend and seed took for half its trials, ``trials_at_T``, ``wall_seconds``, and
    ``regret``/``regret_at_T`` when ``problem.optimum`` is known."""
    import pandas as pd

    sign = 1.0 if problem.direction == "minimize" else -1.0
    first = min(comparisons)
    reference = {(r.label, r.seed): r.result for r in comparisons[first].runs}
    rows = []
    for n, cmp in sorted(comparisons.items()):
        for run in cmp.runs:
            T = time_to(reference[(run.label, run.seed)], max(1, cmp.n_trials // 2))
            ends = _ends(run.result)[1]
            row = {"problem": problem.name, "label": run.label, "backend": run.backend,
                   "n_workers": n, "seed": run.seed, "best": run.result.best_value, "T": T,
                   "best_at_T": best_by(run.result, T, sign),
                   "trials_at_T": sum(end <= T for end, _ in ends),
                   "wall_seconds": ends[-1][0]}
            if problem.optimum is not None:
                row["regret"] = sign * (row["best"] - problem.optimum)
                row["regret_at_T"] = (None if row["best_at_T"] is None
                                      else sign * (row["best_at_T"] - problem.optimum))
            rows.append(row)
    return pd.DataFrame(rows)


def parallel_rows(problem: Problem, backends: Sequence[Variant | str], n_trials: int,
                  seeds: int | Sequence[int], storage: Any = None,
                  workers: Sequence[int] = WORKERS) -> Any:
    """Run ``backends`` on ``problem`` with each number of ``workers`` and return
    ``rows_from`` of the comparisons."""
    return rows_from(problem, {n: compare(problem, backends, n_trials, seeds, n, storage)
                               for n in workers})


def parallel_summary(rows: Any) -> Any:
    """One row per (problem, backend, n_workers): the medians over seeds of the best
    value at equal trials and at equal time, trials done by T, wall seconds, and the
    speed-up (the 1-worker run's wall time over this one's, paired by seed)."""
    import pandas as pd

    first = rows["n_workers"].min()
    base = rows[rows["n_workers"] == first].set_index(["problem", "label", "seed"])
    out = []
    for (problem, label, n), g in rows.groupby(["problem", "label", "n_workers"], sort=False):
        walls = base.loc[[(problem, label, s) for s in g["seed"]], "wall_seconds"].to_numpy()
        row = {"problem": problem, "label": label, "n_workers": n, "seeds": len(g),
               "median_best": g["best"].median(), "median_best_at_T": g["best_at_T"].median(),
               "median_trials_at_T": g["trials_at_T"].median(),
               "median_wall_seconds": g["wall_seconds"].median(),
               "median_speedup": statistics.median(walls / g["wall_seconds"].to_numpy())}
        if "regret" in g:
            row["median_regret"] = g["regret"].median()
            row["median_regret_at_T"] = g["regret_at_T"].median()
        out.append(row)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    labels = [label for label, _, _ in BACKENDS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", nargs="+", default=["branin+0.1s", "mlp_digits"],
                        choices=sorted(PROBLEMS))
    parser.add_argument("--backends", nargs="+", default=labels, choices=labels)
    parser.add_argument("--n-trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--storage", default=None, help="ledger (default: in memory)")
    add_out(parser, "parallel")
    args = parser.parse_args(argv)
    import warnings

    import pandas as pd

    chosen = [b for b in BACKENDS if b[0] in args.backends]
    # the MLP reports every epoch; skopt says once per run that it does not prune
    warnings.filterwarnings("ignore", message=".*does not prune")
    rows = pd.concat([parallel_rows(PROBLEMS[p], chosen, args.n_trials, args.seeds,
                                    args.storage) for p in args.problems], ignore_index=True)
    summary = parallel_summary(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    report = {"n_trials": args.n_trials, "seeds": args.seeds, "workers": list(WORKERS),
              "summary": summary.to_dict("records"), "runs": rows.to_dict("records")}
    write_report(args.out, "parallel", report)
    return report


if __name__ == "__main__":
    main()
