"""The cross-validated objective behind ``SearchCV`` and the ``cv_results_`` it leaves.

The objective fits one candidate fold by fold with scikit-learn's own
``_fit_and_score`` (the function ``GridSearchCV`` uses), so scores, timings and
``error_score`` handling are scikit-learn's. Folds run one after another through a
lazy joblib generator: with ``pruning`` the running mean is reported after each
fold and a pruned candidate stops before its remaining folds are fitted.

Fold outputs travel back to ``fit`` through a temporary directory rather than
memory, because some backends (Ray Tune) call the objective in another process.
"""

from __future__ import annotations

import math
import os
import pickle
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)

from unitune.records import TrialRecord, TrialState
from unitune.space import Space

__all__ = ["CVObjective", "FitFailed", "cv_results", "defaults_only", "grid_order"]

_NON_FINITE = r"One or more of the (test|train) scores are non-finite"


class FitFailed(Exception):
    """A fold's fit raised and ``error_score`` is nan: the trial is recorded FAIL."""


def _score(test_scores: Any, metric: str | None) -> float:
    """The number the backend optimises: the refit metric of a fold's scores."""
    if isinstance(test_scores, Mapping):
        return float(test_scores[metric] if metric in test_scores
                     else next(iter(test_scores.values())))
    return float(test_scores)


class CVObjective:
    """``objective(params, trial)`` for ``ut.optimize``: mean CV score of one candidate.

    A plain class (not a closure) so that it pickles for backends that run trials in
    other processes.
    """

    def __init__(self, estimator: Any, X: Any, y: Any, splits: Sequence[tuple[Any, Any]], *,
                 scorer: Any, metric: str | None, fit_params: Mapping[str, Any],
                 score_params: Mapping[str, Any], return_train_score: bool, error_score: Any,
                 verbose: int, n_jobs: int | None, pruning: bool, store: str,
                 pre_dispatch: Any = "n_jobs", contexts: Any = None) -> None:
        self.estimator = estimator
        self.X, self.y = X, y
        self.splits = list(splits)
        self.metric = metric
        self.n_jobs = n_jobs
        self.pruning = pruning
        self.reports_steps = pruning  # for backend="auto": the trial is taken for its number
        self.store = store
        # lazily, fold by fold, when pruning may stop a candidate before its last folds
        self.pre_dispatch = "n_jobs" if pruning else pre_dispatch
        self.contexts = contexts  # scikit-learn's callbacks (set_callbacks), or None
        self.error_score = error_score
        self.kwargs = dict(scorer=scorer, fit_params=dict(fit_params),
                           score_params=dict(score_params),
                           return_train_score=return_train_score, return_n_test_samples=True,
                           return_times=True, error_score=error_score, verbose=verbose)

    def folds(self, params: Mapping[str, Any]) -> Any:
        """A lazy generator of ``_fit_and_score`` outputs, one per fold, in fold order."""
        n = len(self.splits)
        parallel = Parallel(n_jobs=self.n_jobs, return_as="generator",
                            pre_dispatch=self.pre_dispatch)
        hooks: list[dict[str, Any]] = [{} for _ in self.splits]
        if self.contexts is not None:  # made here, not in the workers, as sklearn does
            hooks = [{"caller": self.contexts.search, "callback_ctx": self.contexts.evaluation()}
                     for _ in self.splits]
        return parallel(
            delayed(_fit_and_score)(clone(self.estimator), self.X, self.y, train=train,
                                    test=test, parameters=dict(params),
                                    split_progress=(k, n), **self.kwargs, **hooks[k])
            for k, (train, test) in enumerate(self.splits)
        )

    def __call__(self, params: dict[str, Any], trial: Any) -> float:
        outs: list[dict[str, Any]] = []
        scores: list[float] = []
        gen = self.folds(params)
        try:
            for k, out in enumerate(gen):
                outs.append(out)
                scores.append(_score(out["test_scores"], self.metric))
                # The last fold's mean is the trial's value: reporting it too would let a
                # pruner throw away a candidate whose work is already done.
                if self.pruning and k < len(self.splits) - 1:
                    trial.report(float(np.mean(scores)), k)
        finally:
            gen.close()
            number = getattr(trial, "number", None)
            if number is not None:  # otherwise fit() scores the candidate again
                save(self.store, number, params, outs)
        errors = [o["fit_error"] for o in outs if o["fit_error"] is not None]
        if errors and not isinstance(self.error_score, str) and math.isnan(self.error_score):
            last = errors[0].strip().splitlines()[-1]
            raise FitFailed(f"{len(errors)} of {len(outs)} folds failed to fit: {last}")
        return float(np.mean(scores))


