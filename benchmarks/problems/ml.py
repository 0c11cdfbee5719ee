"""Live machine learning, bayesmark-style: a scikit-learn model's cross-validated score on one
of scikit-learn's bundled datasets (no download), with bayesmark's search spaces.

Conventions (uber/bayesmark's ``sklearn_funcs``): the raw dataset; the model's fixed
arguments and search space as bayesmark has them, its "logit" ranges taken as linear
ones (unitune has no logit scale); the mean score over the folds. Departures, to keep an
evaluation well under a second: 3 folds instead of 5 (a fixed, shuffled split,
``random_state=0``), no held-out 20%, SVC without ``probability=True`` (accuracy does not
use it), 600 of digits' 1,797 images (a fixed draw: SVC's cost grows with the square of
the samples), and the MLP behind a StandardScaler fitted in each fold (wine's raw features span
four orders of magnitude). XGBoost is not in bayesmark: its space is HPOBench's XGBoost
space (eta, max_depth, colsample_bytree, reg_lambda; max_depth capped at 15) with 50 trees,
exact splits (3x faster than histograms on 442 rows) on one thread.

Every model is seeded (``random_state=0``) and single-threaded, so a configuration's score
is the same on every call: the objective is deterministic. The optimum is unknown.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import unitune as ut

from ._base import Problem

# dataset -> (scikit-learn loader name, is a classification, rows kept (None: all))
DATASETS = {"digits": ("load_digits", True, 600), "breast": ("load_breast_cancer", True, None),
            "wine": ("load_wine", True, None), "diabetes": ("load_diabetes", False, None)}
_DATA: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def load_data(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    if dataset not in _DATA:
        from sklearn import datasets

        loader, _, rows = DATASETS[dataset]
        x, y = getattr(datasets, loader)(return_X_y=True)
        keep = np.sort(np.random.default_rng(0).permutation(len(y))[:rows])
        _DATA[dataset] = (np.asarray(x, dtype=float)[keep], np.asarray(y)[keep])
    return _DATA[dataset]


def _svm(params: dict[str, Any]) -> Any:
    from sklearn.svm import SVC

    return SVC(kernel="rbf", C=params["C"], gamma=params["gamma"], tol=params["tol"])


def _rf(params: dict[str, Any]) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=10, random_state=0, n_jobs=1, **params)


def _mlp(params: dict[str, Any]) -> Any:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlp = MLPClassifier(solver="adam", early_stopping=True, random_state=0, **params)
    return make_pipeline(StandardScaler(), mlp)


def _xgb(params: dict[str, Any]) -> Any:
    from xgboost import XGBRegressor

    return XGBRegressor(n_estimators=50, n_jobs=1, random_state=0, tree_method="exact",
                        **params)


# model -> (builder, scoring, its space)
MODELS: dict[str, tuple[Callable[[dict[str, Any]], Any], str, ut.Space]] = {
    "svm": (_svm, "accuracy", ut.Space(
        C=ut.Float(1.0, 1e3, log=True),
        gamma=ut.Float(1e-4, 1e-3, log=True),
        tol=ut.Float(1e-5, 1e-1, log=True),
    )),
    "rf": (_rf, "accuracy", ut.Space(
        max_depth=ut.Int(1, 15),
        max_features=ut.Float(0.01, 0.99),
        min_samples_split=ut.Float(0.01, 0.99),
        min_samples_leaf=ut.Float(0.01, 0.49),
        min_weight_fraction_leaf=ut.Float(0.01, 0.49),
        min_impurity_decrease=ut.Float(0.0, 0.5),
    )),
    "mlp": (_mlp, "accuracy", ut.Space(
        hidden_layer_sizes=ut.Int(50, 200),
        alpha=ut.Float(1e-5, 1e1, log=True),
        batch_size=ut.Int(10, 250),
        learning_rate_init=ut.Float(1e-5, 1e-1, log=True),
        tol=ut.Float(1e-5, 1e-1, log=True),
        validation_fraction=ut.Float(0.1, 0.9),
        beta_1=ut.Float(0.5, 0.99),
        beta_2=ut.Float(0.9, 1.0 - 1e-6),
        epsilon=ut.Float(1e-9, 1e-6, log=True),
    )),
    "xgb": (_xgb, "neg_mean_squared_error", ut.Space(
        learning_rate=ut.Float(2.0**-10, 1.0, log=True),
        max_depth=ut.Int(1, 15, log=True),
        colsample_bytree=ut.Float(0.1, 1.0),
        reg_lambda=ut.Float(2.0**-10, 2.0**10, log=True),
    )),
}


class SklearnObjective:
    """Mean 3-fold cross-validated score of ``model`` on ``dataset``: accuracy (maximise),
    or for a regression the mean squared error (minimise). Picklable (names only; the data
    are loaded where it is called)."""

    def __init__(self, model: str, dataset: str) -> None:
        self.model, self.dataset = model, dataset

    def __repr__(self) -> str:
        return f"SklearnObjective({self.model!r}, {self.dataset!r})"

    def __call__(self, params: dict[str, Any]) -> float:
        from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

        build, scoring, _ = MODELS[self.model]
        x, y = load_data(self.dataset)
        split = StratifiedKFold if DATASETS[self.dataset][1] else KFold
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings of odd configurations
            scores = cross_val_score(build(dict(params)), x, y, scoring=scoring, n_jobs=1,
                                     cv=split(n_splits=3, shuffle=True, random_state=0))
        score = float(np.mean(scores))
        return -score if scoring.startswith("neg_") else score


def ml_problem(model: str, dataset: str) -> Problem:
    _, scoring, space = MODELS[model]
    regression = scoring.startswith("neg_")
    return Problem(
        f"{model}-{dataset}",
        space,
        SklearnObjective(model, dataset),
        direction="minimize" if regression else "maximize",
        optimum=None,
        family="ml",
        source=f"scikit-learn {model} on {dataset}: 3-fold CV "
               f"{'mean squared error' if regression else 'accuracy'}; optimum unknown",
    )


ML = (ml_problem("svm", "digits"), ml_problem("rf", "breast"), ml_problem("mlp", "wine"),
      ml_problem("xgb", "diabetes"))
