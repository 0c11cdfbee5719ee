"""Pruning: a trial scoring below the others' median at the same epoch stops early.

Follows slide 11: up to ``max_epochs=20`` epochs per trial, scored at 5 evaluation
points (epochs 1, 5, 10, 15, 20: the slide's ``np.linspace(1, 20, 5, dtype=int)``),
learning_rate and batch_size tuned. The model is a one-layer scikit-learn MLP trained by
SGD with momentum, one epoch at a time (``partial_fit``) on the digits; at each
evaluation point the trial calls ``trial.report`` and the engine may stop it. The
slide's ``PruningOptimizer`` is what the engine does:

- ``optuna:*`` (default ``optuna:tpe``): Optuna's PercentilePruner(percentile=50,
  n_startup_trials=5): ``pruning_threshold=0.5`` and the slide's "need 5 trials of
  history" (Optuna compares with the completed trials);
- ``ray:asha``: Asynchronous Successive Halving, reduction_factor=2 (keep the better half
  at each rung, the slide's threshold); ``ray:median`` (min_samples_required=5) and
  ``ray:hyperband`` also prune;
- ``skopt:*``, ``pymoo:*``, ``ray:random``/``ray:optuna`` do not prune: every trial
  trains its 20 epochs (the script says so).

The script prints how many trials were pruned and the epochs that saved; ``--compare``
also runs the same search without pruning (same seed: ``ray:random`` proposes the
configurations ``ray:asha`` did) and prints the accuracy pruning gave up. What differs
from the slide: a real model instead of a simulated curve, and the learning rate on a
log scale over the slide's 0.001..0.1.

    python recipes/pruning.py                              # optuna:tpe + percentile pruner
    python recipes/pruning.py --backend ray:asha --workers 2 --compare
    python recipes/pruning.py --backend skopt:gp           # no pruning
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import Any

import unitune as ut

SLIDE = 11
BACKEND = "optuna:tpe"
DIRECTION = "maximize"
SPACE = ut.Space(
    learning_rate=ut.Float(1e-3, 0.1, log=True),  # the slide tries 0.1, 0.01, 0.001
    batch_size=ut.Categorical([32, 64, 128]),  # the slide's batch sizes
)
MAX_EPOCHS = 20
EVALUATION_POINTS = 5
THRESHOLD = 0.5  # the slide's pruning_threshold: below the median of the others
STARTUP_TRIALS = 5


def evaluation_epochs(max_epochs: int = MAX_EPOCHS) -> list[int]:
    """The slide's ``np.linspace(1, max_epochs, evaluation_points, dtype=int)``."""
    import numpy as np

    points = min(EVALUATION_POINTS, max_epochs)
    return sorted({int(e) for e in np.linspace(1, max_epochs, points, dtype=int)})


