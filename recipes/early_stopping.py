"""Early stopping: patience and the best weights restored inside a trial, pruning across trials.

Follows slide 9. Inside each trial, a scikit-learn MLP trains one epoch at a time
(``partial_fit``, up to 100 epochs as on the slide) and the slide's
``EarlyStoppingOptimizer`` watches its validation accuracy: training stops after
``patience=5`` epochs without a gain of more than ``min_delta=0.001``, and with
``restore_best_weights`` the network gets back a deep copy of its weights
(``coefs_``/``intercepts_``) from the best epoch; the trial's value is the validation
accuracy of that restored network. Across trials, each epoch's accuracy goes to
``trial.report``, so the engine stops trials that fall behind the others: Optuna's
MedianPruner (after 5 trials and 5 epochs) on ``optuna:*``, the scheduler of
``ray:asha``/``ray:hyperband``/``ray:median`` on Ray. ``skopt:*``, ``pymoo:*`` and
``ray:random``/``ray:optuna`` do not prune (the script says so): there only the
early stopping inside each trial cuts training short. For each trial the script prints
the epoch it stopped at and the epoch whose weights it restored.

What differs from the slide: it tunes learning_rate over the slide's 1e-4..1e-2 and
num_layers, plus two knobs a practitioner adds (below); the data is a synthetic
10-feature problem as on the slide, but learnable and with 10% label noise (so a
network can overfit, which is what early stopping is for) and 1,000 samples instead of
150 (a validation score on 50 samples moves by 0.02 per sample); the best trial's
restored network is finally scored on a held-out test set the search never saw.

    python recipes/early_stopping.py                       # optuna:tpe + median pruner
    python recipes/early_stopping.py --backend ray:asha --workers 2
    python recipes/early_stopping.py --backend skopt:gp    # no pruning, early stopping only
"""

from __future__ import annotations

import copy
import math
import warnings
from functools import lru_cache, partial
from typing import Any

import unitune as ut

SLIDE = 9
BACKEND = "optuna:tpe"
DIRECTION = "maximize"
SPACE = ut.Space(
    learning_rate=ut.Float(1e-4, 1e-2, log=True),  # the slide tries 1e-2, 1e-3, 1e-4
    num_layers=ut.Int(1, 4),  # the slide tries 2, 3, 4; one layer is the baseline to beat
    # Added: the slide's create_model(params) leaves the width open, and weight decay
    # (L2 alpha) is the other regulariser, which trades off with stopping early.
    hidden_size=ut.Categorical([16, 32, 64, 128]),
    alpha=ut.Float(1e-6, 1e-2, log=True),
)
MAX_EPOCHS = 100  # the slide's range(100)
PATIENCE = 5  # as the slide's example uses it
MIN_DELTA = 0.001


class EarlyStopping:
    """The slide's EarlyStoppingOptimizer: ``update`` returns True once ``patience``
    epochs in a row have not improved the best score by more than ``min_delta``; with
    ``restore_best_weights`` it keeps a deep copy of the weights of the best epoch."""

    def __init__(self, patience: int = PATIENCE, min_delta: float = MIN_DELTA,
                 restore_best_weights: bool = True) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.restore_best_weights = restore_best_weights
        self.best_score, self.best_epoch, self.wait = -math.inf, 0, 0
        self.best_weights: Any = None
        self.stopped_epoch = 0

    def update(self, score: float, epoch: int, weights: Any = None) -> bool:
        if score > self.best_score + self.min_delta:
            self.best_score, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights and weights is not None:
                self.best_weights = copy.deepcopy(weights)  # the next epoch changes them
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False


@lru_cache(maxsize=1)
def data() -> tuple[Any, ...]:
    """Scaled train / validation / test splits (60/20/20) of a synthetic problem."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=1000, n_features=10, n_informative=6,
                               n_redundant=2, flip_y=0.1, class_sep=0.8, random_state=0)
    X_rest, X_te, y_rest, y_te = train_test_split(X, y, test_size=0.2, random_state=0,
                                                  stratify=y)
    X_tr, X_va, y_tr, y_va = train_test_split(X_rest, y_rest, test_size=0.25,
                                              random_state=0, stratify=y_rest)
    scaler = StandardScaler().fit(X_tr)
    return (scaler.transform(X_tr), scaler.transform(X_va), scaler.transform(X_te),
            y_tr, y_va, y_te)


def train(params: dict[str, Any], trial: ut.Trial,
          max_epochs: int = MAX_EPOCHS) -> tuple[Any, EarlyStopping]:
    """The network trained with early stopping and its best weights restored, and the
    stopper (its best epoch and score). Reports each epoch's validation accuracy."""
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    X_tr, X_va, _, y_tr, y_va, _ = data()
    model = MLPClassifier(hidden_layer_sizes=(params["hidden_size"],) * params["num_layers"],
                          learning_rate_init=params["learning_rate"], alpha=params["alpha"],
                          random_state=0)  # seeded weights: a trial is repeatable
    stopper = EarlyStopping()
    with threadpool_limits(1):  # small matrices: one BLAS thread per trial is faster
        for epoch in range(1, max_epochs + 1):
            model.partial_fit(X_tr, y_tr, classes=[0, 1])
            score = float(model.score(X_va, y_va))
            trial.report(score, epoch)  # across trials: raises ut.TrialPruned if pruned
            if stopper.update(score, epoch, (model.coefs_, model.intercepts_)):
                break  # within the trial: patience ran out
    if stopper.best_weights is not None:
        model.coefs_, model.intercepts_ = stopper.best_weights
    return model, stopper


