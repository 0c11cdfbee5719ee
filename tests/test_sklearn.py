"""SearchCV: a drop-in for scikit-learn's search estimators with any unitune backend.

Real estimators on scikit-learn's bundled datasets; GridSearchCV/RandomizedSearchCV
are the reference wherever scikit-learn has an answer.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import randint, uniform
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import unitune as ut
from unitune.sklearn import SearchCV

SVC_GRID = {"C": [0.1, 1, 10], "kernel": ["rbf", "linear"], "gamma": ["scale", "auto", 0.1, 1]}
RF_DISTRIBUTIONS = {"n_estimators": randint(5, 25), "max_depth": randint(2, 6),
                    "max_features": uniform(0.2, 0.6)}
# The backends the issue names, as they are registered (skopt/ray land in parallel).
TUNERS = [b.name for b in ut.backends()
          if b.name in ("optuna:tpe", "skopt:gp", "ray:random") and b.installed]


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y  # scaled so that the linear SVC converges fast


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


def _assert_same_results(ours: dict, ref: dict) -> None:
    """Same keys, same candidates in the same order, same scores (times aside)."""
    assert sorted(ours) == sorted(ref)
    assert ours["params"] == ref["params"]
    for key in ref:
        if "time" in key or key == "params":
            continue
        np.testing.assert_array_equal(np.asarray(ours[key]), np.asarray(ref[key]), err_msg=key)
        if key.startswith("param_"):
            np.testing.assert_array_equal(ours[key].mask, ref[key].mask, err_msg=key)
            assert ours[key].dtype == ref[key].dtype, key


def test_grid_backend_reproduces_gridsearchcv_exactly(wine):
    X, y = wine
    ref = GridSearchCV(SVC(), SVC_GRID, cv=5).fit(X, y)
    ours = SearchCV(SVC(), SVC_GRID, backend="optuna:grid", cv=5, seed=3).fit(X, y)
    # gamma='scale' and 'auto' are the same number on standardised data, so the best
    # score is tied: best_params_ must follow GridSearchCV's tie-break (ParameterGrid order)
    # although the grid sampler ran the points in a random order.
    assert np.sum(ref.cv_results_["rank_test_score"] == 1) > 1
    assert ours.best_params_ == ref.best_params_
    assert ours.best_score_ == ref.best_score_
    assert ours.best_index_ == ref.best_index_
    _assert_same_results(ours.cv_results_, ref.cv_results_)
    assert len(ours.result_.trials) == 3 * 2 * 4  # the whole grid, each point once
    assert ours.n_splits_ == 5


def test_union_grid_is_evaluated_exactly_with_masked_params(wine):
    X, y = wine
    grid = [{"kernel": ["linear"], "C": [0.1, 1]},
            {"kernel": ["rbf"], "C": [1, 10], "gamma": ["scale", 0.1]}]
    ref = GridSearchCV(SVC(), grid, cv=3).fit(X, y)
    ours = SearchCV(SVC(), grid, backend="optuna:grid", cv=3).fit(X, y)
    assert ours.best_params_ == ref.best_params_
    _assert_same_results(ours.cv_results_, ref.cv_results_)


@pytest.mark.parametrize("backend", TUNERS)
def test_random_forest_distributions_give_typed_params_and_sklearn_cv_results(cancer, backend):
    X, y = cancer
    n_trials = 3
    ours = SearchCV(RandomForestClassifier(random_state=0), RF_DISTRIBUTIONS, backend=backend,
                    n_trials=n_trials, cv=3, seed=0).fit(X, y)
    ref = RandomizedSearchCV(RandomForestClassifier(random_state=0), RF_DISTRIBUTIONS,
                             n_iter=2, cv=3, random_state=0).fit(X, y)
    for params in ours.cv_results_["params"]:
        assert type(params["n_estimators"]) is int and 5 <= params["n_estimators"] <= 24
        assert type(params["max_depth"]) is int and 2 <= params["max_depth"] <= 5
        assert type(params["max_features"]) is float and 0.2 <= params["max_features"] <= 0.8
    ours_df, ref_df = pd.DataFrame(ours.cv_results_), pd.DataFrame(ref.cv_results_)
    assert list(ours_df.columns) == list(ref_df.columns)
    assert dict(ours_df.dtypes) == dict(ref_df.dtypes)
    assert len(ours_df) == n_trials
    # best_* are the row of rank 1, and the refitted forest has the best parameters
    best = ours_df.loc[ours_df["rank_test_score"].idxmin()]
    assert ours.best_params_ == best["params"] and ours.best_score_ == best["mean_test_score"]
    assert ours.best_estimator_.get_params()["n_estimators"] == ours.best_params_["n_estimators"]
    # the ledger holds the same candidates with their mean score as the trial value
    values = {r.number: r.value for r in ours.result_.trials}
    assert sorted(values.values()) == sorted(ours_df["mean_test_score"])


def test_pruning_stops_candidates_before_their_last_fold(cancer):
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    # Tiny C underfits badly: those candidates trail from the first fold on.
    space = ut.Space({"logisticregression__C": ut.Float(1e-6, 10.0, log=True)})
    search = SearchCV(pipe, space, n_trials=16, cv=5, seed=0, pruning=True,
                      backend="optuna:random").fit(X, y)
    states = [r.state for r in search.result_.trials]
    res = search.cv_results_
    last = res["split4_test_score"]
    pruned = [i for i in range(len(last)) if math.isnan(res["mean_test_score"][i])]
    assert states.count(ut.TrialState.PRUNED) == len(pruned) > 0
    for i in pruned:  # fitted on the first folds only, never on the last, and ranked last
        assert not math.isnan(res["split0_test_score"][i]) and math.isnan(last[i])
        assert res["rank_test_score"][i] == res["rank_test_score"].max()
    # the pruner saw the running mean of the folds as the steps of each pruned trial
    for r in search.result_.trials:
        if r.state is ut.TrialState.PRUNED:
            row = res["params"].index(dict(r.params))
            folds = [res[f"split{k}_test_score"][row] for k in r.intermediate]
            assert r.intermediate[max(r.intermediate)] == pytest.approx(np.mean(folds))
    assert not math.isnan(search.best_score_)


def test_xgboost_recipe_reports_pruned_candidates():
    out = subprocess.run(
        [sys.executable, "recipes/searchcv_xgboost.py", "--n-trials", "6", "--cv", "3"],
        capture_output=True, text=True, timeout=300, check=True,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    lines = out.stdout.splitlines()
    assert lines[0].startswith("maximize 3-fold accuracy of an XGBoost pipeline with "
                               "optuna:tpe, 6 trials")
    assert lines[1].startswith("pruning: optuna:tpe may stop a candidate")
    assert sum(line.startswith("trial ") for line in lines) == 6
    summary = next(line for line in lines if line.startswith("backend "))
    found = re.fullmatch(r"backend optuna:tpe: 6 candidates, (\d+) completed, (\d+) pruned "
                         r"before the last fold \((\d+) of 18 fold fits saved\), (\d+) failed",
                         summary)
    assert found, summary
    completed, pruned, saved, failed = map(int, found.groups())
    assert completed + pruned + failed == 6
    assert saved >= pruned  # each pruned candidate skipped at least its last fold
    test_accuracy = float(lines[-1].rsplit(" ", 1)[1])
    assert lines[-1].startswith("held-out test accuracy") and 0.5 < test_accuracy <= 1.0


def test_xgboost_recipe_runs_without_pruning_on_a_backend_that_does_not_prune():
    # it used to pass pruning=True whatever the backend: skopt:gp was refused
    from recipes.searchcv_xgboost import run

    report = run(backend="skopt:gp", n_trials=3, cv=2)
    assert report.backend == "skopt:gp" and not report.pruning
    assert report.completed == 3 and report.pruned_before_last_fold == 0


def test_multimetric_scoring_with_refit_metric_matches_gridsearchcv(cancer):
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    grid = {"logisticregression__C": [0.001, 0.1, 10.0]}
    kwargs = dict(cv=3, scoring=["accuracy", "roc_auc"], refit="roc_auc")
    ref = GridSearchCV(pipe, grid, **kwargs).fit(X, y)
    ours = SearchCV(pipe, grid, backend="optuna:grid", **kwargs).fit(X, y)
    assert ours.best_params_ == ref.best_params_ and ours.best_score_ == ref.best_score_
    _assert_same_results(ours.cv_results_, ref.cv_results_)
    assert ours.multimetric_ and sorted(ours.scorer_) == ["accuracy", "roc_auc"]
    assert ours.score(X, y) == ref.score(X, y)  # the refit metric, like GridSearchCV
    # the backend optimised the refit metric
    assert ours.result_.best_value == pytest.approx(ref.best_score_)
    # refit=False: every metric is reported, no best (scikit-learn cannot choose one)
    bare = SearchCV(pipe, grid, backend="optuna:grid", cv=3, scoring=["accuracy", "roc_auc"],
                    refit=False).fit(X, y)
    _assert_same_results(bare.cv_results_, ref.cv_results_)
    assert not hasattr(bare, "best_params_") and not hasattr(bare, "best_estimator_")
    # refit=callable chooses the candidate from cv_results_, as in GridSearchCV

    def least_accurate(results: dict) -> int:
        return int(np.argmin(results["mean_test_accuracy"]))

    kwargs["refit"] = least_accurate
    chosen = SearchCV(pipe, grid, backend="optuna:grid", **kwargs).fit(X, y)
    ref = GridSearchCV(pipe, grid, **kwargs).fit(X, y)
    assert chosen.best_index_ == ref.best_index_ and chosen.best_params_ == ref.best_params_
    assert not hasattr(chosen, "best_score_")
    np.testing.assert_array_equal(chosen.predict(X), ref.predict(X))


def test_fitted_search_delegates_to_the_refitted_estimator(cancer):
    X, y = cancer
    search = SearchCV(SVC(), {"C": [0.1, 1.0]}, backend="optuna:grid", cv=3).fit(X, y)
    best = search.best_estimator_
    np.testing.assert_array_equal(search.predict(X), best.predict(X))
    np.testing.assert_array_equal(search.decision_function(X), best.decision_function(X))
    assert search.score(X, y) == best.score(X, y)
    np.testing.assert_array_equal(search.classes_, [0, 1])
    assert search.refit_time_ >= 0 and search.scorer_ is not None
    assert not hasattr(search, "predict_proba")  # SVC(probability=False) has none either
    proba = SearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                     {"logisticregression__C": [1.0]}, backend="optuna:grid", cv=2).fit(X, y)
    np.testing.assert_array_equal(proba.predict_proba(X),
                                  proba.best_estimator_.predict_proba(X))
    # an unsupervised transformer: y=None, scored by PCA.score, transform delegated
    pca = SearchCV(PCA(), {"n_components": [2, 5]}, backend="optuna:grid", cv=3).fit(X)
    assert pca.best_params_ == GridSearchCV(PCA(), {"n_components": [2, 5]}, cv=3).fit(X).best_params_
    np.testing.assert_array_equal(pca.transform(X), pca.best_estimator_.transform(X))
    no_refit = SearchCV(SVC(), {"C": [0.1, 1.0]}, backend="optuna:grid", cv=3,
                        refit=False).fit(X, y)
    assert no_refit.best_params_ == search.best_params_
    with pytest.raises(AttributeError, match="predict") as exc:
        no_refit.predict(X)
    assert "refit=False" in str(exc.value) + str(exc.value.__cause__)


def test_clone_get_params_set_params_follow_sklearn():
    search = SearchCV(SVC(), SVC_GRID, backend="optuna:grid", n_trials=None, seed=1)
    params = search.get_params()
    assert params["space"] == SVC_GRID and params["backend"] == "optuna:grid"
    assert params["estimator__C"] == 1.0  # nested estimator parameters, as GridSearchCV
    copy = clone(search)
    assert copy.get_params()["space"] == SVC_GRID and copy.space is not search.space
    copy.set_params(backend="optuna:tpe", n_trials=4, estimator__C=5.0)
    assert copy.backend == "optuna:tpe" and copy.estimator.C == 5.0
    assert search.backend == "optuna:grid" and search.estimator.C == 1.0
    space = ut.Space(C=ut.Float(0.1, 10.0, log=True))
    assert clone(SearchCV(SVC(), space)).space == space


def test_fit_errors_follow_error_score_like_gridsearchcv(cancer):
    X, y = cancer
    X = StandardScaler().fit_transform(X)
    grid = {"C": [-1.0, 1.0]}  # C must be > 0: the fit raises for -1
    for error_score in (np.nan, 0.0):
        with pytest.warns(FitFailedWarning):
            ref = GridSearchCV(SVC(), grid, cv=3, error_score=error_score).fit(X, y)
        with pytest.warns(FitFailedWarning):
            ours = SearchCV(SVC(), grid, backend="optuna:grid", cv=3,
                            error_score=error_score).fit(X, y)
        _assert_same_results(ours.cv_results_, ref.cv_results_)
        assert ours.best_params_ == {"C": 1.0}
        failed = [r for r in ours.result_.trials if r.params["C"] == -1.0][0]
        # nan: the trial failed in the ledger; a number: it completed with that score
        expected = ut.TrialState.FAIL if math.isnan(error_score) else ut.TrialState.COMPLETE
        assert failed.state is expected
    with pytest.raises(ValueError, match="'C' parameter of SVC") as ref_exc:
        GridSearchCV(SVC(), grid, cv=3, error_score="raise").fit(X, y)
    with pytest.raises(ValueError, match="'C' parameter of SVC") as our_exc:
        SearchCV(SVC(), grid, backend="optuna:grid", cv=3, error_score="raise").fit(X, y)
    assert type(our_exc.value) is type(ref_exc.value)


def test_bad_input_fails_before_any_trial_with_a_named_error(cancer, tmp_path):
    X, y = cancer
    store = tmp_path / "ledger.journal"

    def fit(estimator, space, **kwargs):
        return SearchCV(estimator, space, storage=str(store), **kwargs).fit(X, y)

    with pytest.raises(ut.InvalidSpace, match=r"'svc__CC'.*did you mean 'svc__C'"):
        fit(make_pipeline(StandardScaler(), SVC()), {"svc__CC": [1.0]})
    with pytest.raises(ut.UnknownBackend, match="optuna:nope"):
        fit(SVC(), {"C": [1.0]}, backend="optuna:nope")
    with pytest.raises(ut.InvalidOption, match="n_trials"):
        fit(SVC(), {"C": [1.0]}, n_trials=0)
    with pytest.raises(ut.InvalidOption, match="error_score"):
        fit(SVC(), {"C": [1.0]}, error_score="ignore")
    with pytest.raises(ut.InvalidOption, match="refit"):
        fit(SVC(), {"C": [1.0]}, scoring=["accuracy", "f1"], refit=True)
    for info in ut.backends():
        if not info.capabilities.pruning and info.installed:
            with pytest.raises(ut.UnsupportedFeature, match="pruning"):
                fit(SVC(), {"C": [1.0, 2.0]}, backend=info.name, pruning=True)
    assert not store.exists()  # no study was created, no trial ran


def test_n_jobs_fits_folds_in_parallel_with_identical_results(cancer):
    X, y = cancer
    kwargs = dict(backend="optuna:tpe", n_trials=3, cv=3, seed=0)
    serial = SearchCV(RandomForestClassifier(random_state=0), RF_DISTRIBUTIONS, **kwargs)
    parallel = clone(serial).set_params(n_jobs=2)
    serial.fit(X, y)
    parallel.fit(X, y)
    assert parallel.cv_results_["params"] == serial.cv_results_["params"]
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])


def test_fit_params_and_storage_reach_the_estimator_and_the_ledger(cancer, tmp_path):
    X, y = cancer
    X = StandardScaler().fit_transform(X)
    weights = np.where(y == 1, 1.0, 3.0)
    grid = {"C": [0.01, 1.0]}
    ref = GridSearchCV(LogisticRegression(), grid, cv=3).fit(X, y, sample_weight=weights)
    store = tmp_path / "ledger.journal"
    ours = SearchCV(LogisticRegression(), grid, backend="optuna:grid", cv=3,
                    storage=str(store), study_name="lr").fit(X, y, sample_weight=weights)
    _assert_same_results(ours.cv_results_, ref.cv_results_)
    stored = ut.load("lr", str(store))
    assert sorted(r.value for r in stored.trials) == sorted(ours.cv_results_["mean_test_score"])
    # fitting the same study again finds the grid done: no new trial, the same results
    again = clone(ours).fit(X, y, sample_weight=weights)
    assert len(ut.load("lr", str(store)).trials) == len(grid["C"])
    _assert_same_results(again.cv_results_, ref.cv_results_)


def test_importing_unitune_does_not_import_sklearn():
    code = "import sys, unitune; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_non_finite_warning_is_not_raised_for_pruned_candidates(cancer):
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    space = ut.Space({"logisticregression__C": ut.Float(1e-6, 10.0, log=True)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        search = SearchCV(pipe, space, n_trials=12, cv=4, seed=1, pruning=True,
                          backend="optuna:random").fit(X, y)
    assert any(r.state is ut.TrialState.PRUNED for r in search.result_.trials)


def test_skopt_dimensions_and_ut_space_are_accepted_as_the_space(wine):
    from skopt.space import Categorical, Integer, Real

    X, y = wine
    dims = [Real(0.01, 10.0, prior="log-uniform", name="C"),
            Categorical(["rbf", "linear"], name="kernel"), Integer(2, 4, name="degree")]
    search = SearchCV(SVC(), dims, backend="optuna:tpe", n_trials=3, cv=3, seed=0).fit(X, y)
    for params in search.cv_results_["params"]:
        assert 0.01 <= params["C"] <= 10.0 and params["kernel"] in ("rbf", "linear")
        assert type(params["degree"]) is int and 2 <= params["degree"] <= 4
    assert search.best_estimator_.get_params()["kernel"] == search.best_params_["kernel"]


def _pruned_logistic_search(X, y, **kwargs):
    """The pruning set-up above: tiny C underfits from the first fold on."""
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    space = ut.Space({"logisticregression__C": ut.Float(1e-6, 10.0, log=True)})
    return SearchCV(pipe, space, n_trials=16, cv=5, seed=0, pruning=True,
                    backend="optuna:random", **kwargs).fit(X, y)


def test_options_choose_the_pruner_over_the_backends_default(cancer):
    X, y = cancer
    default = _pruned_logistic_search(X, y)
    nop = _pruned_logistic_search(X, y, options={"pruner": "none"})
    floor = _pruned_logistic_search(
        X, y, options={"pruner": "threshold", "pruner_options": {"lower": 0.9}})

    def pruned(search):
        return [r.state is ut.TrialState.PRUNED for r in search.result_.trials]

    # the random sampler proposes the same candidates whatever the pruner
    assert default.cv_results_["params"] == nop.cv_results_["params"] \
        == floor.cv_results_["params"]
    # median (the default) prunes; "none" fits every fold of every candidate
    assert any(pruned(default)) and not any(pruned(nop))
    assert np.all(np.isfinite(nop.cv_results_["mean_test_score"]))
    assert all(len(r.intermediate) == 4 for r in nop.result_.trials)  # still reported
    # the threshold pruner stops exactly the candidates whose first fold scores below
    # 0.9 (its rule needs no other trial, unlike the median's 5 start-up trials),
    # right after that fold
    first = nop.cv_results_["split0_test_score"]
    assert pruned(floor) == [bool(s < 0.9) for s in first] and any(pruned(floor))
    for r in floor.result_.trials:
        if r.state is ut.TrialState.PRUNED:
            assert list(r.intermediate) == [0]
    # the candidates nobody pruned have the same scores, and the best is the same
    assert nop.best_params_ == default.best_params_ == floor.best_params_
    assert nop.best_score_ == default.best_score_ == floor.best_score_


def test_options_survive_clone_and_set_params():
    options = {"pruner": "hyperband", "pruner_options": {"reduction_factor": 2}}
    search = SearchCV(SVC(), {"C": [1.0]}, pruning=True, options=options)
    assert search.get_params()["options"] == options
    copy = clone(search)
    assert copy.options == options and copy.options is not options  # deep-copied, as sklearn
    copy.set_params(options={"n_startup_trials": 2})
    assert copy.options == {"n_startup_trials": 2} and search.options == options
    assert SearchCV(SVC(), {"C": [1.0]}).options is None


def test_callbacks_see_each_candidate_as_it_finishes(wine):
    X, y = wine
    seen: list[ut.TrialRecord] = []
    folds_fitted = []  # when each callback ran: the fits done so far

    def progress(record: ut.TrialRecord) -> None:
        seen.append(record)
        folds_fitted.append(_CountingSVC.fits)

    _CountingSVC.fits = 0
    grid = {"C": [0.1, 1, 10], "kernel": ["rbf", "linear"]}
    search = SearchCV(_CountingSVC(), grid, backend="optuna:grid", cv=3,
                      callbacks=[progress]).fit(X, y)
    # one call per candidate, as it finished (its 3 folds fitted, the next not begun)
    assert [r.number for r in seen] == [r.number for r in search.result_.trials]
    assert folds_fitted == [3 * k for k in range(1, 7)]
    means = dict(zip(map(repr, search.cv_results_["params"]),
                     search.cv_results_["mean_test_score"]))
    for r in seen:
        assert r.values[0] == means[repr(dict(r.params))]
    with pytest.raises(ut.InvalidOption, match="'callbacks' parameter"):
        SearchCV(SVC(), grid, callbacks=progress).fit(X, y)  # one callable, not a list


class _CountingSVC(SVC):
    fits = 0

    def fit(self, X, y, sample_weight=None):
        type(self).fits += 1
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize(("options", "kwargs", "match"), [
    ({"pruner": "hyperbandd"}, {"pruning": True}, "pruner='hyperbandd'"),
    ({"n_startup_trial": 2}, {}, "'n_startup_trial'.*optuna:tpe"),
    ({"pruner": "percentile", "pruner_options": {"percentile": 250.0}}, {"pruning": True},
     "pruner_options.*percentile"),
    ({"n_initial_points": 2}, {"backend": "skopt:gp"}, None),  # accepted: see below
    ({"pop_size": 1}, {"backend": "pymoo:ga"}, "pop_size"),
    ({"pruner": "median"}, {}, "pruner='median'.*pruning=False"),
    ("hyperband", {}, "'options' parameter"),
])
def test_bad_options_fail_before_any_fit_naming_the_option(cancer, options, kwargs, match):
    X, y = cancer
    _CountingSVC.fits = 0
    search = SearchCV(_CountingSVC(), {"C": [0.5, 1.0, 2.0]}, n_trials=3, cv=2, seed=0,
                      options=options, **kwargs)
    if match is None:  # a good option of another backend goes through to it
        search.fit(X, y)
        assert _CountingSVC.fits > 0 and len(search.result_.trials) == 3
        return
    with pytest.raises(ut.InvalidOption, match=match):
        search.fit(X, y)
    assert _CountingSVC.fits == 0
