"""ASHA and PBT on a real multi-fidelity objective: the figures of issue #4.

The objective is an SGD classifier on scikit-learn's digits, 30 epochs of
``partial_fit`` (it was ``recipes/asha.py``'s, kept here so that the committed figures
stay reproducible after the recipes moved to the slides' models). For each seed:

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

EPOCHS = 30
HISTORY = "unitune:params_history"
SPACE = ut.Space(
    alpha=ut.Float(1e-6, 1e-1, log=True),
    eta0=ut.Float(1e-4, 1.0, log=True),
    loss=ut.Categorical(["hinge", "log_loss", "modified_huber", "perceptron"]),
    learning_rate=ut.Categorical(["constant", "invscaling", "adaptive"]),
)
_DATA: dict[str, Any] = {}  # a plain dict, not lru_cache: Ray pickles __main__ by value


def digits() -> tuple[Any, Any, Any, Any]:
    """Scaled train/validation split of the digits (loaded once per worker process)."""
    if "split" in _DATA:
        return _DATA["split"]
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0,
                                                      stratify=y)
    scaler = StandardScaler().fit(X_train)
    _DATA["split"] = (scaler.transform(X_train), scaler.transform(X_val), y_train, y_val)
    return _DATA["split"]


def sgd_digits(params: dict[str, Any], trial: ut.Trial) -> float:
    """Validation accuracy after up to EPOCHS epochs; reports after each (step = epochs
    trained), and continues from a checkpoint when the backend hands one over."""
    import numpy as np
    from sklearn.linear_model import SGDClassifier

    X_train, X_val, y_train, y_val = digits()
    state = trial.restore()
    if state is None:
        model, done = SGDClassifier(alpha=params["alpha"], eta0=params["eta0"],
                                    loss=params["loss"], learning_rate=params["learning_rate"],
                                    random_state=0), 0
    else:
        model, done = state["model"], state["epochs"]
        model.set_params(**{k: v for k, v in params.items() if k in ("alpha", "eta0")})
    accuracy = model.score(X_val, y_val) if done else 0.0
    for epoch in range(done + 1, EPOCHS + 1):
        model.partial_fit(X_train, y_train, classes=np.arange(10))
        accuracy = float(model.score(X_val, y_val))
        trial.checkpoint({"model": model, "epochs": epoch})
        trial.report(accuracy, epoch)
    return accuracy


def epochs_trained(result: ut.Result) -> int:
    """Epochs actually trained: one report per epoch."""
    return sum(len(t.intermediate) for t in result.trials)


def run(backend: str, n_trials: int, n_workers: int, seed: int,
        options: dict[str, Any] | None = None) -> ut.Result:
    if options is None and backend == "ray:asha":
        options = {"max_t": EPOCHS, "grace_period": 1, "reduction_factor": 3}
    return ut.optimize(sgd_digits, SPACE, backend=backend, direction="maximize",
                       n_trials=n_trials, n_workers=n_workers, seed=seed, options=options)


def exploits(result: ut.Result) -> list[dict[str, Any]]:
    """Each PBT exploit step: which trial, at which epoch, copied from which, params
    after."""
    events = []
    for t in result.trials:
        history = t.user_attrs.get(HISTORY) or []
        for after in history[1:]:
            events.append({"trial": t.number, "epoch": after["step"],
                           "copied_from": after["from"], "params_after": after["params"]})
    return events


def asha_vs_full(n_trials: int, n_workers: int, seed: int) -> dict[str, Any]:
    pruned = run("ray:asha", n_trials, n_workers, seed)
    full = run("ray:random", n_trials, n_workers, seed)
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
        "asha_epochs": epochs_trained(pruned),
        "full_epochs": epochs_trained(full),
        "epochs_ratio": epochs_trained(pruned) / epochs_trained(full),
    }


def pbt_run(population: int, interval: int, seed: int, synch: bool) -> dict[str, Any]:
    # The whole population trains at once (PBT compares trials at the same epoch).
    result = run("ray:pbt", population, population, seed, options={
        "cpus_per_trial": 0.5, "perturbation_interval": interval, "synch": synch,
        "hyperparam_mutations": ["alpha", "eta0"]})
    events = exploits(result)
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
