"""Conditional parameters (``when=``) as a user declares them: the forms of a
condition, the checks before any trial (one line naming the parameter), the YAML/dict
forms, a list of param grids searched as a conditional space, and the backends'
``conditional`` column."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sklearn.datasets import load_wine
from sklearn.svm import SVC

import unitune as ut
from unitune.sklearn import SearchCV

MODELS = ut.Space(
    model=ut.Categorical(["svm", "rf", "knn"]),
    C=ut.Float(1e-3, 1e3, log=True, when={"model": "svm"}),
    kernel=ut.Categorical(["rbf", "poly"], when={"model": "svm"}),
    degree=ut.Int(2, 5, when={"kernel": "poly"}),
    depth=ut.Int(1, 10, when={"model": ["rf"]}),
    leaf=ut.Int(1, 5, when={"depth": (">=", 3)}),
    n_layers=ut.Int(1, 4, when={"model": ["knn", "rf"]}),
    units_l3=ut.Int(8, 64, when={"n_layers": (">=", 3), "model": "knn"}),
)


def test_active_params_follow_values_sets_comparisons_and_nesting():
    assert MODELS.conditional and not ut.Space(x=ut.Float(0, 1)).conditional
    assert MODELS.active({"model": "svm", "kernel": "rbf"}) == ["model", "C", "kernel"]
    assert "degree" in MODELS.active({"model": "svm", "kernel": "poly"})
    # nested: degree's parent kernel is inactive for rf, so degree is too
    assert MODELS.active({"model": "rf", "kernel": "poly", "depth": 2, "n_layers": 1}) == [
        "model", "depth", "n_layers"]
    assert "leaf" in MODELS.active({"model": "rf", "depth": 3, "n_layers": 1})
    # several keys: all must hold
    assert "units_l3" not in MODELS.active({"model": "rf", "depth": 1, "n_layers": 4})
    assert "units_l3" in MODELS.active({"model": "knn", "n_layers": 3})
    assert MODELS.contains({"model": "knn", "n_layers": 3, "units_l3": 8})
    assert not MODELS.contains({"model": "knn", "n_layers": 3})  # an active one missing
    assert not MODELS.contains({"model": "knn", "n_layers": 1, "units_l3": 8})  # inactive given
    assert MODELS.prune({"model": "knn", "n_layers": 1, "units_l3": 8, "C": 1.0}) == {
        "model": "knn", "n_layers": 1}


def test_dict_and_yaml_forms_keep_the_conditions(tmp_path):
    spec = MODELS.to_dict()
    assert spec["C"]["when"] == {"model": "svm"}
    assert spec["leaf"]["when"] == {"depth": [">=", 3]}
    assert ut.Space.from_dict(spec) == MODELS
    for name in ("space.yaml", "space.json"):
        MODELS.to_file(tmp_path / name)
        assert ut.Space.from_file(tmp_path / name) == MODELS
    (tmp_path / "hand.yaml").write_text(
        "model: [svm, knn]\n"
        "C: {type: float, low: 0.1, high: 10, log: true, when: {model: svm}}\n"
        "k: {type: int, low: 1, high: 9, when: {model: [knn]}}\n")
    hand = ut.Space.from_file(tmp_path / "hand.yaml")
    assert hand.active({"model": "knn"}) == ["model", "k"]


@pytest.mark.parametrize("params, message", [
    (dict(a=ut.Categorical([1, 2]), b=ut.Float(0, 1, when={"z": 1})),
     "parameter 'b': when={'z': 1} names 'z', which is not a parameter of the space"),
    (dict(a=ut.Categorical(["x", "y"]), b=ut.Float(0, 1, when={"a": "w"})),
     "parameter 'b': when={'a': 'w'}: 'w' is not a value 'a' can take"),
    (dict(a=ut.Float(0, 1), b=ut.Float(0, 1, when={"a": 1})),
     "parent 'a' is a Float; a parent must be a Categorical or an Int"),
    (dict(a=ut.Int(0, 5), b=ut.Float(0, 1, when={"a": (">", 5)})),
     r"parameter 'b': when=\{'a': \['>', 5\]\} can never hold"),
    (dict(a=ut.Int(0, 5, when={"b": 1}), b=ut.Int(0, 5, when={"a": 1})),
     r"parameter 'a': when= makes a cycle \(a -> b -> a\)"),
    (dict(m=ut.Categorical(["x", "y"]), a=ut.Int(0, 5, when={"m": "x"}),
          b=ut.Int(0, 5, when={"m": "y"}), c=ut.Float(0, 1, when={"a": 1, "b": 1})),
     "parameter 'c': its condition .* can never hold"),
])
def test_a_wrong_condition_is_refused_before_any_trial_naming_the_parameter(params, message):
    with pytest.raises(ut.InvalidSpace, match=message) as caught:
        ut.Space(params)
    assert "\n" not in str(caught.value)
    with pytest.raises(ut.InvalidSpace, match=message):  # the same from a spec
        ut.Space.from_dict({n: d.to_dict() for n, d in params.items()})


def test_a_list_of_grids_is_one_conditional_space_on_every_backend():
    grids = [{"kernel": ["linear"], "C": [0.1, 1.0]},
             {"kernel": ["rbf", "sigmoid"], "C": [0.1, 1.0], "gamma": [0.01, 0.1]}]
    union = ut.Space.coerce(grids)
    cond = union.as_conditional()
    assert cond["gamma"].when == (("kernel", "in", ("rbf", "sigmoid")),)
    assert sorted(map(repr, cond.grid())) == sorted(map(repr, union.grid()))
    got = []
    result = ut.optimize(lambda p: got.append(p) or p["C"], grids, backend="skopt:gp",
                         n_trials=8, seed=0)
    assert all(union.contains(p) for p in got)
    assert all(union.contains(t.params) for t in result.trials)
    # branches with no parameter telling them apart, or a name with other values in
    # another branch, are no conditional space: optuna:grid still searches the union
    with pytest.raises(ut.UnsupportedFeature, match="parameter 'C' has different values"):
        ut.optimize(lambda p: 0.0, [{"k": ["a"], "C": [1]}, {"k": ["b"], "C": [2]}],
                    backend="optuna:tpe", n_trials=2)
    with pytest.raises(ut.UnsupportedFeature, match="backend 'optuna:tpe': .*no Categorical "
                       "is in every branch.*use optuna:grid"):
        ut.optimize(lambda p: 0.0, [{"a": [1, 2]}, {"b": [3, 4]}], backend="optuna:tpe",
                    n_trials=2)


@pytest.mark.parametrize("backend", ["optuna:tpe", "skopt:gp", "pymoo:ga"])
def test_searchcv_takes_a_list_of_param_grids_on_other_backends(backend):
    X, y = load_wine(return_X_y=True)
    grid = [{"kernel": ["linear"], "C": [0.1, 1, 10]},
            {"kernel": ["rbf"], "C": [0.1, 1, 10], "gamma": ["scale", 0.1]}]
    search = SearchCV(SVC(), grid, backend=backend, n_trials=6, cv=3, seed=0,
                      options={"pop_size": 6} if backend.startswith("pymoo") else None).fit(X, y)
    union = ut.Space.coerce(grid)
    assert all(union.contains(p) for p in search.cv_results_["params"])
    linear = [i for i, p in enumerate(search.cv_results_["params"]) if p["kernel"] == "linear"]
    assert all(search.cv_results_["param_gamma"].mask[i] for i in linear)  # masked, as sklearn


def test_backends_list_how_each_searches_a_conditional_space():
    out = subprocess.run([sys.executable, "-m", "unitune.cli", "backends"], capture_output=True,
                         text=True, check=True).stdout
    rows = {line.split()[0]: line for line in out.splitlines() if ":" in line[:14]}
    assert " native " in rows["optuna:tpe"] and " native " in rows["ray:optuna"]
    assert " flattened " in rows["skopt:gp"] and " flattened " in rows["pymoo:ga"]
    assert " flattened " in rows["ray:random"]


def test_a_ray_nested_choice_of_dicts_is_a_conditional_space():
    from ray import tune

    config = {"lr": tune.loguniform(1e-4, 1e-1),
              "model": tune.choice([
                  {"type": "svm", "C": tune.loguniform(1e-2, 10.0),
                   "kernel": tune.choice(["rbf", "poly"])},
                  {"type": "rf", "depth": tune.randint(2, 10), "C": tune.loguniform(1e-2, 10.0)},
                  {"type": "knn", "k": tune.randint(1, 20)}])}
    space = ut.Space.coerce(config)
    assert space["model"] == ut.Categorical(["svm", "rf", "knn"])  # the options' "type"
    assert space["model/C"] == ut.Float(1e-2, 10.0, log=True, when={"model": ["svm", "rf"]})
    assert space["model/depth"] == ut.Int(2, 9, when={"model": "rf"})  # Ray excludes 10
    assert space.active({"lr": 0.01, "model": "knn"}) == ["lr", "model", "model/k"]
    # options without a distinct constant key: the parent's values are their indices
    indexed = ut.Space.coerce({"m": tune.choice([{"a": tune.uniform(0, 1)},
                                                 {"b": tune.uniform(0, 1)}])})
    assert indexed["m"] == ut.Categorical([0, 1])
    assert indexed.active({"m": 1}) == ["m", "m/b"]


def test_optuna_tpe_searches_a_conditional_space_as_grouped_define_by_run_optuna():
    import warnings

    import optuna

    space = ut.Space(model=ut.Categorical(["a", "b"]),
                     x=ut.Float(-1.0, 1.0, when={"model": "a"}),
                     n=ut.Int(1, 9, when={"model": "b"}))

    def value(p):
        return p.get("x", 0.0) ** 2 + p.get("n", 0)

    ours = ut.optimize(value, space, backend="optuna:tpe", n_trials=15, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampler = optuna.samplers.TPESampler(seed=3, multivariate=True, group=True)
    study = optuna.create_study(sampler=sampler)

    def by_hand(trial):
        p = {"model": trial.suggest_categorical("model", ["a", "b"])}
        if p["model"] == "a":
            p["x"] = trial.suggest_float("x", -1.0, 1.0)
        else:
            p["n"] = trial.suggest_int("n", 1, 9)
        return value(p)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(by_hand, n_trials=15)
    assert [dict(t.params) for t in ours.trials] == [t.params for t in study.trials]


def test_a_parent_whose_choices_are_objects():
    from sklearn.ensemble import RandomForestClassifier

    svc, forest = SVC(), RandomForestClassifier()
    space = ut.Space(estimator=ut.Categorical([svc, forest]),
                     C=ut.Float(0.1, 10.0, when={"estimator": svc}),
                     max_depth=ut.Int(1, 5, when={"estimator": forest}))
    seen = []
    result = ut.optimize(lambda p: seen.append(p) or 1.0, space, backend="skopt:gp",
                         n_trials=6, seed=0)
    for p in seen + [t.params for t in result.trials]:  # the user's objects, active ones
        assert set(p) == ({"estimator", "C"} if p["estimator"] is svc
                          else {"estimator", "max_depth"})