@lru_cache(maxsize=1)
def digits() -> tuple[Any, Any, Any, Any]:
    """Scaled train/validation split of scikit-learn's digits, as float32 (half the cost
    of float64 per epoch)."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0,
                                              stratify=y)
    scaler = StandardScaler().fit(X_tr)
    return (scaler.transform(X_tr).astype(np.float32),
            scaler.transform(X_va).astype(np.float32), y_tr, y_va)


def objective(params: dict[str, Any], trial: ut.Trial, max_epochs: int = MAX_EPOCHS) -> float:
    """Validation accuracy after ``max_epochs`` epochs, reported at each evaluation point
    (step = epochs trained); ``trial.report`` raises ut.TrialPruned when the engine stops
    the trial there."""
    import numpy as np
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    X_tr, X_va, y_tr, y_va = digits()
    # The slide names no model: one hidden layer of 64 units, SGD with momentum (the
    # slide's learning rates up to 0.1 are SGD's), seeded weights.
    model = MLPClassifier(hidden_layer_sizes=(64,), solver="sgd", momentum=0.9,
                          learning_rate_init=params["learning_rate"],
                          batch_size=params["batch_size"], random_state=0)
    checkpoints = set(evaluation_epochs(max_epochs))
    accuracy = 0.0
    with threadpool_limits(1):  # small matrices: one BLAS thread per trial is faster
        for epoch in range(1, max_epochs + 1):
            model.partial_fit(X_tr, y_tr, classes=np.arange(10))
            if epoch in checkpoints:
                accuracy = float(model.score(X_va, y_va))
                trial.report(accuracy, epoch)
    return accuracy


def options_for(backend: str, max_epochs: int, pruning: bool = True) -> tuple[str, dict]:
    """The backend to run and its options: the slide's rule in each engine's terms, or
    the same search without pruning (``pruning=False``, for --compare)."""
    if backend.startswith("optuna:"):
        if not pruning:
            return backend, {"pruner": "none"}
        return backend, {"pruner": "percentile", "pruner_options": {
            "percentile": 100 * THRESHOLD, "n_startup_trials": STARTUP_TRIALS}}
    if backend in ("ray:asha", "ray:median", "ray:hyperband") and not pruning:
        return "ray:random", {}  # the same seed proposes the same configurations
    if backend == "ray:asha":
        return backend, {"max_t": max_epochs, "grace_period": 1,
                         "reduction_factor": round(1 / THRESHOLD)}
    if backend == "ray:median":
        return backend, {"grace_period": 1, "min_samples_required": STARTUP_TRIALS}
    if backend == "ray:hyperband":
        return backend, {"max_t": max_epochs, "reduction_factor": 3}
    return backend, {}


def describe(backend: str, options: dict[str, Any], max_epochs: int) -> str:
    """What stops trials early here, named from the backend and its options."""
    if options.get("pruner", "none") != "none":
        kw = ", ".join(f"{k}={v:g}" for k, v in options["pruner_options"].items())
        return f"{backend} + Optuna's PercentilePruner({kw})"
    if options and "pruner" not in options:
        return f"{backend} ({', '.join(f'{k}={v}' for k, v in options.items())})"
    if options:
        return f"{backend} without a pruner: every trial trains its {max_epochs} epochs"
    return f"{backend} does not prune: every trial trains its {max_epochs} epochs"


def search(backend: str, n_trials: int, *, workers: int = 1, seed: int | None = 0,
           max_epochs: int = MAX_EPOCHS, pruning: bool = True, storage: str | None = None,
           study_name: str | None = None,
           callbacks: Sequence[Callable[[ut.TrialRecord], None]] = (),
           **execution: Any) -> ut.Result:
    """One search, with the slide's pruning (or without it: ``pruning=False``);
    ``execution``: ``ut.optimize``'s executor, trial_timeout and trial_memory."""
    backend, options = options_for(backend, max_epochs, pruning)
    print(describe(backend, options, max_epochs))
    with warnings.catch_warnings():  # skopt's "does not prune" warning: said above
        warnings.filterwarnings("ignore", message=".*does not prune")
        return ut.optimize(partial(objective, max_epochs=max_epochs), SPACE,
                           direction=DIRECTION, backend=backend, n_trials=n_trials,
                           n_workers=workers, seed=seed, storage=storage, study_name=study_name,
                           callbacks=list(callbacks), options=options, **execution)


def epochs_trained(result: ut.Result, max_epochs: int = MAX_EPOCHS) -> int:
    """Epochs actually trained: all of them by a completed trial, up to its last report
    by a pruned (or failed) one."""
    return sum(max_epochs if t.state is ut.TrialState.COMPLETE
               else max(t.intermediate, default=0) for t in result.trials)


def summary(result: ut.Result, max_epochs: int) -> str:
    states = [t.state for t in result.trials]
    trained, full = epochs_trained(result, max_epochs), len(states) * max_epochs
    return (f"{result.backend}: {len(states)} trials, {states.count(ut.TrialState.PRUNED)} "
            f"pruned, {states.count(ut.TrialState.FAIL)} failed; {trained} of {full} epochs "
            f"trained, {full - trained} saved ({1 - trained / full:.0%}); best validation "
            f"accuracy {result.best_value:.4f} with {result.best_params}")


def positive(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=40, refuse={
        "ray:pbt": "PBT copies trials instead of stopping them; for PBT run recipes/pbt.py"},
        execution=True)
    parser.add_argument("--max-epochs", type=positive, default=MAX_EPOCHS,
                        help=f"epochs of a trial that is not pruned (default {MAX_EPOCHS})")
    parser.add_argument("--compare", action="store_true", help="also run the same search "
                        "without pruning, to see what pruning saved and gave up")
    args = parser.parse_args(argv)
    if args.compare and not options_for(args.backend, args.max_epochs)[1]:
        parser.error(f"--compare: {args.backend} does not prune, so there is nothing to "
                     "compare; use a pruning backend such as optuna:tpe or ray:asha")
    print(parser.banner(args, f"maximize validation accuracy after {args.max_epochs} epochs, "
                              "scored at epochs "
                              + ", ".join(map(str, evaluation_epochs(args.max_epochs)))))
    run = partial(search, args.backend, args.n_trials, workers=args.workers, seed=args.seed,
                  max_epochs=args.max_epochs, **parser.execution(args))
    result = run(storage=args.storage, study_name=args.study, callbacks=parser.callbacks(args))
    print(summary(result, args.max_epochs))
    if args.compare:
        # in memory: the pruned run's storage holds its own study
        full = run(pruning=False, callbacks=parser.callbacks(args))
        print(summary(full, args.max_epochs))
        share = epochs_trained(result, args.max_epochs) / epochs_trained(full, args.max_epochs)
        print(f"pruning trained {share:.0%} of the epochs and gave up "
              f"{100 * (full.best_value - result.best_value):.2f} accuracy points")
    return result


if __name__ == "__main__":
    main()
