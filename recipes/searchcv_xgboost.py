"""SearchCV: XGBoost in a scikit-learn Pipeline, pruned per fold where the backend prunes.

``unitune.sklearn.SearchCV`` is a scikit-learn search estimator: each candidate's folds
are fitted one by one and, on a backend that prunes, the running mean accuracy is
reported after every fold but the last, so its pruner stops candidates that trail the
others (Optuna's median pruner on ``optuna:*``, the scheduler on ``ray:asha``,
``ray:hyperband``, ``ray:median``). The report says how many candidates were pruned
before their last fold and how many fold fits that saved. Backends that do not prune
(``skopt:gp``, ``pymoo:ga``, ``ray:random``) run every fold of every candidate, and
the run says so. The best pipeline is refitted and scored on a held-out quarter.

    python recipes/searchcv_xgboost.py                       # optuna:tpe, 60 candidates
    python recipes/searchcv_xgboost.py --backend skopt:gp    # no pruning: skopt does not prune
    python recipes/searchcv_xgboost.py --n-trials 3 --cv 2   # a few seconds
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import unitune as ut

SLIDE = None  # no slide: SearchCV, unitune's scikit-learn estimator
BACKEND = "optuna:tpe"
DIRECTION = "maximize"  # SearchCV maximises the score, as scikit-learn's searches
SPACE = ut.Space({
    "xgbclassifier__n_estimators": ut.Int(20, 200, step=20),
    "xgbclassifier__max_depth": ut.Int(1, 8),
    "xgbclassifier__learning_rate": ut.Float(1e-3, 0.5, log=True),
    "xgbclassifier__subsample": ut.Float(0.5, 1.0),
    "xgbclassifier__min_child_weight": ut.Float(1e-2, 10.0, log=True),
})


@dataclass(frozen=True)
class Report:
    """What the run shows: candidates by outcome, the fits pruning saved, the best."""

    backend: str
    pruning: bool
    candidates: int
    completed: int
    pruned_before_last_fold: int
    failed: int
    fits_saved: int
    best_params: dict[str, Any]
    best_cv_accuracy: float
    test_accuracy: float


def pipeline() -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from xgboost import XGBClassifier

    # One thread per fit: SearchCV's n_jobs decides how many fits run at once.
    return make_pipeline(StandardScaler(), XGBClassifier(n_jobs=1, tree_method="hist",
                                                         eval_metric="logloss"))


def prunes(backend: str) -> bool:
    """Whether ``backend`` (``optuna:tpe``, or an engine's name for its default) can stop
    a candidate early, i.e. takes SearchCV's pruning=True."""
    return any(backend in (b.name, b.engine if b.default else None) and b.capabilities.pruning
               for b in ut.backends())


def run(backend: str = BACKEND, n_trials: int = 60, cv: int = 5, seed: int = 0,
        n_jobs: int | None = None, storage: str | None = None, study_name: str | None = None,
        callbacks: Sequence[Callable[[ut.TrialRecord], Any]] = ()) -> Report:
    """Search on 75% of breast_cancer, pruning where ``backend`` prunes; score the refitted
    best pipeline on the other 25%."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from unitune.sklearn import SearchCV

    # Bundled with scikit-learn, binary, and hard enough that depth, learning rate and
    # subsampling change the accuracy (0.63 for the majority class to ~0.97).
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=seed)
    search = SearchCV(pipeline(), SPACE, backend=backend, n_trials=n_trials, cv=cv,
                      scoring="accuracy", pruning=prunes(backend), seed=seed, n_jobs=n_jobs,
                      storage=storage, study_name=study_name, callbacks=list(callbacks))
    search.fit(X_train, y_train)
    states = [r.state for r in search.result_.trials]
    # A pruned candidate's unfitted folds are nan in cv_results_.
    n_splits = search.n_splits_
    fitted = [sum(not math.isnan(search.cv_results_[f"split{k}_test_score"][i])
                  for k in range(n_splits)) for i in range(len(search.cv_results_["params"]))]
    pruned_rows = [i for i, p in enumerate(search.cv_results_["params"])
                   if math.isnan(search.cv_results_["mean_test_score"][i]) and fitted[i] > 0]
    return Report(
        backend=search.result_.backend,
        pruning=search.pruning,
        candidates=len(states),
        completed=states.count(ut.TrialState.COMPLETE),
        pruned_before_last_fold=states.count(ut.TrialState.PRUNED),
        failed=states.count(ut.TrialState.FAIL),
        fits_saved=sum(n_splits - fitted[i] for i in pruned_rows),
        best_params=search.best_params_,
        best_cv_accuracy=float(search.best_score_),
        test_accuracy=float(search.score(X_test, y_test)),
    )


def main(argv: list[str] | None = None) -> Report:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=60)
    parser.add_argument("--cv", type=int, default=5, help="folds (default 5)")
    args = parser.parse_args(argv)
    print(parser.banner(args, f"maximize {args.cv}-fold accuracy of an XGBoost pipeline"))
    if prunes(args.backend):
        print(f"pruning: {args.backend} may stop a candidate after any fold but the last")
    else:
        print(f"no pruning ({args.backend} does not prune): every candidate fits all "
              f"{args.cv} folds")
    if args.workers > 1:  # SearchCV runs candidates one by one, the folds in parallel
        print(f"--workers {args.workers}: each candidate's folds fit in {args.workers} "
              "processes")
    report = run(args.backend, args.n_trials, args.cv, args.seed,
                 args.workers if args.workers > 1 else None, args.storage, args.study,
                 parser.callbacks(args))
    pruned = (f"{report.pruned_before_last_fold} pruned before the last fold "
              f"({report.fits_saved} of {report.candidates * args.cv} fold fits saved), "
              if report.pruning else "")
    print(f"backend {report.backend}: {report.candidates} candidates, {report.completed} "
          f"completed, {pruned}{report.failed} failed")
    print(f"best CV accuracy {report.best_cv_accuracy:.4f} with {report.best_params}")
    print(f"held-out test accuracy of the refitted pipeline: {report.test_accuracy:.4f}")
    return report


if __name__ == "__main__":
    main()
