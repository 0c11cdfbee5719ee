"""ASHA and PBT on a real multi-fidelity objective: the figures of issue #4.

The objective is ``recipes/asha.py``'s SGD classifier on scikit-learn's digits,
30 epochs of ``partial_fit``. For each seed:

- ``ray:asha`` (2 workers) and the same trials trained to the end (``ray:random``,
  same seed, hence the same params in the same order): pruned share, best
  accuracy of each, the gap in accuracy points, epochs trained and their ratio;
- ``ray:pbt`` with a population of 4, asynchronous (Ray's and the recipe's
  default) and synchronous: exploit events, each trial's end state and final accuracy.

    python benchmarks/multifidelity_ray.py [--n-trials 40] [--seeds 0 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `recipes` and `unitune` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unitune as ut
from benchmarks._timing import write_json
from recipes import asha, pbt


def asha_vs_full(n_trials: int, n_workers: int, seed: int) -> dict[str, Any]:
    pruned = asha.run("ray:asha", n_trials, n_workers, seed)
    full = asha.run("ray:random", n_trials, n_workers, seed)
    same_params = [t.params for t in pruned.trials] == [t.params for t in full.trials]
    n_pruned = sum(t.state is ut.TrialState.PRUNED for t in pruned.trials)
    return {
        "seed": seed,
        "same_params_in_both_runs": same_params,
        "trials": len(pruned.trials),
        "pruned": n_pruned,
        "pruned_share": n_pruned / len(pruned.trials),
        "asha_best_accuracy": pruned.best_value,
        "full_best_accuracy": full.best_value,
        "accuracy_gap_points": 100 * (full.best_value - pruned.best_value),
        "asha_epochs": asha.epochs_trained(pruned),
        "full_epochs": asha.epochs_trained(full),
        "epochs_ratio": asha.epochs_trained(pruned) / asha.epochs_trained(full),
    }


def pbt_run(population: int, interval: int, seed: int, synch: bool) -> dict[str, Any]:
    result = pbt.run(population, interval, seed, synch=synch)
    events = pbt.exploits(result)
    return {
        "seed": seed,
        "population": population,
        "synchronous": synch,
        "states": {t.number: t.state.value for t in result.trials},
        "exploit_events": len(events),
        "events": [{k: e[k] for k in ("trial", "epoch", "copied_from", "params_after")}
                   for e in events],
        "final_accuracy": {t.number: t.value for t in result.completed},
        "best_accuracy": result.best_value,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--population", type=int, default=4)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    out = {
        "asha": [asha_vs_full(args.n_trials, args.n_workers, s) for s in args.seeds],
        "pbt": pbt_run(args.population, args.interval, args.seeds[0], synch=False),
        "pbt_synch": pbt_run(args.population, args.interval, args.seeds[0], synch=True),
    }
    print(json.dumps(out, indent=2, default=str))
    if args.json:
        write_json(args.json, out)
    return out


if __name__ == "__main__":
    main()
