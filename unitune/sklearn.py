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

import numbers
import os
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

from unitune import _cv_results, _search_callbacks, _search_params, adapters
from unitune._secrets import scrub
from unitune.errors import InvalidOption, ObjectiveError, UnituneError
from unitune.ledger import INTERRUPTED_ATTR
from unitune.optimize import optimize
from unitune.records import Result, TrialRecord

__all__ = ["SearchCV"]


class SearchCV(BaseSearchCV):
    """Cross-validated search for ``estimator``, driven by ``backend``.

    The space is a ``ut.Space`` or anything ``ut.Space.coerce`` reads: a ``param_grid``
    dict or list of dicts, ``param_distributions`` with scipy.stats objects, skopt
    dimensions. It is given as ``space`` (positional) or by the name the scikit-learn /
    scikit-optimize class uses: ``param_grid=``, ``param_distributions=``,
    ``search_spaces=`` (exactly one of the four). A list of ``(space, n_iter)`` tuples
    (and, on ``skopt:*`` backends, a list of spaces, as ``BayesSearchCV`` reads it) runs
    one search per space, each with its own budget (``n_trials`` where none is given).
    Pipeline parameters use scikit-learn's ``step__param`` names.

    ``n_trials`` is the number of candidates; None means the whole grid for a grid
    backend (``optuna:grid``) and 10 otherwise, as ``RandomizedSearchCV``'s ``n_iter``.
    On ``optuna:random`` a space whose values are all lists is sampled without
    replacement and capped at the grid size, with ``RandomizedSearchCV``'s warning
    (Optuna's grid sampler draws it: the study records backend ``optuna:grid``).
    The backend maximises the mean test score (the ``refit`` metric when ``scoring``
    names several; the first metric when ``refit`` is False or a callable).
    ``random_state`` (int, ``RandomState`` or None) seeds the backend; ``seed`` is its
    alias. ``n_points`` candidates are proposed and cross-validated at a time
    (``BayesSearchCV``'s ``n_points``). ``pre_dispatch`` is joblib's, for the folds.

    ``pruning=True`` reports the running mean after every fold but the last, so a
    pruning backend can stop a candidate early; its unfitted folds are nan in
    ``cv_results_`` and it ranks last. The pruner is the backend's default (Optuna's
    ``MedianPruner`` for ``optuna:*``, the scheduler named by ``ray:asha`` and the like)
    unless ``options`` chooses one: ``options={"pruner": "hyperband"}``, or
    ``{"pruner": "none"}`` to report the folds without pruning. ``options`` that choose a
    pruner (``pruner``, ``pruner_options``, ``scheduler``) are refused with
    ``pruning=False``, where they would have no effect. ``n_jobs`` fits a candidate's
    folds in parallel (joblib processes, which cap each worker's BLAS/OpenMP threads).

    Fitted attributes are scikit-learn's (``best_params_``, ``best_score_``,
    ``best_index_``, ``best_estimator_``, ``cv_results_``, ``n_splits_``, ``scorer_``,
    ``refit_time_``, ``multimetric_``), scikit-optimize's ``optimizer_results_`` (one
    ``OptimizerResult`` per search: ``x``, ``fun``, ``x_iters``, ``func_vals``, as skopt
    minimises) and ``total_iterations``, plus ``result_``, the ``ut.Result`` of the (first)
    study (its trials say which candidates were pruned or failed).

    ``options`` are the backend's own, passed as they are to ``ut.optimize`` (e.g.
    ``{"n_startup_trials": 5}`` for ``optuna:tpe``, ``{"n_initial_points": 5}`` for
    ``skopt:gp``, ``{"pop_size": 8}`` for ``pymoo:ga``); an option the backend does not
    accept raises ``ut.InvalidOption`` naming it, before any fit. ``storage``/``study_name``
    keep the trials in a ledger (one study per search: ``study_name``, ``study_name-1``,
    ...); trials stored by an earlier fit are re-scored fold by fold, since only their
    mean is in the ledger. ``callbacks`` are called with each candidate's
    ``ut.TrialRecord`` as it finishes (its mean score in ``values``), as ``ut.optimize``'s
    are. scikit-learn's own callbacks (``set_callbacks``, 1.9) are called as
    ``GridSearchCV`` calls them, and ``fit(X, y, callback=f)`` calls ``f`` with the
    ``OptimizerResult`` so far after each candidate, as ``BayesSearchCV`` does (True stops).
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "space": "no_validation",
        "param_grid": "no_validation",
        "param_distributions": "no_validation",
        "search_spaces": "no_validation",
        "backend": [str],
        "n_trials": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "seed": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "n_points": [Interval(numbers.Integral, 1, None, closed="left")],
        "pruning": ["boolean"],
        "storage": "no_validation",
        "study_name": [str, None],
        "options": [Mapping, None],
        "callbacks": [list, tuple, None],
    }

    def __init__(self, estimator: Any, space: Any = None, *, param_grid: Any = None,
                 param_distributions: Any = None, search_spaces: Any = None,
                 backend: str = "optuna:tpe", n_trials: int | None = None, cv: Any = 5,
                 scoring: Any = None, refit: Any = True, n_jobs: int | None = None,
                 random_state: Any = None, seed: int | None = None, n_points: int = 1,
                 pre_dispatch: Any = "2*n_jobs", pruning: bool = False,
                 error_score: Any = np.nan, return_train_score: bool = False,
                 storage: Any = None, study_name: str | None = None,
                 options: Mapping[str, Any] | None = None,
                 callbacks: Sequence[Callable[[TrialRecord], Any]] | None = None,
                 verbose: int = 0) -> None:
        self.estimator = estimator
        self.space = space
        self.param_grid = param_grid
        self.param_distributions = param_distributions
        self.search_spaces = search_spaces
        self.backend = backend
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.seed = seed
        self.n_points = n_points
        self.pre_dispatch = pre_dispatch
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

    @property
    def total_iterations(self) -> int:
        """The number of candidates ``fit`` runs (scikit-optimize's): the sum of the
        searches' budgets, a grid backend's being its grid size."""
        return _search_params.total_iterations(self)

    # -- checks, all before the first fit -------------------------------------------------
    def _checked_backend(self) -> type[adapters.BaseAdapter]:
        try:
            self._validate_params()
        except InvalidParameterError as exc:
            raise InvalidOption(str(exc)) from None
        return _search_params.checked_backend(self.backend, self.pruning, self.options)

    def _checked_scorers(self) -> tuple[Any, Any]:
        try:
            return self._get_scorers()
        except UnituneError:
            raise
        except ValueError as exc:
            raise InvalidOption(f"scoring={self.scoring!r}, refit={self.refit!r}: {exc}") from None

    def _checked_splits(self, X: Any, y: Any, split_params: dict[str, Any]) -> list[Any]:
        """The folds, with ``GridSearchCV``'s messages for an empty or inconsistent
        splitter."""
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        n_splits = cv.get_n_splits(X, y, **split_params)
        splits = list(cv.split(X, y, **split_params))
        if len(splits) != n_splits:
            raise InvalidOption(f"cv.split and cv.get_n_splits return inconsistent results. "
                                f"Expected {n_splits} splits, got {len(splits)}")
        if not splits:
            raise InvalidOption("No fits were performed. Was the CV iterator empty? Were "
                                "there no candidates?")
        return splits

    # -- fit ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, callback: Any = None, **params: Any) -> SearchCV:
        """Search the space (the backend proposes, each candidate is cross-validated),
        then refit the best candidate on all of ``X``, ``y``. ``params`` go to the
        estimator's ``fit`` (and ``groups`` to the splitter), as in ``GridSearchCV``;
        ``callback`` is ``BayesSearchCV.fit``'s."""
        with _search_callbacks.managed(self):
            return self._fit(X, y, callback, params)

    def _fit(self, X: Any, y: Any, callback: Any, params: dict[str, Any]) -> SearchCV:
        adapter_cls = self._checked_backend()
        pieces = _search_params.pieces(self, not adapter_cls.capabilities.continuous)
        for piece in pieces:
            _search_params.check_names(self.estimator, piece.space)
        scorers, _ = self._checked_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        weight = params.get("sample_weight")
        ctx = _search_callbacks.CallbackContexts(
            self, X, y, None if weight is None else {"sample_weight": weight})
        splits = self._checked_splits(X, y, routed.splitter.split)
        self.n_splits_ = len(splits)
        base = clone(self.estimator)
        if self.verbose > 0:
            count = sum(_search_params.budget(p) for p in pieces)
            print(f"Fitting {self.n_splits_} folds for each of {count} candidates with "
                  f"backend {adapter_cls.name}")
        store = tempfile.mkdtemp(prefix="unitune-cv-")
        ctx.begin_search()
        try:
            objective = _cv_results.CVObjective(
                base, X, y, splits, scorer=scorers,
                metric=self.refit if isinstance(self.refit, str) else None,
                fit_params=routed.estimator.fit, score_params=routed.scorer.score,
                return_train_score=self.return_train_score, error_score=self.error_score,
                verbose=self.verbose, n_jobs=self.n_jobs, pruning=self.pruning, store=store,
                pre_dispatch=self.pre_dispatch, contexts=ctx if ctx.active else None)
            records, fold_outs = self._search(objective, pieces, store, callback)
        finally:
            shutil.rmtree(store, ignore_errors=True)
        ctx.end_search()
        if not any(fold_outs):
            errors = sorted({r.error for r in records if r.error})
            raise ObjectiveError(f"no candidate finished a single fold: {errors}")
        self.cv_results_ = _cv_results.cv_results(self, records, fold_outs, self.n_splits_,
                                                  splits)
        self._select_best(fold_outs)
        if self.refit:
            self._refit(base, X, y, routed.estimator.fit, ctx)
        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        ctx.end()
        return self

    def _search(self, objective: Any, pieces: list[_search_params.Piece], store: str,
                callback: Any) -> tuple[list[TrialRecord], list[list[dict]]]:
        """Run each search; the finished candidates of all, in ``cv_results_`` order,
        with their fold outputs. Sets ``result_`` and ``optimizer_results_``."""
        records: list[TrialRecord] = []
        fold_outs: list[list[dict]] = []
        self.optimizer_results_ = []
        seed = _search_params.seed_of(self.random_state, self.seed)
        for k, piece in enumerate(pieces):
            objective.store = os.path.join(store, str(k))  # trial numbers restart
            os.mkdir(objective.store)
            result = None
            if piece.space is None:
                found, outs = _cv_results.defaults_only(objective)
            else:
                extra = [] if callback is None else [
                    _search_callbacks.SkoptCallback(callback, piece.names)]
                name = self.study_name if k == 0 or self.study_name is None else (
                    f"{self.study_name}-{k}")
                result = self._optimize(objective, piece, seed, name, extra)
                found = self._candidates(result, piece)
                outs = [self._fold_outputs(objective, objective.store, r) for r in found]
            records.extend(found)
            fold_outs.extend(outs)
            self.optimizer_results_.append(
                _search_callbacks.optimizer_result(found, piece.names, result))
            if k == 0:
                self.result_ = result
        return records, fold_outs

    def _optimize(self, objective: Any, piece: _search_params.Piece, seed: int | None,
                  study_name: str | None, extra: list[Any]) -> Result:
        """``ut.optimize`` with scikit-learn's failure rule: ``error_score='raise'``
        stops at the first failing fit and raises its own exception."""
        raise_errors = isinstance(self.error_score, str)
        options = self.options
        if piece.without_replacement:  # the random backend's options do not apply
            options = None
        try:
            result = optimize(objective, piece.space, backend=piece.backend,
                              direction="maximize", n_trials=piece.n_trials, seed=seed,
                              storage=self.storage, study_name=study_name, options=options,
                              n_workers=self.n_points,
                              callbacks=[*(self.callbacks or ()), *extra],
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
    def _candidates(result: Result, piece: _search_params.Piece) -> list[TrialRecord]:
        """Finished trials in the order of ``cv_results_``: ``ParameterGrid`` order for a
        grid (so ties break as in ``GridSearchCV``), the order they ran otherwise (as
        ``RandomizedSearchCV`` lists its samples)."""
        records = [r for r in result.trials if r.state.is_finished()
                   and not r.user_attrs.get(INTERRUPTED_ATTR)]
        space = piece.space
        assert space is not None
        if piece.in_grid_order or (not piece.without_replacement and
                                   not adapters.get(piece.backend).capabilities.continuous):
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

    def _refit(self, base: Any, X: Any, y: Any, fit_params: dict[str, Any],
               ctx: _search_callbacks.CallbackContexts) -> None:
        self.best_estimator_ = clone(base).set_params(**clone(self.best_params_, safe=False))
        start = time.time()

        def fit() -> None:
            if y is not None:
                self.best_estimator_.fit(X, y, **fit_params)
            else:
                self.best_estimator_.fit(X, **fit_params)

        ctx.refit(self.best_estimator_, fit)
        self.refit_time_ = time.time() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_
