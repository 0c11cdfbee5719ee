"""Any Python object as a categorical choice, every value list sklearn and skopt take,
and scipy.stats distributions without a native type (``unitune/space/_choices.py``,
``unitune/space/_scipy.py``): what the objective, the callbacks and the result get, and
what the ledger keeps."""

from __future__ import annotations

import json
import sqlite3
import zlib

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC
from test_conformance import FAST_OPTIONS

import unitune as ut
from unitune.adapters import backends
from unitune.space._choices import codec_for


def square(x):
    return x * x


LR, SVM, ARRAY = LogisticRegression(C=2.0), SVC(), np.array([1, 2])
OBJECTS = [LR, SVM, (1, 2), {"a": 1}, ARRAY, None, square, 1, 1]


def score(params):
    """Deterministic, different per choice (duplicates alike): engines keep exploring."""
    return (zlib.crc32(repr(sorted(params.items(), key=str)).encode()) % 1000) / 1000


def is_one_of(value, choices):
    return any(value is c for c in choices)


# Every backend but most of Ray's: its schedulers share ray:random's search space, and a
# Ray study costs some 20 s on a loaded machine (ray:pbt mutates choices: kept).
BACKENDS = [b for b in backends() if not b.name.startswith("ray:")
            or b.name in ("ray:random", "ray:pbt", "ray:optuna")]


@pytest.mark.parametrize("info", BACKENDS, ids=[b.name for b in BACKENDS])
def test_objects_through_every_backend_come_back_as_the_same_objects(info):
    space = ut.Space(c=ut.Categorical(OBJECTS), k=ut.Int(1, 3))
    seen = []
    result = ut.optimize(score, space, backend=info.name, n_trials=6, seed=0,
                         options=FAST_OPTIONS.get(info.name), callbacks=[seen.append])
    assert len(result.trials) == 6
    for trial in result.trials:
        assert trial.state is ut.TrialState.COMPLETE, trial.error
        assert is_one_of(trial.params["c"], OBJECTS), trial.params
    assert is_one_of(result.best_params["c"], OBJECTS)
    assert all(is_one_of(r.params["c"], OBJECTS) for r in seen)  # the callbacks' records
    assert result.space is space


def test_the_objective_gets_the_objects_themselves():
    got = []

    def objective(params, trial):
        got.append((params["c"], trial.params["c"]))
        return 0.0

    ut.optimize(objective, {"c": ut.Categorical(OBJECTS)}, backend="optuna:grid")
    assert len(got) == len(OBJECTS)  # the grid has each choice once, duplicates too
    for mine, trials in got:
        assert is_one_of(mine, OBJECTS) and mine is trials
    for choice in OBJECTS:
        assert any(mine is choice for mine, _ in got)


def test_duplicates_are_kept_as_sklearn_keeps_them():
    space = ut.Space.from_sklearn_grid({"C": [1, 1, 2], "kernel": ["rbf", "rbf"]})
    assert len(space.grid()) == 6
    result = ut.optimize(score, space, backend="optuna:grid")
    assert sorted(t.params["C"] for t in result.trials) == [1, 1, 1, 1, 2, 2]
    assert all(t.params["kernel"] == "rbf" for t in result.trials)
    # 1, 1.0 and True are three choices, each returned with its own type
    mixed = ut.optimize(score, {"v": ut.Categorical([1, 1.0, True])}, backend="optuna:grid")
    assert sorted(repr(t.params["v"]) for t in mixed.trials) == ["1", "1.0", "True"]


def test_range_ndarray_and_tuple_lists_give_python_values():
    space = ut.Space.coerce({"n": range(3), "lr": np.logspace(-2, 0, 3), "d": (4, 5)})
    assert space["n"].choices == (0, 1, 2)
    assert space["lr"].choices == (0.01, 0.1, 1.0)
    assert all(type(v) is float for v in space["lr"].choices)
    assert codec_for(space) is None  # plain values: stored as given, no mapping at all
    result = ut.optimize(score, space, backend="optuna:grid")
    assert len(result.trials) == 18
    assert {type(t.params["lr"]) for t in result.trials} == {float}
    assert ut.Space.from_sklearn_distributions({"a": np.arange(3)})["a"].choices == (0, 1, 2)


