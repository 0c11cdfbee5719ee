"""``SearchCV``: scikit-learn's search estimator with any unitune backend behind it.

    from unitune.sklearn import SearchCV
    search = SearchCV(SVC(), {"C": [0.1, 1, 10], "kernel": ["rbf", "linear"]},
                      backend="optuna:grid", cv=5).fit(X, y)
    search.best_params_, search.best_score_, search.cv_results_, search.result_

It is a ``BaseSearchCV``, so prediction methods, ``score``, ``classes_``, metadata
routing, cloning and ``get_params``/``set_params`` are scikit-learn's own. ``fit``
is replaced because scikit-learn's ``evaluate_candidates`` fits a batch of
candidates on all folds at once: here the backend proposes one candidate at a
time (``ut.optimize``), its value is the mean test score over the folds, and with
``pruning=True`` the running mean is reported after each fold so that the
backend can stop a bad candidate before its last folds. Importing this module
loads scikit-learn; ``import unitune`` does not.
"""

from __future__ import annotations

import difflib
import numbers
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import indexable
from sklearn.utils._param_validation import Interval, InvalidParameterError
from sklearn.utils.validation import _check_method_params

from unitune import _cv_results, adapters
from unitune._secrets import scrub
from unitune.errors import (
    InvalidOption,
    InvalidSpace,
    ObjectiveError,
    UnituneError,
    UnsupportedFeature,
)
from unitune.ledger import INTERRUPTED_ATTR
from unitune.optimize import optimize
from unitune.records import Result, TrialRecord
from unitune.space import Space

__all__ = ["SearchCV"]

_DEFAULT_N_TRIALS = 10  # RandomizedSearchCV's n_iter; a grid backend runs the whole grid
# Options that choose how trials are stopped early: meaningless without pruning=True.
# name -> the value that means "no pruning" (None: any value chooses pruning)
_PRUNING_OPTIONS = {"pruner": "none", "pruner_options": None, "scheduler": "fifo"}


