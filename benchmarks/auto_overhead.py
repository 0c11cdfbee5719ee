"""What ``backend="auto"`` itself costs (its decisions, not the engines'): the choice made
once per study, the switch decision at each step's end, and the whole per trial: the
same study with ``backend="auto"`` (which picks optuna:tpe on an all-categorical space)
and with ``backend="optuna:tpe"`` (the same proposals, bit for bit), best of a few runs.

    python benchmarks/auto_overhead.py [--n-trials 300] [--repeats 5]
        [--out benchmarks/results/auto_overhead.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unitune as ut  # noqa: E402
from benchmarks._results import add_out, machine, write_report  # noqa: E402
from unitune.adapters import auto  # noqa: E402
from unitune.ledger import Ledger  # noqa: E402

NUMERIC = ut.Space({f"x{i}": ut.Float(0.0, 1.0) for i in range(6)})
TABULAR = ut.Space({f"c{i}": ut.Categorical(list(range(6))) for i in range(5)})


def per_call(fn, n: int = 2000) -> float:
    """Seconds per call of ``fn``, best of 3 rounds of ``n``."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def choice_seconds() -> dict[str, float]:
    out = {}
    for name, space, dirs in (("numeric", NUMERIC, ("minimize",)),
                              ("tabular", TABULAR, ("minimize",)),
                              ("multi-objective", NUMERIC, ("minimize", "minimize"))):
        def choose(space=space, dirs=dirs):
            facts = auto.facts_of(space, dirs, n_trials=100)
            return auto.choose(space, dirs, facts)
        out[name] = per_call(choose, 500)
    return out


def step_end_seconds(n_trials: int) -> float:
    """The switch decision at a step's end: the study's count (read twice, as
    ``optimize._schedule`` does: incrementally, so the first read of this fresh ledger is
    the whole study, the worst case) and the rule, in a journal of ``n_trials`` trials."""
    with tempfile.TemporaryDirectory() as folder:
        storage = str(Path(folder) / "study.journal")
        ut.optimize(lambda p: float(sum(p.values())), TABULAR, backend="optuna:random",
                    n_trials=n_trials, seed=0, storage=storage, study_name="s")
        best = float("inf")
        for _ in range(5):
            ledger = Ledger.open(storage, "s", TABULAR, ("minimize",))  # not timed
            start = time.perf_counter()
            for _ in range(2):
                ledger.used_budget()
            auto.switch_now(auto.Step("optuna:gp", {}, 200, "cheap"), 0.1, 1.0)
            best = min(best, time.perf_counter() - start)
        return best


def end_to_end(n_trials: int, repeats: int) -> dict[str, float]:
    def objective(p):
        return float(sum(p.values()))

    best: dict[str, float] = {}
    for backend in ("optuna:tpe", "auto") * repeats:
        start = time.perf_counter()
        result = ut.optimize(objective, TABULAR, backend=backend, n_trials=n_trials, seed=0)
        seconds = (time.perf_counter() - start) / n_trials
        best[backend] = min(best.get(backend, float("inf")), seconds)
        assert backend != "auto" or result.backend == "auto: optuna:tpe"
    return best


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    add_out(parser, "auto_overhead")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    choice = choice_seconds()
    for name, seconds in choice.items():
        print(f"choice ({name} study, once per study): {seconds * 1e6:.0f} us")
    step = step_end_seconds(1000)
    print(f"switch decision at a step's end (study of 1,000 trials): {step * 1e6:.0f} us")
    best = end_to_end(args.n_trials, args.repeats)
    diff = best["auto"] - best["optuna:tpe"]
    print(f"per trial, {args.n_trials} trials, best of {args.repeats}: optuna:tpe "
          f"{best['optuna:tpe'] * 1e3:.3f} ms, auto {best['auto'] * 1e3:.3f} ms, "
          f"auto's own {diff * 1e3:+.3f} ms")
    report = {
        "command": " ".join(["python", "benchmarks/auto_overhead.py",
                             *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(("optuna", "numpy")), "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "choice_ms_once_per_study": {k: v * 1e3 for k, v in choice.items()},
        "switch_decision_ms_per_step_1000_trials": step * 1e3,
        "per_trial_ms": {k: v * 1e3 for k, v in best.items()},
        "auto_own_ms_per_trial": diff * 1e3, "n_trials": args.n_trials,
        "repeats": args.repeats,
    }
    write_report(args.out, "auto_overhead", report)
    return report


if __name__ == "__main__":
    main()