def test_the_ledger_keeps_readable_labels_no_pickle_and_resume_maps_them_back(tmp_path):
    path = tmp_path / "study.journal"
    space = ut.Space(c=ut.Categorical(OBJECTS))
    ut.optimize(score, space, backend="optuna:random", n_trials=5, seed=1,
                storage=str(path), study_name="s")
    text = path.read_text()
    for line in text.splitlines():
        json.loads(line)  # every record is JSON: nothing binary, no pickle
    assert "pickle" not in text and "\\x80" not in text
    for label in ("0: LogisticRegression(C=2.0)", "1: SVC()", "2: (1, 2)", "3: {'a': 1}",
                  "4: array([1, 2])", "5: None", "6: test_space_objects.square", "7: 1",
                  "8: 1"):
        assert label in text, label
    # the same space given again, as new objects: the stored trials come back as these
    again = [LogisticRegression(C=2.0), SVC(), (1, 2), {"a": 1}, np.array([1, 2]), None,
             square, 1, 1]
    result = ut.optimize(score, {"c": ut.Categorical(again)}, backend="optuna:random",
                         n_trials=8, seed=1, storage=str(path), study_name="s")
    assert len(result.trials) == 8
    assert all(is_one_of(t.params["c"], again) for t in result.trials)
    first = [LR, SVM, OBJECTS[3], ARRAY]  # the objects of the first run (not shared constants)
    assert not any(is_one_of(t.params["c"], first) for t in result.trials)
    # a choice that changed is another space
    with pytest.raises(ut.StudyMismatch, match="different space"):
        ut.optimize(score, {"c": ut.Categorical([LogisticRegression(C=3.0), *again[1:]])},
                    backend="optuna:random", n_trials=9, storage=str(path), study_name="s")


def test_sqlite_stores_the_labels(tmp_path):
    db = tmp_path / "s.db"
    ut.optimize(score, {"c": ut.Categorical([LR, SVM])}, backend="skopt:gp", n_trials=3,
                seed=0, storage=f"sqlite:///{db}", study_name="s")
    rows = sqlite3.connect(db).execute("SELECT distribution_json FROM trial_params").fetchall()
    assert rows and all("0: LogisticRegression(C=2.0)" in r[0] for r in rows)


def test_a_space_with_objects_cannot_be_written_as_data(tmp_path):
    space = ut.Space(clf=ut.Categorical([LR, SVM]), x=ut.Float(0, 1))
    with pytest.raises(ut.SpaceTypeError, match=r"^parameter 'clf': choice Logistic.*"
                       r"cannot be written as data") as info:
        space.to_dict()
    assert "\n" not in str(info.value)
    with pytest.raises(ut.SpaceTypeError, match="parameter 'clf'"):
        space.to_file(tmp_path / "space.yaml")


def test_scipy_expon_and_norm_are_sampled_faithfully_on_a_random_backend():
    space = ut.Space.coerce({"e": stats.expon(scale=2.0), "n": stats.norm(1.0, 3.0),
                             "p": stats.poisson(4)})
    result = ut.optimize(score, space, backend="optuna:random", n_trials=200, seed=0)
    e = [t.params["e"] for t in result.trials]
    n = [t.params["n"] for t in result.trials]
    p = [t.params["p"] for t in result.trials]
    assert {type(v) for v in e + n} == {float} and {type(v) for v in p} == {int}
    # the values themselves (not quantiles in (0, 1)) follow each distribution
    assert stats.kstest(e, stats.expon(scale=2.0).cdf).pvalue > 0.05
    assert stats.kstest(n, stats.norm(1.0, 3.0).cdf).pvalue > 0.05
    assert max(e) > 2 and min(n) < 0
    assert abs(np.mean(p) - 4) < 0.5


def test_unbounded_distributions_on_model_based_backends_search_the_quantile():
    space = ut.Space.coerce({"x": stats.norm(0.0, 3.0)})
    # a model-based (TPE) and an evolutionary backend; skopt:gp finds x = 2.01 the same way
    # (25 trials, seed 0) but takes a minute on a loaded machine
    for backend, options in (("optuna:tpe", None), ("pymoo:ga", {"pop_size": 8})):
        result = ut.optimize(lambda p: (p["x"] - 2.0) ** 2, space, backend=backend,
                             n_trials=25, seed=0, options=options)
        assert abs(result.best_params["x"] - 2.0) < 0.3, (backend, result.best_params)


def test_a_scipy_distribution_is_data_and_reads_back(tmp_path):
    space = ut.Space.coerce({"e": stats.expon(scale=2.0), "k": [1, 2]})
    assert space.to_dict()["e"] == {"type": "scipy", "dist": "expon", "args": [],
                                    "kwds": {"scale": 2.0}}
    space.to_file(tmp_path / "space.yaml")
    assert ut.Space.from_file(tmp_path / "space.yaml") == space
    with pytest.raises(ut.InvalidSpace, match="parameter 'e': dist='nope'"):
        ut.Space.from_dict({"e": {"type": "scipy", "dist": "nope"}})