def objective(params: dict[str, Any], trial: ut.Trial, max_epochs: int = MAX_EPOCHS) -> float:
    """Validation accuracy of the network restored to its best epoch."""
    model, _ = train(params, trial, max_epochs)
    _, X_va, _, _, y_va, _ = data()
    return float(model.score(X_va, y_va))


def options_for(backend: str, max_epochs: int) -> dict[str, Any]:
    """Pruning across trials, in each engine's terms (none where it does not prune)."""
    if backend.startswith("optuna:"):
        return {"pruner": "median", "pruner_options": {"n_startup_trials": 5,
                                                       "n_warmup_steps": PATIENCE}}
    if backend in ("ray:asha", "ray:hyperband"):
        return {"max_t": max_epochs, **({"grace_period": PATIENCE}
                                        if backend == "ray:asha" else {})}
    if backend == "ray:median":
        return {"grace_period": PATIENCE}
    return {}


def pruner_name(backend: str, options: dict[str, Any]) -> str | None:
    """What prunes across trials here, or None."""
    if "pruner" in options:
        kw = options["pruner_options"]
        return (f"Optuna's MedianPruner(n_startup_trials={kw['n_startup_trials']}, "
                f"n_warmup_steps={kw['n_warmup_steps']})")
    if options:
        return f"{backend} ({', '.join(f'{k}={v}' for k, v in options.items())})"
    return None


def stopped_line(record: ut.TrialRecord, max_epochs: int, pruner: str | None) -> str:
    """Where a trial stopped and which epoch's weights it kept, from its reports."""
    last = max(record.intermediate, default=0)
    if record.state is ut.TrialState.PRUNED:
        return f"      pruned at epoch {last} by {pruner}"
    if record.state is not ut.TrialState.COMPLETE:
        return f"      {record.state.value.lower()} at epoch {last}"
    replay = EarlyStopping()  # the same rule on the reported scores gives the best epoch
    for epoch, score in sorted(record.intermediate.items()):
        replay.update(score, epoch)
    why = (f"no gain > {MIN_DELTA} for {PATIENCE} epochs" if last < max_epochs
           else "the last epoch")
    return (f"      stopped at epoch {last} ({why}), restored epoch {replay.best_epoch} "
            f"(validation {record.value:.4f})")


def positive(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=40, refuse={
        "ray:pbt": "PBT copies a running trial into another, which early stopping "
                   "inside the trial cannot follow; for PBT run recipes/pbt.py"},
        execution=True)
    parser.add_argument("--max-epochs", type=positive, default=MAX_EPOCHS,
                        help=f"epochs a trial may train (default {MAX_EPOCHS})")
    args = parser.parse_args(argv)
    options = options_for(args.backend, args.max_epochs)
    pruner = pruner_name(args.backend, options)
    print(parser.banner(args, "maximize validation accuracy of the best epoch's weights"))
    print(f"inside each trial: patience {PATIENCE}, min_delta {MIN_DELTA}, best weights "
          f"restored; across trials: {pruner or f'no pruning ({args.backend} does not prune)'}")
    callbacks = parser.callbacks(args)
    if callbacks:
        callbacks.append(lambda record: print(stopped_line(record, args.max_epochs, pruner)))
    with warnings.catch_warnings():  # skopt's "does not prune" warning: said above
        warnings.filterwarnings("ignore", message=".*does not prune")
        result = ut.optimize(partial(objective, max_epochs=args.max_epochs), SPACE,
                             direction=DIRECTION, backend=args.backend,
                             n_trials=args.n_trials, n_workers=args.workers, seed=args.seed,
                             storage=args.storage, study_name=args.study, callbacks=callbacks,
                             options=options, **parser.execution(args))
    states = [t.state for t in result.trials]
    trained = sum(len(t.intermediate) for t in result.trials)  # one report per epoch
    full = len(states) * args.max_epochs
    print(f"{result.backend}: {len(states)} trials, {states.count(ut.TrialState.PRUNED)} "
          f"pruned; {trained} epochs trained, {trained / full:.0%} of the {full} that "
          f"{len(states)} x {args.max_epochs} epochs would take without early stopping "
          "or pruning")
    model, stopper = train(result.best_params, ut.Trial(0, result.best_params),
                           args.max_epochs)  # a hand-made Trial never prunes
    _, _, X_te, _, _, y_te = data()
    print(f"best validation accuracy {result.best_value:.4f} (epoch {stopper.best_epoch}) "
          f"with {result.best_params}; on the held-out test set: "
          f"{model.score(X_te, y_te):.4f}")
    return result


if __name__ == "__main__":
    main()
