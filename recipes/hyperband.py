"""Hyperband: many configurations get a few epochs, and the best of them many more.

Follows slide 6: learning_rate 1e-4..0.1, num_layers 1..4 (the slide's
``randint(1, 5)``) and hidden_size in [32, 64, 128, 256], max_iter=81, eta=3. The
slide's ``evaluate_config(config, num_iters)`` is a scikit-learn MLP that learns the
digits one epoch at a time (``partial_fit``) and reports its validation accuracy after
each: the resource is the epoch, so max_iter=81 is 81 epochs. An epoch here costs 5 to
100 ms, so a full trial takes at most a few seconds and the whole search one or two
minutes; on a bigger dataset make the resource a fixed number of mini-batches instead.
The slide's ``Hyperband`` class is what the engine does:

- ``optuna:*`` (default ``optuna:tpe``): Optuna's HyperbandPruner(min_resource=1,
  max_resource=81, reduction_factor=3), i.e. the slide's 5 brackets (s_max = 4) of
  successive halving at 1, 3, 9, 27 and 81 epochs, with TPE proposing the configurations;
- ``ray:hyperband``: Ray Tune's synchronous HyperBand (max_t=81, reduction_factor=3),
  where a paused trial resumes from its checkpoint (``trial.checkpoint``/``restore``);
  ``ray:asha`` is its asynchronous variant;
- ``skopt:*``, ``pymoo:*`` and ``ray:random``/``ray:optuna`` do not prune: every trial
  trains its full 81 epochs (the script says so).

What differs from the slide: real validation accuracy instead of random numbers, and
the learning rate sampled on a log scale; ``ray:pbt`` is refused (see below).

    python recipes/hyperband.py                            # optuna:tpe + HyperbandPruner
    python recipes/hyperband.py --backend ray:hyperband --workers 2
    python recipes/hyperband.py --backend skopt:gp --n-trials 20 --max-epochs 27
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from functools import lru_cache, partial
from typing import Any

import unitune as ut

SLIDE = 6
BACKEND = "optuna:tpe"
DIRECTION = "maximize"
SPACE = ut.Space(
    # The slide's range, on a log scale: uniformly, 9 in 10 rates would be above 0.01.
    learning_rate=ut.Float(1e-4, 0.1, log=True),
    num_layers=ut.Int(1, 4),
    hidden_size=ut.Categorical([32, 64, 128, 256]),
)
MAX_EPOCHS = 81  # the slide's max_iter: one unit of resource is one epoch
ETA = 3


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
    """Validation accuracy after ``max_epochs`` epochs, reported after each one (step =
    epochs trained, Hyperband's resource); goes on from the checkpoint when
    ray:hyperband resumes a paused trial."""
    import numpy as np
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    X_tr, X_va, y_tr, y_va = digits()
    state = trial.restore() or {"epoch": 0, "model": MLPClassifier(
        hidden_layer_sizes=(params["hidden_size"],) * params["num_layers"],
        learning_rate_init=params["learning_rate"], random_state=0)}  # seeded weights
    model = state["model"]
    accuracy = float(model.score(X_va, y_va)) if state["epoch"] else 0.0
    with threadpool_limits(1):  # small matrices: one BLAS thread per trial is faster
        for epoch in range(state["epoch"] + 1, max_epochs + 1):
            model.partial_fit(X_tr, y_tr, classes=np.arange(10))
            accuracy = float(model.score(X_va, y_va))
            trial.checkpoint({"epoch": epoch, "model": model})
            trial.report(accuracy, epoch)  # raises ut.TrialPruned when Hyperband stops it
    return accuracy


def options_for(backend: str, max_epochs: int) -> dict[str, Any]:
    """Hyperband's settings in each engine's terms (none where the engine does not prune)."""
    if backend.startswith("optuna:"):
        return {"pruner": "hyperband", "pruner_options": {
            "min_resource": 1, "max_resource": max_epochs, "reduction_factor": ETA}}
    if backend == "ray:hyperband":
        return {"max_t": max_epochs, "reduction_factor": ETA}
    if backend == "ray:asha":
        return {"max_t": max_epochs, "grace_period": 1, "reduction_factor": ETA}
    if backend == "ray:median":
        return {"grace_period": 1}
    return {}


def how(backend: str, options: dict[str, Any], max_epochs: int) -> str:
    """What stops trials here, named from the backend and its options."""
    if "pruner" in options:
        kw = options["pruner_options"]
        rungs = [kw["min_resource"] * ETA ** i
                 for i in range(int(math.log(max_epochs, ETA) + 1e-9) + 1)]
        return (f"{backend} + Optuna's HyperbandPruner(min_resource=1, max_resource="
                f"{max_epochs}, reduction_factor={ETA}): {len(rungs)} brackets, rungs at "
                f"epochs {', '.join(map(str, rungs))}")
    if options:
        settings = ", ".join(f"{k}={v}" for k, v in options.items())
        return f"{backend} ({settings}) stops the trials that fall behind"
    return f"{backend} does not prune: every trial trains its full {max_epochs} epochs"


def stop_epochs(result: ut.Result) -> Counter[int]:
    """How many trials stopped after each number of epochs."""
    return Counter(max(t.intermediate, default=0) for t in result.trials)


def positive(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=60, refuse={
        "ray:pbt": "PBT changes the params of a running trial, but num_layers and "
                   "hidden_size shape the network; for PBT run recipes/pbt.py"}, execution=True)
    parser.add_argument("--max-epochs", type=positive, default=MAX_EPOCHS, help=f"epochs of a full trial, Hyperband's max_iter "
                        f"(default {MAX_EPOCHS}; 27 or 9 for a quick run)")
    args = parser.parse_args(argv)
    options = options_for(args.backend, args.max_epochs)
    print(parser.banner(args, f"maximize validation accuracy after up to {args.max_epochs} "
                              "epochs"))
    print(how(args.backend, options, args.max_epochs))
    with warnings.catch_warnings():  # skopt's "does not prune" warning: said above
        warnings.filterwarnings("ignore", message=".*does not prune")
        result = ut.optimize(partial(objective, max_epochs=args.max_epochs), SPACE,
                             direction=DIRECTION, backend=args.backend,
                             n_trials=args.n_trials, n_workers=args.workers, seed=args.seed,
                             storage=args.storage, study_name=args.study, callbacks=parser.callbacks(args),
                             **parser.execution(args),
                             options=options)
    states = Counter(t.state for t in result.trials)
    print(f"{result.backend}: {len(result.trials)} trials, {states[ut.TrialState.PRUNED]} "
          f"pruned, {states[ut.TrialState.COMPLETE]} complete, "
          f"{states[ut.TrialState.FAIL]} failed")
    print("trials stopped after: " + ", ".join(
        f"{n} at epoch {epoch}" for epoch, n in sorted(stop_epochs(result).items())))
    trained = sum(len(t.intermediate) for t in result.trials)  # one report per epoch
    full = len(result.trials) * args.max_epochs
    print(f"epochs trained: {trained} of {len(result.trials)} x {args.max_epochs} = {full} "
          f"({trained / full:.0%})")
    print(f"best validation accuracy {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