@pytest.mark.parametrize("backend", ["optuna:grid", "optuna:tpe", "skopt:gp"])
def test_an_empty_grid_runs_the_defaults(backend):
    calls = []
    result = ut.optimize(lambda p: calls.append(p) or 1.0, ut.Space.from_sklearn_grid({}),
                         backend=backend, n_trials=None if backend == "optuna:grid" else 2)
    assert calls and all(p == {} for p in calls)
    assert all(t.params == {} for t in result.trials) and result.best_params == {}
    assert len(result.trials) == (1 if backend == "optuna:grid" else 2)


def test_an_empty_grid_on_pymoo_is_refused_there_is_nothing_to_search():
    with pytest.raises(ut.UnsupportedFeature, match="'pymoo:ga'.*nothing to search"):
        ut.optimize(score, ut.Space({}), backend="pymoo:ga", n_trials=2)


def test_an_empty_grid_in_a_list_of_grids_is_one_more_candidate():
    space = ut.Space.from_sklearn_grid([{}, {"C": [1, 2]}])
    result = ut.optimize(score, space, backend="optuna:grid")
    assert sorted(map(repr, (t.params for t in result.trials))) == ["{'C': 1}", "{'C': 2}",
                                                                    "{}"]


def test_the_ledger_records_the_value_drawn_beside_the_quantile(tmp_path):
    import optuna

    path = tmp_path / "study.journal"
    space = ut.Space.coerce({"e": stats.expon(scale=2.0), "k": [1, 2]})
    result = ut.optimize(score, space, backend="optuna:random", n_trials=4, seed=0,
                         storage=str(path), study_name="s")
    study = optuna.load_study(study_name="s", storage=ut.ledger.open_storage(str(path)))
    for trial, record in zip(study.trials, result.trials):
        q = trial.params["e"]  # engines resume from the quantile
        assert 0 < q < 1
        assert trial.system_attrs["unitune:drawn"] == {"e": record.params["e"]}
        assert record.params["e"] == stats.expon(scale=2.0).ppf(q)
    # and a resumed study (the space read back from the ledger too) goes on from them
    again = ut.optimize(score, space, backend="optuna:tpe", n_trials=6, seed=0,
                        storage=str(path), study_name="s")
    assert [t.params for t in again.trials[:4]] == [t.params for t in result.trials]
    assert ut.Space.from_dict(study.user_attrs["unitune:space"]) == space


def test_plots_draw_objects_as_their_labels_and_quantile_params_as_values():
    from unitune.plots import study_of

    space = ut.Space(c=ut.Categorical([SVM, {"a": 1}, ARRAY]), x=ut.Float(0, 1),
                     e=ut.Space.coerce({"e": stats.expon()})["e"])
    result = ut.optimize(score, space, backend="optuna:random", n_trials=6, seed=0)
    study = study_of(result)
    assert {t.params["c"] for t in study.trials} <= {"0: SVC()", "1: {'a': 1}",
                                                      "2: array([1, 2])"}
    assert [t.params["e"] for t in study.trials] == [t.params["e"] for t in result.trials]
    for kind in ("slice", "parallel"):
        result.plot(kind)


WORKER_FILE = '''
SPACE = {"ngram": [(1, 1), (1, 2)], "x": {"type": "float", "low": 0, "high": 1}}

def f(params):
    assert isinstance(params["ngram"], tuple), params  # the objects, not their labels
    return params["x"] + params["ngram"][1]
'''


def test_a_worker_joins_a_study_with_objects_through_the_files_space(tmp_path):
    import subprocess

    from test_workers import UNITUNE

    (tmp_path / "obj.py").write_text(WORKER_FILE)
    (tmp_path / "bare.py").write_text(WORKER_FILE.replace("SPACE =", "OTHER ="))

    def cli(*args):
        return subprocess.run([*UNITUNE, *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)

    run = cli("run", "obj.py:f", "--n-trials", "3", "--seed", "0", "--quiet")
    assert run.returncode == 0, run.stderr
    worker = cli("worker", "--study", "obj:f", "--objective-from-ledger", "--n-trials", "5")
    assert worker.returncode == 0, worker.stderr
    result = ut.load("obj:f", str(tmp_path / ".unitune" / "studies.journal"))
    assert [t.state for t in result.trials] == [ut.TrialState.COMPLETE] * 5
    assert {t.params["ngram"] for t in result.trials} <= {"0: (1, 1)", "1: (1, 2)"}
    refused = cli("worker", "bare.py:f", "--study", "obj:f", "--n-trials", "6")
    assert refused.returncode == 2
    assert "parameter 'ngram' has Python objects as choices" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
