"""What unitune costs over Optuna called directly, as ratios measured in one run.

    python benchmarks/overhead_optuna.py [--trials 300] [--repeats 5]

Branin, TPE with the same seed: the hand-written Optuna loop (``study.optimize`` with
``trial.suggest_float``) against ``ut.optimize(..., backend="optuna:tpe")``, in
memory; then the cost of the durable stores per trial (unitune's embedded journal
file, and Optuna's journal file and SQLite for reference). Runs are interleaved and
the median kept, so a busy machine slows both sides alike.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import unitune as ut  # noqa: E402
from benchmarks._results import add_out, write_report  # noqa: E402
from benchmarks._timing import interleave, median, ratio, ratios  # noqa: E402
from benchmarks.problems import BRANIN, branin  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def direct(n_trials: int, seed: int, storage=None) -> float:
    def objective(trial: optuna.Trial) -> float:
        return branin({"x1": trial.suggest_float("x1", -5.0, 10.0),
                       "x2": trial.suggest_float("x2", 0.0, 15.0)})

    start = time.perf_counter()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), storage=storage)
    study.optimize(objective, n_trials=n_trials)
    return (time.perf_counter() - start) / n_trials


def ours(n_trials: int, seed: int, storage=None) -> float:
    start = time.perf_counter()
    ut.optimize(branin, BRANIN.space, backend="optuna:tpe", seed=seed, n_trials=n_trials,
                storage=storage)
    return (time.perf_counter() - start) / n_trials


def journal(tmp: Path, name: str) -> optuna.storages.JournalStorage:
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(tmp / name)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    add_out(parser, "overhead_optuna")
    args = parser.parse_args(argv)
    n = args.trials
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        times = interleave({
            "direct_memory": lambda r: direct(n, r),
            "unitune_memory": lambda r: ours(n, r),
            "unitune_journal": lambda r: ours(n, r, storage=str(tmp / f"ut{r}.journal")),
            "direct_journal": lambda r: direct(n, r, storage=journal(tmp, f"op{r}.log")),
            "direct_sqlite": lambda r: direct(n, r, storage=f"sqlite:///{tmp / f'op{r}.db'}"),
        }, args.repeats,
            warmup=[lambda: ours(20, 0), lambda: direct(20, 0)],  # imports on both sides
            max_runs={"direct_sqlite": 2})  # SQLite is slow; two runs give a reference figure
    ms = {k: median(v) * 1e3 for k, v in times.items() if v}
    pair_ratios = ratios(times["unitune_memory"], times["direct_memory"])
    report = {
        "trials": n, "repeats": args.repeats, "ms_per_trial": ms,
        "ratio_unitune_over_direct": ratio(times["unitune_memory"], times["direct_memory"]),
        "ratio_per_repeat": pair_ratios,
        "journal_extra_ms_unitune": ms["unitune_journal"] - ms["unitune_memory"],
        "journal_extra_ms_optuna": ms["direct_journal"] - ms["direct_memory"],
        "sqlite_extra_ms_optuna": ms["direct_sqlite"] - ms["direct_memory"],
    }
    print(f"Branin, TPE, {n} trials, median of {args.repeats} interleaved runs")
    for k, v in ms.items():
        print(f"  {k:<16} {v:7.3f} ms/trial")
    print(f"  unitune / direct (memory): {report['ratio_unitune_over_direct']:.3f}x "
          f"(per repeat: {', '.join(f'{r:.3f}' for r in pair_ratios)})")
    print(f"  durable store, extra per trial: unitune journal "
          f"{report['journal_extra_ms_unitune']:+.2f} ms, Optuna journal "
          f"{report['journal_extra_ms_optuna']:+.2f} ms, Optuna SQLite "
          f"{report['sqlite_extra_ms_optuna']:+.2f} ms")
    write_report(args.out, "overhead_optuna", report)
    return report


if __name__ == "__main__":
    main()
