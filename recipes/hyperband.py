"""Hyperband: many configurations on a few epochs, the best ones on many.

A small MLP learns scikit-learn's digits one epoch at a time (``partial_fit``)
and reports its validation accuracy after each epoch. Hyperband runs several
successive-halving brackets that trade how many configurations start against
how many epochs each gets before the worst are stopped. By default Optuna's
TPE samples and its HyperbandPruner stops trials; ``--backend ray:hyperband``
uses Ray Tune's synchronous HyperBand (``max_t`` = ``--epochs``), where a
paused trial resumes from its checkpoint.

    python recipes/hyperband.py                          # optuna:tpe + hyperband pruner
    python recipes/hyperband.py --backend ray:hyperband --workers 2
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

import unitune as ut

SPACE = ut.Space(
    hidden=ut.Int(16, 128, step=16),
    alpha=ut.Float(1e-6, 1e-1, log=True),
    learning_rate_init=ut.Float(1e-4, 1e-1, log=True),
    batch_size=ut.Categorical([32, 64, 128, 256]),
)

_DATA: dict[str, Any] = {}


def digits() -> tuple[Any, Any, Any, Any]:
    """Scaled train/validation split of the digits (loaded once per process)."""
    if "split" not in _DATA:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_tr, X_va, y_tr, y_va = train_test_split(X / 16.0, y, test_size=0.3,
                                                  random_state=0, stratify=y)
        _DATA["split"] = (X_tr, X_va, y_tr, y_va)
    return _DATA["split"]


def mlp_digits(params: dict[str, Any], trial: ut.Trial, epochs: int = 27) -> float:
    """Validation accuracy after ``epochs`` epochs, reported after each one (step = epochs
    trained); continues from a checkpoint when the backend resumes a paused trial."""
    import numpy as np
    from sklearn.neural_network import MLPClassifier

    X_tr, X_va, y_tr, y_va = digits()
    state = trial.restore() or {"epoch": 0, "model": MLPClassifier(
        hidden_layer_sizes=(params["hidden"],), alpha=params["alpha"],
        learning_rate_init=params["learning_rate_init"], batch_size=params["batch_size"],
        random_state=0)}
    model = state["model"]
    accuracy = float(model.score(X_va, y_va)) if state["epoch"] else 0.0
    for epoch in range(state["epoch"] + 1, epochs + 1):
        model.partial_fit(X_tr, y_tr, classes=np.arange(10))
        accuracy = float(model.score(X_va, y_va))
        trial.checkpoint({"epoch": epoch, "model": model})
        trial.report(accuracy, epoch)  # raises ut.TrialPruned when Hyperband stops it
    return accuracy


def options_for(backend: str, epochs: int) -> dict[str, Any]:
    if backend.startswith("optuna"):
        return {"pruner": "hyperband", "pruner_options": {
            "min_resource": 1, "max_resource": epochs, "reduction_factor": 3}}
    if backend in ("ray:hyperband", "ray:asha"):
        return {"max_t": epochs, "reduction_factor": 3}
    return {}


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="optuna:tpe")
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=27, help="max epochs per trial")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    objective = partial(mlp_digits, epochs=args.epochs)  # pickles by reference for Ray
    result = ut.optimize(objective, SPACE, backend=args.backend, direction="maximize",
                         n_trials=args.n_trials, n_workers=args.workers, seed=args.seed,
                         options=options_for(args.backend, args.epochs))
    states = [t.state for t in result.trials]
    trained = sum(len(t.intermediate) for t in result.trials)
    print(f"{args.backend}: {len(states)} trials, {states.count(ut.TrialState.PRUNED)} "
          f"pruned, {states.count(ut.TrialState.COMPLETE)} complete, "
          f"{states.count(ut.TrialState.FAIL)} failed")
    print(f"epochs trained: {trained} of {len(states)} x {args.epochs} = "
          f"{len(states) * args.epochs} ({trained / (len(states) * args.epochs):.0%})")
    print(f"best validation accuracy {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
