"""SearchCV takes scikit-learn's signature and keeps its promises where GridSearchCV /
RandomizedSearchCV do: sampling without replacement, random_state, the space by its
sklearn name, set_params, names checked by set_params, sklearn's callbacks and its error
messages. Then: scikit-learn's own search tests and check_estimator, on SearchCV."""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
from scipy.stats import uniform
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._testing import set_random_state

import unitune as ut
from unitune.sklearn import SearchCV

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "tests" / "compat" / "run_sklearn_search_tests.py"


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def tree():
    return DecisionTreeClassifier(random_state=0)


def test_random_backend_samples_a_list_space_without_replacement_up_to_its_size(iris):
    X, y = iris
    grid = {"max_depth": [1, 2], "criterion": ["gini", "entropy"]}  # 4 points
    with pytest.warns(UserWarning, match=re.escape(
            "The total space of parameters 4 is smaller than n_iter=10. Running 4 "
            "iterations. For exhaustive searches, use GridSearchCV.")):
        ours = SearchCV(tree(), param_distributions=grid, backend="optuna:random",
                        n_trials=10, cv=2, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="The total space of parameters 4"):
        ref = RandomizedSearchCV(tree(), grid, n_iter=10, cv=2, random_state=0).fit(X, y)
    # the whole grid once each, listed in grid order as RandomizedSearchCV does then
    assert ours.cv_results_["params"] == ref.cv_results_["params"]
    # fewer than the grid: distinct points, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        some = SearchCV(tree(), grid, backend="optuna:random", n_trials=3, cv=2,
                        random_state=1).fit(X, y)
    params = [tuple(sorted(p.items())) for p in some.cv_results_["params"]]
    assert len(params) == len(set(params)) == 3


def test_random_state_int_randomstate_none_and_seed_alias(iris):
    X, y = iris
    space = {"min_samples_split": uniform(0.1, 0.5)}
    est = tree()

    def run(**kw):
        return SearchCV(est, space, backend="optuna:random", n_trials=3, cv=2, **kw).fit(
            X, y).cv_results_["params"]

    assert run(random_state=3) == run(seed=3) == run(random_state=3, seed=3)
    assert run(random_state=np.random.RandomState(5)) == run(
        random_state=np.random.RandomState(5))
    with pytest.raises(ut.InvalidOption, match="random_state=1 and seed=2 disagree"):
        run(random_state=1, seed=2)
    # scikit-learn's test helper seeds every estimator through its random_state
    search = SearchCV(est, space, backend="optuna:random", n_trials=2, cv=2)
    set_random_state(search, 7)
    assert search.random_state == 7


def test_space_by_each_librarys_name_and_set_params_on_all_of_them(iris):
    X, y = iris
    for name in ("param_grid", "param_distributions", "search_spaces"):
        search = SearchCV(tree(), backend="optuna:grid", cv=2, **{name: {"max_depth": [1, 2]}})
        assert len(search.fit(X, y).cv_results_["params"]) == 2
        search.set_params(**{name: {"max_depth": [1, 2, 3]}})
        assert len(clone(search).fit(X, y).cv_results_["params"]) == 3
    with pytest.raises(ut.InvalidOption, match="exactly one of space=.*got space= and "
                                               "param_grid="):
        SearchCV(tree(), {"max_depth": [1]}, param_grid={"max_depth": [2]}).fit(X, y)
    # pre_dispatch is joblib's, as in GridSearchCV; n_points runs candidates side by side
    search = SearchCV(tree(), {"max_depth": [1, 2, 3]}, backend="optuna:grid", cv=2,
                      n_jobs=1, pre_dispatch="n_jobs", n_points=2).fit(X, y)
    assert sorted(p["max_depth"] for p in search.cv_results_["params"]) == [1, 2, 3]


class AnyParams(ClassifierMixin, BaseEstimator):
    """Its set_params takes any name (as some third-party estimators do)."""

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_names_are_checked_by_set_params_itself(iris):
    X, y = iris
    # a name get_params does not list, but set_params accepts: searched, as GridSearchCV does
    ours = SearchCV(AnyParams(), {"anything": [1, 2]}, backend="optuna:grid", cv=2).fit(X, y)
    ref = GridSearchCV(AnyParams(), {"anything": [1, 2]}, cv=2).fit(X, y)
    assert ours.cv_results_["params"] == ref.cv_results_["params"]
    # a wrong one: set_params's own message, before any fit
    with pytest.raises(ut.InvalidSpace, match=r"parameter 'max_dept': Invalid parameter "
                       r"'max_dept' for estimator DecisionTreeClassifier\(random_state=0\)\. "
                       r"Valid parameters are: \[.*\]\.; did you mean 'max_depth'\?"):
        SearchCV(tree(), {"max_dept": [1]}, backend="optuna:grid").fit(X, y)


def _objects_as_choices() -> bool:
    try:
        ut.Space.coerce({"model": [tree()]})
    except ut.SpaceTypeError:
        return False
    return True


# Estimators as choices are the space's work (branch h-obj): until it is merged, the
# tests that need them fail on that refusal, and must pass once it is.
needs_objects = pytest.mark.xfail(not _objects_as_choices(), strict=True,
                                  raises=ut.SpaceTypeError,
                                  reason="estimator objects as choices: branch h-obj")


