"""SearchCV recipe: tune XGBoost inside a scikit-learn Pipeline, with per-fold pruning.

Each candidate's folds are fitted one by one; after every fold but the last the
running mean accuracy is reported, and the backend's pruner (Optuna's median
pruner for optuna:* backends) stops candidates that trail the others. The
report says how many candidates were pruned before their last fold and how many
fold fits that saved.

    python recipes/searchcv_xgboost.py                       # optuna:tpe, 60 candidates
    python recipes/searchcv_xgboost.py --backend optuna:random --n-trials 30
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

import unitune as ut

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


def run(backend: str = "optuna:tpe", n_trials: int = 60, cv: int = 5, seed: int = 0,
        n_jobs: int | None = None) -> Report:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from unitune.sklearn import SearchCV

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=seed)
    search = SearchCV(pipeline(), SPACE, backend=backend, n_trials=n_trials, cv=cv,
                      scoring="accuracy", pruning=True, seed=seed, n_jobs=n_jobs)
    search.fit(X_train, y_train)
    states = [r.state for r in search.result_.trials]
    # A pruned candidate's unfitted folds are nan in cv_results_.
    n_splits = search.n_splits_
    fitted = [sum(not math.isnan(search.cv_results_[f"split{k}_test_score"][i])
                  for k in range(n_splits)) for i in range(len(search.cv_results_["params"]))]
    pruned_rows = [i for i, p in enumerate(search.cv_results_["params"])
                   if math.isnan(search.cv_results_["mean_test_score"][i]) and fitted[i] > 0]
    return Report(
        backend=backend,
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="optuna:tpe")
    parser.add_argument("--n-trials", type=int, default=60)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args(argv)
    report = run(args.backend, args.n_trials, args.cv, args.seed, args.n_jobs)
    print(f"backend {report.backend}: {report.candidates} candidates, {report.completed} "
          f"completed, {report.pruned_before_last_fold} pruned before the last fold "
          f"({report.fits_saved} of {report.candidates * args.cv} fold fits saved), "
          f"{report.failed} failed")
    print(f"best CV accuracy {report.best_cv_accuracy:.4f} with {report.best_params}")
    print(f"held-out test accuracy of the refitted pipeline: {report.test_accuracy:.4f}")
    return report


if __name__ == "__main__":
    main()
