"""Trials in worker processes: the speed-up of 2 processes over 1, and what a process costs.

    python benchmarks/process_parallel.py [--trials 60] [--repeats 3] [--target-ms 50]
        [--overhead-trials 500] [--out benchmarks/results/process_parallel.json]

1. **Speed-up.** A CPU-bound pure-Python objective (a loop that keeps the GIL, its
   length calibrated at start to ``--target-ms`` per trial) run with
   ``executor="process"`` and ``n_workers=2`` against ``n_workers=1``, for optuna:tpe,
   optuna:tpe with ``deterministic=True``, skopt:gp (batches of 2 by its constant liar:
   ``deterministic=True``), skopt:gp asynchronous (a batch asked when the queue runs dry,
   outcomes told as they come) and pymoo:ga; and, in the same run, the anchor: Optuna's own
   ``study.optimize(n_jobs=2)`` against ``n_jobs=1`` (threads, so ~1.0x: the GIL).
   The rate is trials per second between the first and the last trial to end (the
   steady state: a pool's start is reported apart), and over the whole call too.
2. **Per-trial cost of a process.** A trivial objective on optuna:random, 1 worker,
   ``--overhead-trials`` trials, ``executor="process"`` against ``"thread"``: ms per
   trial between the first and the last trial to end, and the pool's start.

Sides are interleaved and repeated and medians kept, so a busy machine slows both
alike; but a speed-up needs 2 idle cores: on a loaded machine it is bounded by the
cores left (the load average is recorded before and after).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optuna  # noqa: E402

import unitune as ut  # noqa: E402
from benchmarks._results import add_out, machine, write_report  # noqa: E402
from benchmarks._timing import interleave, median  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {"x": ut.Float(-2.0, 2.0), "y": ut.Float(0.0, 1.0)}
LOOPS = "UNITUNE_BENCH_LOOPS"  # the loop count, read by the objective in every worker
# label -> (backend, options, deterministic)
CASES = {
    "optuna:tpe": ("optuna:tpe", {}, False),
    "optuna:tpe deterministic": ("optuna:tpe", {}, True),
    "skopt:gp batch": ("skopt:gp", {"acq_optimizer": "sampling"}, True),
    "skopt:gp": ("skopt:gp", {"acq_optimizer": "sampling"}, False),
    "pymoo:ga": ("pymoo:ga", {"pop_size": 10}, False),
}
DISTRIBUTIONS = ("optuna", "scikit-optimize", "pymoo", "numpy", "scikit-learn")


def burn(params: dict) -> float:
    """~target ms of pure Python (the GIL held throughout), then a value of the params."""
    x, y = params["x"], params["y"]
    acc = 0.0
    for i in range(int(os.environ[LOOPS])):
        acc += (x * i) % 7.0 - y
    return (x - 0.3) ** 2 + y ** 2 + acc * 1e-15


def trivial(params: dict) -> float:
    return params["x"] ** 2 + params["y"]


def calibrate(target_ms: float) -> int:
    """The loop count that makes ``burn`` take ``target_ms`` here (the median of 5)."""
    os.environ[LOOPS] = "20000"
    times = []
    for _ in range(5):
        start = time.perf_counter()
        burn({"x": 0.1, "y": 0.2})
        times.append(time.perf_counter() - start)
    loops = max(1, int(20000 * target_ms / 1e3 / median(times)))
    os.environ[LOOPS] = str(loops)
    return loops


class Ends:
    """A callback: when each trial ended (perf_counter)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, *_: object) -> None:
        self.times.append(time.perf_counter())


def rates(start: float, end: float, ends: list[float]) -> dict:
    """Trials per second: steady (first to last trial's end) and over the whole call."""
    steady = (len(ends) - 1) / (ends[-1] - ends[0]) if len(ends) > 1 else 0.0
    return {"steady": steady, "whole": len(ends) / (end - start), "first_s": ends[0] - start}


def ours(case: str, n_trials: int, workers: int, seed: int, objective=burn,
         executor: str = "process") -> dict:
    backend, options, deterministic = CASES.get(case, (case, {}, False))
    ends = Ends()
    start = time.perf_counter()
    ut.optimize(objective, SPACE, backend=backend, options=options, n_trials=n_trials,
                n_workers=workers, seed=seed, executor=executor, callbacks=[ends],
                deterministic=deterministic)
    return rates(start, time.perf_counter(), ends.times)