class SearchCV(BaseSearchCV):
    """Cross-validated search over ``space`` for ``estimator``, driven by ``backend``.

    ``space`` is a ``ut.Space`` or anything ``ut.Space.coerce`` reads: a ``param_grid``
    dict or list of dicts, ``param_distributions`` with scipy.stats objects, skopt
    dimensions. Pipeline parameters use scikit-learn's ``step__param`` names.

    ``n_trials`` is the number of candidates; None means the whole grid for a grid
    backend (``optuna:grid``) and 10 otherwise, as ``RandomizedSearchCV``'s ``n_iter``.
    The backend maximises the mean test score (the ``refit`` metric when ``scoring``
    names several; the first metric when ``refit`` is False or a callable).

    ``pruning=True`` reports the running mean after every fold but the last, so a
    pruning backend can stop a candidate early; its unfitted folds are nan in
    ``cv_results_`` and it ranks last. The pruner is the backend's default (Optuna's
    ``MedianPruner`` for ``optuna:*``, the scheduler named by ``ray:asha`` and the like)
    unless ``options`` chooses one: ``options={"pruner": "hyperband"}``, or
    ``{"pruner": "none"}`` to report the folds without pruning. ``options`` that choose a
    pruner (``pruner``, ``pruner_options``, ``scheduler``) are refused with
    ``pruning=False``, where they would have no effect. ``n_jobs`` fits a candidate's
    folds in parallel (joblib processes, which cap each worker's BLAS/OpenMP threads);
    candidates run one at a time, so the backend sees every score before it proposes the
    next.

    Fitted attributes are scikit-learn's (``best_params_``, ``best_score_``,
    ``best_index_``, ``best_estimator_``, ``cv_results_``, ``n_splits_``, ``scorer_``,
    ``refit_time_``, ``multimetric_``) plus ``result_``, the ``ut.Result`` of the study
    (its trials say which candidates were pruned or failed).

    ``options`` are the backend's own, passed as they are to ``ut.optimize`` (e.g.
    ``{"n_startup_trials": 5}`` for ``optuna:tpe``, ``{"n_initial_points": 5}`` for
    ``skopt:gp``, ``{"pop_size": 8}`` for ``pymoo:ga``); an option the backend does not
    accept raises ``ut.InvalidOption`` naming it, before any fit. ``storage``/``study_name``
    keep the trials in a ledger; trials stored by an earlier fit are re-scored fold by
    fold, since only their mean is in the ledger. ``callbacks`` are called with each
    candidate's ``ut.TrialRecord`` as it finishes (its mean score in ``values``), as
    ``ut.optimize``'s are: a progress line, a best-so-far curve.
    """

    _parameter_constraints: dict = {
        **{k: v for k, v in BaseSearchCV._parameter_constraints.items() if k != "pre_dispatch"},
        "space": "no_validation",
        "backend": [str],
        "n_trials": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "seed": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "pruning": ["boolean"],
        "storage": "no_validation",
        "study_name": [str, None],
        "options": [Mapping, None],
        "callbacks": [list, tuple, None],
    }

    def __init__(self, estimator: Any, space: Any, *, backend: str = "optuna:tpe",
                 n_trials: int | None = None, cv: Any = 5, scoring: Any = None,
                 refit: Any = True, n_jobs: int | None = None, seed: int | None = None,
                 pruning: bool = False, error_score: Any = np.nan,
                 return_train_score: bool = False, storage: Any = None,
                 study_name: str | None = None, options: Mapping[str, Any] | None = None,
                 callbacks: Sequence[Callable[[TrialRecord], Any]] | None = None,
                 verbose: int = 0) -> None:
        self.estimator = estimator
        self.space = space
        self.backend = backend
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.seed = seed
        self.pruning = pruning
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.storage = storage
        self.study_name = study_name
        self.options = options
        self.callbacks = callbacks
        self.verbose = verbose

    # scikit-learn shows an estimator's params (print, a notebook's cell): not the password
    # of a ``storage`` URL
    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        return scrub(super().__repr__(N_CHAR_MAX))

    def _repr_html_inner(self) -> str:
        return scrub(super()._repr_html_inner())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return {k: scrub(v) for k, v in super()._repr_mimebundle_(**kwargs).items()}

    # -- checks, all before the first fit -------------------------------------------------
    def _checked_backend(self) -> type[adapters.BaseAdapter]:
        try:
            self._validate_params()
        except InvalidParameterError as exc:
            raise InvalidOption(str(exc)) from None
        adapter_cls = adapters.get(self.backend)
        adapter_cls.ensure_installed()
        if self.pruning and not adapter_cls.capabilities.pruning:
            pruners = [b.name for b in adapters.backends() if b.capabilities.pruning]
            raise UnsupportedFeature(
                f"pruning=True, but backend {adapter_cls.name!r} does not prune; use "
                f"pruning=False or one of {', '.join(pruners)}")
        if not self.pruning:
            for name, off in _PRUNING_OPTIONS.items():
                value = (self.options or {}).get(name, off)
                if value != off:
                    raise InvalidOption(
                        f"option {name}={value!r} chooses a pruner, but pruning=False: no "
                        "score is reported before the last fold, so nothing would be "
                        "pruned; set pruning=True or drop the option")
        return adapter_cls

    def _checked_space(self) -> Space:
        """The space as a ``ut.Space``, every name a parameter of the estimator."""
        space = Space.coerce(self.space)
        valid = sorted(self.estimator.get_params(deep=True))
        for branch in space.branches or (space,):
            for name in branch:
                if name not in valid:
                    close = difflib.get_close_matches(name, valid, n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    raise InvalidSpace(
                        f"parameter {name!r} is not a parameter of "
                        f"{type(self.estimator).__name__}; {hint}valid names: {', '.join(valid)}")
        return space

    def _checked_scorers(self) -> tuple[Any, Any]:
        try:
            return self._get_scorers()
        except UnituneError:
            raise
        except ValueError as exc:
            raise InvalidOption(f"scoring={self.scoring!r}, refit={self.refit!r}: {exc}") from None

    # -- fit ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, **params: Any) -> SearchCV:
        """Search the space (the backend proposes, each candidate is cross-validated),
        then refit the best candidate on all of ``X``, ``y``. ``params`` go to the
        estimator's ``fit`` (and ``groups`` to the splitter), as in ``GridSearchCV``."""
        adapter_cls = self._checked_backend()
        space = self._checked_space()
        scorers, _ = self._checked_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, **routed.splitter.split))
        self.n_splits_ = len(splits)
        base = clone(self.estimator)
        is_grid = not adapter_cls.capabilities.continuous
        n_trials = self.n_trials if self.n_trials is not None else (
            None if is_grid else _DEFAULT_N_TRIALS)
        if self.verbose > 0:
            count = n_trials if n_trials is not None else len(space.grid())
            print(f"Fitting {self.n_splits_} folds for each of {count} candidates with "
                  f"backend {adapter_cls.name}")
        store = tempfile.mkdtemp(prefix="unitune-cv-")
        try:
            objective = _cv_results.CVObjective(
                base, X, y, splits, scorer=scorers,
                metric=self.refit if isinstance(self.refit, str) else None,
                fit_params=routed.estimator.fit, score_params=routed.scorer.score,
                return_train_score=self.return_train_score, error_score=self.error_score,
                verbose=self.verbose, n_jobs=self.n_jobs, pruning=self.pruning, store=store)
            result = self._optimize(objective, space, n_trials)
            records = self._candidates(result, space, is_grid)
            fold_outs = [self._fold_outputs(objective, store, r) for r in records]
        finally:
            shutil.rmtree(store, ignore_errors=True)
        if not any(fold_outs):
            errors = sorted({r.error for r in records if r.error})
            raise ObjectiveError(f"no candidate finished a single fold: {errors}")
        self.cv_results_ = _cv_results.cv_results(self, records, fold_outs, self.n_splits_,
                                                  splits)
        self.result_ = result
        self._select_best(fold_outs)
        if self.refit:
            self._refit(base, X, y, routed.estimator.fit)
        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        return self

    def _optimize(self, objective: Any, space: Space, n_trials: int | None) -> Result:
        """``ut.optimize`` with scikit-learn's failure rule: ``error_score='raise'``
        stops at the first failing fit and raises its own exception."""
        raise_errors = isinstance(self.error_score, str)
        try:
            result = optimize(objective, space, backend=self.backend, direction="maximize",
                              n_trials=n_trials, seed=self.seed, storage=self.storage,
                              study_name=self.study_name, options=self.options,
                              callbacks=self.callbacks or (),
                              on_failure="stop" if raise_errors else "continue")
        except ObjectiveError as exc:
            if raise_errors and exc.__cause__ is not None:
                raise exc.__cause__ from None
            raise
        if result.interrupted:
            raise KeyboardInterrupt(f"search interrupted; finished trials are in study "
                                    f"{result.study_name!r}")
        return result

    @staticmethod
    def _candidates(result: Result, space: Space, is_grid: bool) -> list[TrialRecord]:
        """Finished trials in the order of ``cv_results_``: ``ParameterGrid`` order for a
        grid (so ties break as in ``GridSearchCV``), the order they ran otherwise."""
        records = [r for r in result.trials if r.state.is_finished()
                   and not r.user_attrs.get(INTERRUPTED_ATTR)]
        if is_grid:
            order = _cv_results.grid_order(space)
            records.sort(key=lambda r: order.get(_cv_results._key(r.params), len(order)))
        return records

    @staticmethod
    def _fold_outputs(objective: Any, store: str, record: TrialRecord) -> list[dict]:
        """What the objective saved for ``record``; a trial whose objective ran in an
        earlier fit (a resumed study) is scored again, since the ledger keeps its mean
        only. A pruned one keeps no folds then."""
        outs = _cv_results.load(store, record)
        if outs is not None:
            return outs
        if record.state.value == "PRUNED":
            return []
        return list(objective.folds(record.params))

    def _select_best(self, fold_outs: list[list[dict]]) -> None:
        """scikit-learn's rule: the first candidate of best rank in ``cv_results_``."""
        outs = [o for candidate in fold_outs for o in candidate]
        first = next((o for o in outs if o["fit_error"] is None), outs[0])
        self.multimetric_ = isinstance(first["test_scores"], dict)
        refit_metric = "score"
        if self.multimetric_:
            if callable(self.scoring):
                self._check_refit_for_multimetric(first["test_scores"])
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric,
                                                       self.cv_results_)
            if not callable(self.refit):
                self.best_score_ = self.cv_results_[f"mean_test_{refit_metric}"][
                    self.best_index_]
            self.best_params_ = self.cv_results_["params"][self.best_index_]

    def _refit(self, base: Any, X: Any, y: Any, fit_params: dict[str, Any]) -> None:
        self.best_estimator_ = clone(base).set_params(**clone(self.best_params_, safe=False))
        start = time.time()
        if y is not None:
            self.best_estimator_.fit(X, y, **fit_params)
        else:
            self.best_estimator_.fit(X, **fit_params)
        self.refit_time_ = time.time() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_