def defaults_only(objective: CVObjective) -> tuple[list[TrialRecord], list[list[dict]]]:
    """An empty grid's one candidate, the estimator as it is (scikit-learn runs it):
    scored without a backend, since there is nothing to propose."""
    outs = list(objective.folds({}))
    failed = any(o["fit_error"] is not None for o in outs)
    value = float(np.mean([_score(o["test_scores"], objective.metric) for o in outs]))
    state = TrialState.FAIL if failed and not math.isfinite(value) else TrialState.COMPLETE
    record = TrialRecord(number=0, params={}, state=state,
                         values=None if state is TrialState.FAIL else (value,))
    return [record], [outs]


def save(store: str, number: int, params: Mapping[str, Any], outs: list[dict[str, Any]]) -> None:
    path = Path(store) / f"{number}.pkl"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps({"params": dict(params), "outs": outs}))
    os.replace(tmp, path)  # atomic: a reader never sees half a file


def load(store: str, record: TrialRecord) -> list[dict[str, Any]] | None:
    """The fold outputs saved for ``record``, or None if its objective ran elsewhere."""
    path = Path(store) / f"{record.number}.pkl"
    if not path.exists():
        return None
    saved = pickle.loads(path.read_bytes())
    # compared by repr: values may be arrays, whose == is not a truth value
    return saved["outs"] if _key(saved["params"]) == _key(record.params) else None


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def grid_order(space: Space) -> dict[tuple[tuple[str, str], ...], int]:
    """Position of each grid point in ``ParameterGrid`` order, the order ``GridSearchCV``
    lists candidates in and breaks ties by."""
    grids = [{n: d.grid() for n, d in b.items()} for b in (space.branches or (space,))]
    return {_key(p): i for i, p in enumerate(ParameterGrid(grids))}


def _add_train_ranks(results: dict[str, Any]) -> None:
    """``rank_train_<metric>`` beside each ``mean_train_<metric>``, ranked as the test
    scores are (ties share the lowest rank; nan last)."""
    from scipy.stats import rankdata

    for key in [k for k in results if k.startswith("mean_train_")]:
        means = np.asarray(results[key], dtype=float)
        if np.all(np.isnan(means)):
            ranks = np.ones(len(means), dtype=np.int32)
        else:
            filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
            ranks = np.asarray(rankdata(-filled, method="min"), dtype=np.int32)
        results["rank_train_" + key[len("mean_train_"):]] = ranks


def _padding(like: dict[str, Any], n_test: int) -> dict[str, Any]:
    """A fold a pruned candidate never reached: every number nan."""
    def nan(v: Any) -> Any:
        return {k: math.nan for k in v} if isinstance(v, Mapping) else math.nan

    pad = {"fit_time": math.nan, "score_time": math.nan, "test_scores": nan(like["test_scores"]),
           "n_test_samples": n_test, "fit_error": None}
    if "train_scores" in like:
        pad["train_scores"] = nan(like["train_scores"])
    return pad


def cv_results(search: Any, records: Sequence[TrialRecord], fold_outs: list[list[dict]],
               n_splits: int, splits: Sequence[tuple[Any, Any]]) -> dict[str, Any]:
    """``cv_results_`` in scikit-learn's layout (``BaseSearchCV._format_results``).

    Candidates keep the given order; the folds a pruned candidate skipped are nan, so its
    mean is nan and it ranks last, like a failed fit.
    """
    real = [o for outs in fold_outs for o in outs]
    if callable(search.scoring):
        _insert_error_scores(real, search.error_score)
    _warn_or_raise_about_fit_failures(real, search.error_score)
    like = next((o for o in real if o["fit_error"] is None), real[0])
    flat = []
    for outs in fold_outs:
        flat.extend(outs)
        flat.extend(_padding(like, len(splits[k][1])) for k in range(len(outs), n_splits))
    params = [dict(sorted(r.params.items())) for r in records]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_NON_FINITE, category=UserWarning)
        results = search._format_results(params, n_splits, flat)
    if str(getattr(search, "backend", "")).startswith("skopt:"):
        _add_train_ranks(results)  # BayesSearchCV's cv_results_ has them
    unpruned = np.array([r.state is not TrialState.PRUNED for r in records])
    for key in [k for k in results if k.startswith(("mean_test_", "mean_train_"))]:
        means = np.asarray(results[key])[unpruned]
        if not np.all(np.isfinite(means)):  # what scikit-learn would have said
            warnings.warn(f"One or more of the {key.split('_')[1]} scores are non-finite: "
                          f"{means}", category=UserWarning, stacklevel=4)
    return results
