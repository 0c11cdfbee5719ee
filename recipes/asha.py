"""Multi-fidelity tuning: stop bad trials early with ASHA.

An SGD classifier learns scikit-learn's digits one epoch at a time
(``partial_fit``) and reports its validation accuracy after each epoch;
``ray:asha`` stops the trials that fall behind at each rung. With
``--compare`` the same trials (same seed, so the same params) also run to the
end under ``ray:random``, and the script prints how many epochs ASHA saved and
how much accuracy it gave up.

    python recipes/asha.py                      # ray:asha, 40 trials, 2 workers
    python recipes/asha.py --compare            # and the full-training baseline
    python recipes/asha.py --backend optuna:tpe --n-trials 20   # any pruning backend
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import unitune as ut

EPOCHS = 30

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


def model_for(params: dict[str, Any]) -> Any:
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(alpha=params["alpha"], eta0=params["eta0"], loss=params["loss"],
                         learning_rate=params["learning_rate"], random_state=0)


def sgd_digits(params: dict[str, Any], trial: ut.Trial) -> float:
    """Validation accuracy after up to EPOCHS epochs; reports after each (step = epochs
    trained), and continues from a checkpoint when the backend hands one over."""
    import numpy as np

    X_train, X_val, y_train, y_val = digits()
    state = trial.restore()
    if state is None:
        model, done = model_for(params), 0
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


def summary(result: ut.Result) -> dict[str, Any]:
    states = [t.state for t in result.trials]
    return {
        "backend": result.backend,
        "trials": len(states),
        "pruned": states.count(ut.TrialState.PRUNED),
        "complete": states.count(ut.TrialState.COMPLETE),
        "failed": states.count(ut.TrialState.FAIL),
        "best_accuracy": result.best_value,
        "epochs_trained": epochs_trained(result),
        "best_params": result.best_params,
    }


def run(backend: str, n_trials: int, n_workers: int, seed: int,
        options: dict[str, Any] | None = None) -> ut.Result:
    if options is None and backend == "ray:asha":
        options = {"max_t": EPOCHS, "grace_period": 1, "reduction_factor": 3}
    return ut.optimize(sgd_digits, SPACE, backend=backend, direction="maximize",
                       n_trials=n_trials, n_workers=n_workers, seed=seed, options=options)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="ray:asha")
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", action="store_true",
                        help="also train the same trials to the end (ray:random)")
    args = parser.parse_args(argv)
    out = {"pruned_run": summary(run(args.backend, args.n_trials, args.n_workers, args.seed))}
    if args.compare:
        full = summary(run("ray:random", args.n_trials, args.n_workers, args.seed))
        out["full_run"] = full
        out["accuracy_gap_points"] = 100 * (full["best_accuracy"]
                                            - out["pruned_run"]["best_accuracy"])
        out["epochs_fraction"] = out["pruned_run"]["epochs_trained"] / full["epochs_trained"]
    print(json.dumps(out, indent=2, default=str))
    return out


if __name__ == "__main__":
    main()