@needs_objects
def test_a_step_the_space_chooses_takes_the_chosen_estimators_parameters(iris):
    X, y = iris
    pipe = Pipeline([("model", LogisticRegression())])  # LogisticRegression has no max_depth
    space = {"model": [tree()], "model__max_depth": [1, 2]}
    ours = SearchCV(pipe, space, backend="optuna:grid", cv=2).fit(X, y)
    ref = GridSearchCV(pipe, space, cv=2).fit(X, y)
    assert [p["model__max_depth"] for p in ours.cv_results_["params"]] == [1, 2]
    assert ours.best_score_ == ref.best_score_


class InconsistentSplitter(KFold):
    def get_n_splits(self, X=None, y=None, groups=None):
        return 3


def test_sklearns_messages_for_an_empty_cv_an_inconsistent_splitter_and_scalars(iris):
    X, y = iris
    with pytest.raises(ValueError, match="No fits were performed. Was the CV iterator "
                                         "empty\\? Were there no candidates\\?"):
        SearchCV(tree(), {"max_depth": [1]}, backend="optuna:grid", cv=[]).fit(X, y)
    with pytest.raises(ValueError, match="cv.split and cv.get_n_splits return inconsistent "
                                         "results. Expected 3 splits, got 2"):
        SearchCV(tree(), {"max_depth": [1]}, backend="optuna:grid",
                 cv=InconsistentSplitter(2)).fit(X, y)
    with pytest.raises(TypeError, match=re.escape(
            "Parameter grid for parameter 'max_depth' needs to be a list or a numpy array, "
            "but got 1 (of type int) instead. Single values need to be wrapped in a list "
            "with one element.")):
        SearchCV(tree(), {"max_depth": 1}, backend="optuna:grid").fit(X, y)
    with pytest.raises(TypeError, match=re.escape(
            "Parameter grid for parameter 'max_depth' is not iterable or a distribution "
            "(value=1)")):
        SearchCV(tree(), {"max_depth": 1}, backend="optuna:random").fit(X, y)
    with pytest.raises(ValueError, match=re.escape(
            "Parameter grid for parameter 'max_depth' need to be a non-empty sequence, "
            "got: []")):
        SearchCV(tree(), {"max_depth": []}, backend="optuna:grid").fit(X, y)


def test_an_empty_grid_is_one_candidate_the_estimators_defaults(iris):
    X, y = iris
    ours = SearchCV(tree(), {}, backend="optuna:grid", cv=2).fit(X, y)
    ref = GridSearchCV(tree(), {}, cv=2).fit(X, y)
    assert ours.cv_results_["params"] == ref.cv_results_["params"] == [{}]
    assert ours.best_score_ == ref.best_score_


class Recording:
    """A scikit-learn callback (1.9's protocol) that counts its hooks by task."""

    def __init__(self):
        self.calls = collections.Counter()

    def setup(self, estimator, context):
        self.calls["setup"] += 1

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.calls[("begin", context.task_name)] += 1
        assert estimator is self.search

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.calls[("end", context.task_name)] += 1

    def teardown(self, estimator, context):
        self.calls["teardown"] += 1


@pytest.mark.skipif(not hasattr(GridSearchCV, "set_callbacks"),
                    reason="scikit-learn's callbacks came with 1.9")
@pytest.mark.parametrize("refit", [True, False])
def test_sklearn_callbacks_are_called_as_gridsearchcv_calls_them(iris, refit):
    X, y = iris
    grid = {"max_depth": [1, 2, 3]}
    counts = []
    for search in (GridSearchCV(tree(), grid, cv=2, refit=refit),
                   SearchCV(tree(), grid, backend="optuna:grid", cv=2, refit=refit)):
        callback = Recording()
        callback.search = search
        search.set_callbacks(callback).fit(X, y)
        counts.append(callback.calls)
    assert counts[1] == counts[0]
    assert counts[0][("begin", "candidate-split-evaluation")] == 3 * 2


def test_check_estimator_passes_every_check():
    from sklearn.utils.estimator_checks import check_estimator

    search = SearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, backend="optuna:grid", cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(search, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 50


def test_scikit_learns_own_search_tests_pass_on_searchcv():
    """tests/compat/run_sklearn_search_tests.py: every failure is one it documents, and
    at least 140 of the 141 tests that pass on scikit-learn 1.9.1 pass (the issue asked
    136; the bar is what holds, so a regression shows)."""
    if not (Path(sklearn.__file__).parent / "model_selection/tests/test_search.py").exists():
        pytest.skip("this scikit-learn was installed without its tests")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(RUNNER)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=1200)
    summary = proc.stdout[proc.stdout.rfind("\nscikit-learn "):]
    assert proc.returncode == 0, summary or proc.stderr[-3000:]
    assert "UNEXPECTED" not in summary
    passed = int(re.search(r"^passed (\d+), failed", summary, re.M).group(1))
    needed = int(re.search(r"at least (\d+) needed", summary).group(1))
    assert needed >= 136  # the bar
    assert passed >= needed
