"""Optuna + XGBoost: the slide's cross-validated XGBClassifier, pruned after each fold.

Slide 4's objective cross-validates an ``XGBClassifier`` over six parameters with
``trial.suggest_*`` and Optuna maximises the mean 5-fold accuracy over 100 trials. The
objective here is written as the slide writes it, define-by-run: the six ``suggest_*``
calls are the space, and ``ut.optimize(objective, space=None, ...)`` runs it on every
backend (Optuna natively; the other engines on the space as the first trial discovers
it, see the README's "Define-by-run objectives"). The
folds are the ones ``cross_val_score`` uses, so a finished trial's value is the slide's
number; after each fold but the last the running mean goes to ``trial.report``, so a
backend that prunes stops a trial that trails (the slide's text: "pruning unpromising
trials"): Optuna's median pruner on ``optuna:*``, the scheduler on ``ray:asha``,
``ray:hyperband`` and ``ray:median``. Engines that do not prune (``skopt:gp``,
``pymoo:ga``, ``ray:random``) run every fold of every trial, and say so.
``--early-stopping N`` adds XGBoost's own early stopping inside each fold.

    python recipes/optuna_xgboost.py                        # optuna:tpe, 100 trials, pruning
    python recipes/optuna_xgboost.py --no-pruning           # the slide's objective as is
    python recipes/optuna_xgboost.py --backend skopt:gp --n-trials 30
    python recipes/optuna_xgboost.py --n-trials 3 --cv 2 --max-estimators 50   # seconds
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

import unitune as ut

SLIDE = 4
BACKEND = "optuna:tpe"
DIRECTION = "maximize"  # the slide's direction='maximize'


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_breast_cancer

    # The slide leaves X, y undefined; breast_cancer is a real binary task for an
    # XGBClassifier, where a tiny learning rate with few trees stays at the majority class
    # (~0.63) and a good setting reaches ~0.97, so the search has something to find.
    return load_breast_cancer(return_X_y=True)


def _fit(model: Any, X: Any, y: Any, early_stopping: int) -> Any:
    """Fit on all of X, y; with early stopping, on 80% of it, watching the other 20%."""
    if not early_stopping:
        return model.fit(X, y)
    from sklearn.model_selection import train_test_split

    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.2, stratify=y,
                                                  random_state=0)
    model.set_params(early_stopping_rounds=early_stopping)
    return model.fit(X_fit, y_fit, eval_set=[(X_val, y_val)], verbose=False)


def objective(trial: ut.Trial, cv: int = 5, report: bool = True, early_stopping: int = 0,
              max_estimators: int | None = None) -> float:
    """Mean ``cv``-fold accuracy of ``XGBClassifier(**params)`` on the folds
    ``cross_val_score`` uses; with ``report``, the running mean is reported after each fold
    but the last. ``max_estimators`` caps n_estimators (quick runs only)."""
    # Define hyperparameters to optimize (the slide's six calls, as the slide writes them)
    params = {
        'n_estimators': trial.suggest_int('n_estimators', 100, 1000),
        'max_depth': trial.suggest_int('max_depth', 2, 10),
        'learning_rate': trial.suggest_float('learning_rate', 1e-4, 1e-1, log=True),
        'min_child_weight': trial.suggest_int('min_child_weight', 1, 7),
        'subsample': trial.suggest_float('subsample', 0.6, 1.0),
        'colsample_bytree': trial.suggest_float('colsample_bytree', 0.6, 1.0)
    }
    return _cross_validate(params, trial, cv, report, early_stopping, max_estimators)


def _cross_validate(params: dict, trial: ut.Trial, cv: int, report: bool,
                    early_stopping: int, max_estimators: int | None) -> float:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold
    from xgboost import XGBClassifier

    X, y = _data()
    if max_estimators is not None:
        params = {**params, "n_estimators": min(params["n_estimators"], max_estimators)}
    scores = []
    for k, (train, test) in enumerate(StratifiedKFold(cv).split(X, y), start=1):
        # n_jobs=1: one thread per fit, --workers runs trials in parallel; random_state:
        # subsample and colsample_bytree draw the same rows and columns every time.
        model = XGBClassifier(**params, n_jobs=1, random_state=0)
        _fit(model, X[train], y[train], early_stopping)
        scores.append(float(np.mean(model.predict(X[test]) == y[test])))
        if report and k < cv:
            trial.report(float(np.mean(scores)), k)  # raises ut.TrialPruned if pruned
    return float(np.mean(scores))


def pruning(backend: str, cv: int, wanted: bool) -> tuple[dict[str, Any] | None, str]:
    """The options that make ``backend`` prune after each fold (None: no pruning, the
    objective reports nothing), and a line saying what happens."""
    if not any(b.name == backend and b.capabilities.pruning for b in ut.backends()):
        return None, f"no pruning ({backend} does not prune): every trial runs all {cv} folds"
    if not wanted:
        return None, f"no pruning (--no-pruning): every trial runs all {cv} folds"
    if backend.startswith("optuna:"):
        return {"pruner": "median"}, ("pruning: Optuna's median pruner stops a trial whose "
                                      "running mean after a fold is below the median of "
                                      "earlier trials at that fold")
    options = {"max_t": cv} if backend in ("ray:asha", "ray:hyperband") else {}
    return options, (f"pruning: {backend}'s scheduler stops trials whose running mean "
                     "trails the others' after the same number of folds")


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=100,  # the slide's n_trials
                             execution=True)
    parser.add_argument("--cv", type=int, default=5, help="folds (default 5, the slide's)")
    parser.add_argument("--no-pruning", action="store_true",
                        help="run every fold of every trial (the slide's objective)")
    parser.add_argument("--early-stopping", type=int, default=0, metavar="ROUNDS",
                        help="XGBoost early_stopping_rounds in each fold, on 20%% of its "
                             "training part (default 0: off, as on the slide)")
    parser.add_argument("--max-estimators", type=int, default=None,
                        help="cap n_estimators, for quick runs (default: the slide's 1000)")
    args = parser.parse_args(argv)
    options, line = pruning(args.backend, args.cv, not args.no_pruning)
    print(parser.banner(args, f"maximize {args.cv}-fold accuracy of an XGBClassifier"))
    print(line)
    fn = partial(objective, cv=args.cv, report=options is not None,
                 early_stopping=args.early_stopping,
                 max_estimators=args.max_estimators)
    result = ut.optimize(fn, None, direction=DIRECTION, backend=args.backend,
                         n_trials=args.n_trials, n_workers=args.workers, seed=args.seed,
                         storage=args.storage, study_name=args.study, callbacks=parser.callbacks(args),
                         **parser.execution(args),
                         options=options or {})
    states = [t.state for t in result.trials]
    # a complete trial fitted every fold; a pruned one the folds it reported
    folds = sum(args.cv if t.state is ut.TrialState.COMPLETE else len(t.intermediate)
                for t in result.trials)
    print(f"{result.backend}: {len(states)} trials, {states.count(ut.TrialState.COMPLETE)} "
          f"complete, {states.count(ut.TrialState.PRUNED)} pruned, "
          f"{states.count(ut.TrialState.FAIL)} failed; {folds} of "
          f"{len(states) * args.cv} fold fits run")
    print(f"best {args.cv}-fold accuracy {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
