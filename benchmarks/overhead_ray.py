"""What unitune's ``ray:*`` backends cost on top of Ray Tune, on a cheap objective.

Three ways to run the same experiment (Branin, random search, N trials, 2 workers):

- ``unitune``: ``ut.optimize(..., backend="ray:random", n_workers=2)``;
- ``tuner_fast``: the same experiment hand-written with ``ray.tune.Tuner`` in its
  fastest settings (``reuse_actors=True``, no per-trial loggers, ``verbose=0``);
- ``tuner_default``: ``ray.tune.Tuner`` with Ray's defaults (fewer trials: it is slow).

The runtime is started once and its start-up time reported apart; the runs are then
interleaved (unitune, fast, unitune, fast...) so that load from other processes
hits both alike, and the medians of ms per trial are compared as a ratio.

    python benchmarks/overhead_ray.py [--n-trials 200] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `unitune` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unitune as ut
from benchmarks._timing import interleave, median, ratio, timed, write_json
from benchmarks.problems import BRANIN, branin
from unitune.adapters.ray._runtime import _env  # the same scoped env switch as the adapter

N_WORKERS = 2


def tune_trainable(config: dict[str, Any]) -> None:
    """The hand-written trainable: the objective, reported once."""
    from ray import tune

    tune.report({"value": branin(config)})


def run_tuner(n_trials: int, seed: int, fast: bool) -> float:
    """Seconds for ``ray.tune.Tuner.fit`` on ``n_trials`` Branin trials."""
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    storage = tempfile.mkdtemp(prefix="bench-ray-")
    env = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "RAY_AIR_NEW_OUTPUT": "0"} if fast else {}
    try:
        with _env(env):
            start = time.perf_counter()
            tuner = tune.Tuner(
                tune_trainable,
                param_space={"x1": tune.uniform(-5.0, 10.0), "x2": tune.uniform(0.0, 15.0)},
                tune_config=tune.TuneConfig(
                    num_samples=n_trials, reuse_actors=fast,
                    search_alg=BasicVariantGenerator(random_state=seed,
                                                     max_concurrent=N_WORKERS)),
                run_config=tune.RunConfig(storage_path=storage,
                                          verbose=0 if fast else None),
            )
            tuner.fit()
            return time.perf_counter() - start
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def run_unitune(n_trials: int, seed: int, backend: str = "ray:random") -> float:
    start = time.perf_counter()
    result = ut.optimize(branin, BRANIN.space, backend=backend, n_trials=n_trials,
                         n_workers=N_WORKERS, seed=seed)
    elapsed = time.perf_counter() - start
    if len(result.completed) != n_trials:
        raise RuntimeError(f"unitune finished {len(result.completed)} of {n_trials} trials")
    return elapsed


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-trials", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--default-trials", type=int, default=10,
                        help="trials for Tune with its defaults (about 1 s each)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    n = args.n_trials

    # starts the local runtime unitune reuses (and Tune's imports)
    startup, _ = timed(lambda: run_unitune(1, seed=0))
    runs = interleave({"unitune": lambda r: run_unitune(n, seed=r) / n,
                       "tuner_fast": lambda r: run_tuner(n, seed=r, fast=True) / n},
                      args.repeats,
                      warmup=[lambda: run_tuner(4, seed=0, fast=True)])  # the hand-written path
    ours, fast = runs["unitune"], runs["tuner_fast"]
    default = run_tuner(args.default_trials, seed=0, fast=False) / args.default_trials

    out = {
        "n_trials": n,
        "n_workers": N_WORKERS,
        "repeats": args.repeats,
        "startup_s": startup,
        "unitune_ms_per_trial": [1000 * s for s in ours],
        "tuner_fast_ms_per_trial": [1000 * s for s in fast],
        "unitune_median_ms_per_trial": 1000 * median(ours),
        "tuner_fast_median_ms_per_trial": 1000 * median(fast),
        "tuner_default_ms_per_trial": 1000 * default,
        "unitune_trials_per_s": 1 / median(ours),
        "ratio_unitune_to_tuner_fast": ratio(ours, fast),
        "ratio_tuner_default_to_unitune": default / median(ours),
    }
    print(json.dumps(out, indent=2))
    if args.json:
        write_json(args.json, out)
    return out


if __name__ == "__main__":
    main()
