"""What unitune costs over scikit-optimize called directly, and how well skopt:gp does,
as figures measured in one run.

    python benchmarks/overhead_skopt.py [--trials 50] [--repeats 3] [--seeds 5]

Overhead: Branin, ``skopt:gp`` with the same seed, the hand-written
``skopt.Optimizer(base_estimator="GP", random_state=seed)`` ask/tell loop against
``ut.optimize(..., backend="skopt:gp")`` (in-memory ledger). Runs are interleaved (the
order alternates per repeat) and the median per-trial time of each side is compared, in
wall time and in process CPU time, so a busy machine slows both sides alike. BLAS runs
on one thread (``--blas-threads``): on a shared machine OpenBLAS threads spin while they
wait, which blurs CPU time. The script also checks that both sides proposed the same
parameter sequence.

Both sides make the very same skopt computations (same proposals), so the GP fits, whose
time varies by tens of percent from run to run on a busy machine, drown the difference.
The script therefore also times every ``Optimizer.ask``/``tell`` call on both sides (a
timing wrapper around skopt's methods) and reports the work outside skopt per trial:
``ratio_decomposed = (skopt + unitune's own time) / (skopt + the direct loop's own
time)``, with the median skopt time per trial of all runs.

Quality: Branin (optimum 0.397887), ``skopt:gp``, 40 trials, seeds 0..4: the median of
the best values found must be within 0.05 of the optimum.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import unitune as ut  # noqa: E402
from benchmarks._results import add_out, write_report  # noqa: E402
from benchmarks._timing import interleave, median, ratio, ratios  # noqa: E402
from benchmarks.problems import BRANIN, branin  # noqa: E402

SKOPT_TIME = [0.0]  # seconds spent inside skopt.Optimizer.ask/tell since the last reset


def _timed(method: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            SKOPT_TIME[0] += time.perf_counter() - start

    return wrapper


def instrument() -> None:
    from skopt import Optimizer

    Optimizer.ask = _timed(Optimizer.ask)
    Optimizer.tell = _timed(Optimizer.tell)


def direct(n_trials: int, seed: int) -> tuple[float, float, list[dict[str, Any]]]:
    """The loop a skopt user writes; returns (wall s/trial, CPU s/trial, params)."""
    from skopt import Optimizer
    from skopt.space import Real

    wall, cpu = time.perf_counter(), time.process_time()
    opt = Optimizer([Real(-5.0, 10.0), Real(0.0, 15.0)], base_estimator="GP",
                    random_state=seed)
    seen = []
    for _ in range(n_trials):
        x = opt.ask()
        params = {"x1": float(x[0]), "x2": float(x[1])}
        opt.tell(x, branin(params))
        seen.append(params)
    return ((time.perf_counter() - wall) / n_trials, (time.process_time() - cpu) / n_trials,
            seen)


def ours(n_trials: int, seed: int) -> tuple[float, float, list[dict[str, Any]]]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = ut.optimize(branin, BRANIN.space, backend="skopt:gp", seed=seed,
                         n_trials=n_trials)
    return ((time.perf_counter() - wall) / n_trials, (time.process_time() - cpu) / n_trials,
            [dict(t.params) for t in result.trials])


def overhead(n_trials: int, repeats: int) -> dict[str, Any]:
    def side(run: Any) -> Any:
        def one(r: int) -> tuple[float, float, float, list[dict[str, Any]]]:
            SKOPT_TIME[0] = 0.0
            wall, cpu, params = run(n_trials, r)
            return wall, cpu, SKOPT_TIME[0] / n_trials, params  # skopt s/trial

        return one

    out = interleave({"direct": side(direct), "unitune": side(ours)}, repeats,
                     warmup=[lambda: ours(12, 0), lambda: direct(12, 0)],  # imports
                     alternate=True)  # the order alternates per repeat
    wall = {s: [o[0] for o in v] for s, v in out.items()}
    cpu = {s: [o[1] for o in v] for s, v in out.items()}
    inside = {s: [o[2] for o in v] for s, v in out.items()}
    same = all(d[3] == u[3] for d, u in zip(out["direct"], out["unitune"]))
    own = {s: median(w - i for w, i in zip(wall[s], inside[s])) for s in out}
    skopt_med = median(inside["direct"] + inside["unitune"])
    return {
        "trials": n_trials, "repeats": repeats, "same_sequence": same,
        "ms_per_trial_wall": {s: median(v) * 1e3 for s, v in wall.items()},
        "ms_per_trial_cpu": {s: median(v) * 1e3 for s, v in cpu.items()},
        "ratio_wall": ratio(wall["unitune"], wall["direct"]),
        "ratio_cpu": ratio(cpu["unitune"], cpu["direct"]),
        "ratio_wall_per_repeat": ratios(wall["unitune"], wall["direct"]),
        "ratio_cpu_per_repeat": ratios(cpu["unitune"], cpu["direct"]),
        "ms_per_trial_in_skopt": skopt_med * 1e3,
        "ms_per_trial_outside_skopt": {s: v * 1e3 for s, v in own.items()},
        "ratio_decomposed": (skopt_med + own["unitune"]) / (skopt_med + own["direct"]),
    }


def quality(n_trials: int, seeds: int) -> dict[str, Any]:
    best = [ut.optimize(branin, BRANIN.space, backend="skopt:gp", seed=s,
                        n_trials=n_trials).best_value for s in range(seeds)]
    median = statistics.median(best)
    return {"trials": n_trials, "seeds": seeds, "best_values": best, "median_best": median,
            "optimum": BRANIN.optimum, "gap": median - BRANIN.optimum,
            "within_0.05": abs(median - BRANIN.optimum) <= 0.05}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50, help="trials per overhead run")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved overhead runs")
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the quality check")
    parser.add_argument("--quality-trials", type=int, default=40)
    parser.add_argument("--skip-quality", action="store_true")
    add_out(parser, "overhead_skopt")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    instrument()
    with threadpool_limits(args.blas_threads):
        report: dict[str, Any] = {"overhead": overhead(args.trials, args.repeats)}
    o = report["overhead"]
    o["blas_threads"] = args.blas_threads
    print(f"Branin, skopt:gp, {o['trials']} trials, median of {o['repeats']} interleaved runs")
    for side in ("direct", "unitune"):
        print(f"  {side:<8} {o['ms_per_trial_wall'][side]:8.2f} ms/trial wall  "
              f"{o['ms_per_trial_cpu'][side]:8.2f} ms/trial CPU")
    print(f"  unitune / direct: wall {o['ratio_wall']:.3f}x "
          f"(per repeat {', '.join(f'{r:.3f}' for r in o['ratio_wall_per_repeat'])}), "
          f"CPU {o['ratio_cpu']:.3f}x "
          f"(per repeat {', '.join(f'{r:.3f}' for r in o['ratio_cpu_per_repeat'])})")
    print(f"  inside skopt {o['ms_per_trial_in_skopt']:.2f} ms/trial; outside skopt: direct "
          f"{o['ms_per_trial_outside_skopt']['direct']:.3f} ms/trial, unitune "
          f"{o['ms_per_trial_outside_skopt']['unitune']:.3f} ms/trial; ratio "
          f"{o['ratio_decomposed']:.4f}x")
    print(f"  same parameter sequence as the direct loop: {o['same_sequence']}")
    if not args.skip_quality:
        report["quality"] = q = quality(args.quality_trials, args.seeds)
        print(f"Branin, skopt:gp, {q['trials']} trials, seeds 0..{q['seeds'] - 1}: best "
              f"{', '.join(f'{b:.4f}' for b in q['best_values'])}; median {q['median_best']:.4f}"
              f" (optimum {q['optimum']}, gap {q['gap']:+.4f}, within 0.05: "
              f"{q['within_0.05']})")
    write_report(args.out, "overhead_skopt", report)
    return report


if __name__ == "__main__":
    main()