def optuna_n_jobs(n_trials: int, n_jobs: int, seed: int) -> dict:
    def objective(trial: optuna.Trial) -> float:
        return burn({"x": trial.suggest_float("x", -2.0, 2.0),
                     "y": trial.suggest_float("y", 0.0, 1.0)})

    ends = Ends()
    start = time.perf_counter()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials, n_jobs=n_jobs, callbacks=[ends])
    return rates(start, time.perf_counter(), ends.times)


def speedups(args: argparse.Namespace) -> dict:
    n = args.trials
    sides = {}
    for case in CASES:
        for w in (1, 2):
            sides[f"{case} | {w}"] = lambda r, c=case, w=w: ours(c, n, w, r)
    for jobs in (1, 2):
        sides[f"optuna n_jobs | {jobs}"] = lambda r, j=jobs: optuna_n_jobs(n, j, r)
    runs = interleave(sides, args.repeats, alternate=True,
                      warmup=[lambda: ours("optuna:tpe", 4, 2, 0)])
    out = {}
    for label in [*CASES, "optuna n_jobs"]:
        one, two = runs[f"{label} | 1"], runs[f"{label} | 2"]
        out[label] = {
            "trials_per_s_1": median(r["steady"] for r in one),
            "trials_per_s_2": median(r["steady"] for r in two),
            "speedup": median(r["steady"] for r in two) / median(r["steady"] for r in one),
            "speedup_whole_call": (median(r["whole"] for r in two)
                                   / median(r["whole"] for r in one)),
            "speedup_per_repeat": [b["steady"] / a["steady"] for a, b in zip(one, two)],
            "first_trial_end_s_2": median(r["first_s"] for r in two),
        }
    return out


def overhead(args: argparse.Namespace) -> dict:
    n = args.overhead_trials
    runs = interleave({kind: lambda r, k=kind: ours("optuna:random", n, 1, r, trivial, k)
                       for kind in ("thread", "process")}, args.repeats, alternate=True)
    ms = {k: 1e3 / median(r["steady"] for r in v) for k, v in runs.items()}
    return {"trials": n, "ms_per_trial": ms, "process_extra_ms": ms["process"] - ms["thread"],
            "first_trial_end_s": {k: median(r["first_s"] for r in v) for k, v in runs.items()}}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60, help="trials per run (default 60)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target-ms", type=float, default=50.0,
                        help="the objective's duration, calibrated at start (default 50)")
    parser.add_argument("--overhead-trials", type=int, default=500)
    parser.add_argument("--blas-threads", type=int, default=1, help="BLAS threads of the "
                        "engines' fits (default 1: more spin against the 2 workers)")
    add_out(parser, "process_parallel")
    args = parser.parse_args(argv)
    import scipy.linalg  # noqa: F401 - loaded, so that its BLAS can be limited
    import sklearn  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.blas_threads):
        report = measure(args, argv)
    print(f"{args.trials} trials of ~{args.target_ms:g} ms ({report['objective']['loops']} "
          f"loops), median of {args.repeats}; load average "
          f"{report['load_average_before'][0]:.1f} before, "
          f"{report['load_average_after'][0]:.1f} after")
    for label, row in report["speedup_2_over_1"].items():
        print(f"  {label:<26} 1 worker {row['trials_per_s_1']:6.2f}/s, 2 workers "
              f"{row['trials_per_s_2']:6.2f}/s: {row['speedup']:.2f}x "
              f"(whole call {row['speedup_whole_call']:.2f}x)")
    cost = report["process_overhead"]
    print(f"  per trial, optuna:random, {cost['trials']} trials: thread "
          f"{cost['ms_per_trial']['thread']:.3f} ms, process "
          f"{cost['ms_per_trial']['process']:.3f} ms ({cost['process_extra_ms']:+.3f} ms)")
    write_report(args.out, "process_parallel", report)
    return report


def measure(args: argparse.Namespace, argv: list[str] | None) -> dict:
    load_before = os.getloadavg()
    loops = calibrate(args.target_ms)
    return {
        "command": " ".join(["python", "benchmarks/process_parallel.py",
                             *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(DISTRIBUTIONS), "load_average_before": load_before,
        "objective": {"target_ms": args.target_ms, "loops": loops},
        "trials": args.trials, "repeats": args.repeats,
        "blas_threads": args.blas_threads,
        "speedup_2_over_1": speedups(args), "process_overhead": overhead(args),
        "load_average_after": os.getloadavg(),
    }


if __name__ == "__main__":
    main()
