"""The search space: validation before any trial, serialisation, and the converters."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import unitune as ut
from unitune.space._scipy import Quantile

# -- validation: every bad space is refused with a message naming the bad value ---------------
BAD_DISTRIBUTIONS = [
    (lambda: ut.Float(5, 1), ut.InvalidSpace, ValueError, r"low=5.0 is greater than high=1.0"),
    (lambda: ut.Int(5, 1), ut.InvalidSpace, ValueError, r"low=5 is greater than high=1"),
    (lambda: ut.Float(float("nan"), 1), ut.InvalidSpace, ValueError, r"low must be finite"),
    (lambda: ut.Float(0, float("inf")), ut.InvalidSpace, ValueError, r"high must be finite"),
    (lambda: ut.Float(0, 1, log=True), ut.InvalidSpace, ValueError, r"log=True needs low > 0"),
    (lambda: ut.Float(-1, 1, log=True), ut.InvalidSpace, ValueError, r"low=-1.0"),
    (lambda: ut.Int(0, 10, log=True), ut.InvalidSpace, ValueError, r"log=True needs low >= 1"),
    (lambda: ut.Float(0, 1, step=0), ut.InvalidSpace, ValueError, r"step must be > 0"),
    (lambda: ut.Float(0, 1, step=-0.1), ut.InvalidSpace, ValueError, r"step=-0.1"),
    (lambda: ut.Int(0, 10, step=0), ut.InvalidSpace, ValueError, r"step must be >= 1"),
    (lambda: ut.Float(1, 10, log=True, step=1), ut.InvalidSpace, ValueError,
     r"cannot be combined with log"),
    (lambda: ut.Int(1, 16, log=True, step=3), ut.InvalidSpace, ValueError,
     r"cannot be combined with log"),
    (lambda: ut.Float(0, 1, step=0.3), ut.InvalidSpace, ValueError,
     r"step=0.3 does not divide the range \[0.0, 1.0\].*high=0.9"),
    (lambda: ut.Int(0, 10, step=3), ut.InvalidSpace, ValueError,
     r"step=3 does not divide the range \[0, 10\].*use high=9"),
    (lambda: ut.Int(0.5, 3), ut.InvalidSpace, ValueError, r"low must be an integer, got 0.5"),
    (lambda: ut.Int(0, 2.5), ut.InvalidSpace, ValueError, r"high must be an integer, got 2.5"),
    (lambda: ut.Int("1", 3), ut.SpaceTypeError, TypeError, r"low must be an integer, got '1'"),
    (lambda: ut.Float(True, 3), ut.SpaceTypeError, TypeError, r"low must be a number, got True"),
    (lambda: ut.Float(0, "1"), ut.SpaceTypeError, TypeError, r"high must be a number"),
    (lambda: ut.Categorical([]), ut.InvalidSpace, ValueError, r"choices is empty"),
    (lambda: ut.Categorical("abc"), ut.SpaceTypeError, TypeError, r"choices must be a list"),
    (lambda: ut.Space(), ut.InvalidSpace, ValueError, r"no parameters"),
    (lambda: ut.Space(x=(0, 1)), ut.SpaceTypeError, TypeError,
     r"parameter 'x': expected ut.Float"),
    (lambda: ut.Space({"": ut.Int(0, 1)}), ut.InvalidSpace, ValueError, r"non-empty strings"),
    (lambda: ut.Space.from_dict({"lr": {"type": "float", "low": 1, "high": 0.1}}),
     ut.InvalidSpace, ValueError, r"parameter 'lr': low=1.0 is greater than high=0.1"),
    (lambda: ut.Space.from_dict({"n": {"type": "integer", "low": 1, "high": 3}}),
     ut.InvalidSpace, ValueError, r"parameter 'n': type='integer' is not one of"),
    (lambda: ut.Space.from_dict({"n": {"type": "int", "low": 1, "hi": 3}}),
     ut.InvalidSpace, ValueError, r"parameter 'n': unknown key\(s\) \['hi'\]"),
    (lambda: ut.Space.from_dict({"n": {"type": "int", "low": 1}}), ut.InvalidSpace, ValueError,
     r"parameter 'n':.*high"),
    (lambda: ut.Space.from_dict({"k": {"type": "categorical", "choices": []}}),
     ut.InvalidSpace, ValueError, r"parameter 'k': choices is empty"),
]


@pytest.mark.parametrize("make,error,builtin,message", BAD_DISTRIBUTIONS,
                         ids=[f"bad{i}" for i in range(len(BAD_DISTRIBUTIONS))])
def test_bad_spaces_are_refused_with_a_clear_message(make, error, builtin, message):
    with pytest.raises(error, match=message) as info:
        make()
    assert isinstance(info.value, ut.UnituneError)
    assert isinstance(info.value, builtin)


def test_inclusive_bounds_and_steps():
    assert ut.Int(1, 3).grid() == [1, 2, 3]
    assert ut.Int(0, 20, step=5).grid() == [0, 5, 10, 15, 20]
    assert ut.Float(0, 1, step=0.25).grid() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ut.Float(0, 1).grid() is None
    assert ut.Float(0.1, 0.7, step=0.2).grid()[-1] == pytest.approx(0.7)
    assert ut.Int(0, 20, step=5).contains(20) and not ut.Int(0, 20, step=5).contains(21)
    assert ut.Float(0, 1, step=0.25).contains(0.75) and not ut.Float(0, 1, step=0.25).contains(0.7)
    assert not ut.Int(1, 3).contains(2.0) and not ut.Int(1, 3).contains(True)


def test_numpy_values_become_python_values():
    d = ut.Int(np.int64(1), np.int64(5))
    assert type(d.low) is int and type(d.high) is int
    c = ut.Categorical([np.float64(0.5), np.str_("a"), np.int32(3)])
    assert [type(v) for v in c.choices] == [float, str, int]
    assert ut.Int(1.0, 3.0) == ut.Int(1, 3)  # integral floats (YAML 1e3) are accepted


SPACE = ut.Space(
    C=ut.Float(1e-3, 1e3, log=True),
    n_estimators=ut.Int(100, 1000, step=50),
    ratio=ut.Float(0.0, 1.0, step=0.1),
    kernel=ut.Categorical(["rbf", "linear", None, 3, 2.5, True]),
)


def test_dict_round_trip_and_files(tmp_path):
    assert ut.Space.from_dict(SPACE.to_dict()) == SPACE
    assert ut.Space.from_dict(json.loads(json.dumps(SPACE.to_dict()))) == SPACE
    for name in ("space.yaml", "space.json"):
        SPACE.to_file(tmp_path / name)
        assert ut.Space.from_file(tmp_path / name) == SPACE
    (tmp_path / "short.yaml").write_text("lr: {type: float, low: 1.0e-4, high: 1, log: true}\n"
                                         "act: [relu, tanh]\n")
    assert ut.Space.from_file(tmp_path / "short.yaml") == ut.Space(
        lr=ut.Float(1e-4, 1, log=True), act=ut.Categorical(["relu", "tanh"]))


def test_space_files_that_cannot_be_used(tmp_path):
    with pytest.raises(ut.InvalidSpace, match="cannot read space file .*missing.yaml"):
        ut.Space.from_file(tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("x: {type: float, low: [\n")
    with pytest.raises(ut.InvalidSpace, match="broken.yaml:2:1: invalid YAML: "):
        ut.Space.from_file(tmp_path / "broken.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(ut.InvalidSpace, match="is empty"):
        ut.Space.from_file(tmp_path / "empty.yaml")
    (tmp_path / "bad.yaml").write_text("x: {type: float, low: 2, high: 1}\n")
    with pytest.raises(ut.InvalidSpace, match=r"bad.yaml': parameter 'x': low=2.0 is greater"):
        ut.Space.from_file(tmp_path / "bad.yaml")


# -- converters: same space, same samples under the same seed ---------------------------------
def sample(space, n=20, seed=3):
    result = ut.optimize(lambda p: 0.0, space, backend="optuna:random", n_trials=n, seed=seed)
    return [t.params for t in result.trials]


def sweep(space, name, n=150):
    return {t.params[name] for t in ut.optimize(lambda p: 0.0, space, backend="optuna:random",
                                                 n_trials=n, seed=0).trials}


def test_sklearn_param_grid():
    grid = {"C": [0.1, 1, 10], "kernel": ["rbf", "linear"]}
    native = ut.Space(C=ut.Categorical([0.1, 1, 10]), kernel=ut.Categorical(["rbf", "linear"]))
    converted = ut.Space.from_sklearn_grid(grid)
    assert converted == native == ut.Space.coerce(grid)
    assert sample(converted) == sample(native)
    union = ut.Space.from_sklearn_grid([{"kernel": ["linear"], "C": [1, 10]},
                                        {"kernel": ["rbf"], "C": [1], "gamma": [0.1, 1]}])
    assert len(union.branches) == 2
    assert union.grid() == [{"kernel": "linear", "C": 1}, {"kernel": "linear", "C": 10},
                            {"kernel": "rbf", "C": 1, "gamma": 0.1},
                            {"kernel": "rbf", "C": 1, "gamma": 1}]
    # C has other values in each branch: no conditional space, optuna:grid only
    with pytest.raises(ut.UnsupportedFeature, match="'optuna:tpe': this union of sub-spaces "
                       r"\(a list of param grids\) is no conditional space: parameter 'C'"):
        ut.optimize(lambda p: 0.0, union, backend="optuna:tpe", n_trials=2)
    result = ut.optimize(lambda p: p["C"], union, backend="optuna:grid")
    assert [dict(t.params) for t in result.trials] == union.grid()


def test_sklearn_param_distributions():
    from scipy.stats import loguniform, randint, uniform

    dists = {"C": loguniform(1e-3, 1e3), "n": randint(1, 4), "frac": uniform(0.2, 0.5),
             "crit": ["gini", "entropy"]}
    native = ut.Space(C=ut.Float(1e-3, 1e3, log=True), n=ut.Int(1, 3),
                      frac=ut.Float(0.2, 0.7), crit=ut.Categorical(["gini", "entropy"]))
    converted = ut.Space.from_sklearn_distributions(dists)
    assert converted == native == ut.Space.coerce(dists)
    assert sample(converted) == sample(native)
    assert sweep(converted, "n") == {1, 2, 3}  # scipy's randint excludes high: 4 never comes
    assert ut.Space.from_sklearn_distributions({"n": randint(low=2, high=5)}) == ut.Space(
        n=ut.Int(2, 4))
    from scipy.stats import norm

    # no native type: sampled through its quantile (tests/test_space_objects.py)
    assert ut.Space.from_sklearn_distributions({"x": norm(0, 1)})["x"] == Quantile(norm(0, 1))


def test_skopt_dimensions():
    from skopt.space import Categorical, Integer, Real

    dims = [Real(1e-4, 1.0, prior="log-uniform", name="lr"), Integer(1, 3, name="depth"),
            Categorical(["a", "b"], name="kind")]
    native = ut.Space(lr=ut.Float(1e-4, 1.0, log=True), depth=ut.Int(1, 3),
                      kind=ut.Categorical(["a", "b"]))
    converted = ut.Space.from_skopt(dims)
    assert converted == native == ut.Space.coerce(dims)
    assert sample(converted) == sample(native)
    assert sweep(converted, "depth") == {1, 2, 3}  # skopt's Integer includes both ends
    with pytest.raises(ut.InvalidSpace, match="dimension #0 .* has no name"):
        ut.Space.from_skopt([Real(0, 1)])


def test_ray_tune_domains():
    from ray import tune

    config = {"lr": tune.loguniform(1e-4, 1e-1), "units": tune.randint(1, 4),
              "batch": tune.qrandint(16, 64, 16), "drop": tune.quniform(0.0, 0.5, 0.1),
              "act": tune.choice(["relu", "tanh"]), "opt": tune.grid_search(["sgd", "adam"])}
    native = ut.Space(lr=ut.Float(1e-4, 1e-1, log=True), units=ut.Int(1, 3),
                      batch=ut.Int(16, 64, step=16), drop=ut.Float(0.0, 0.5, step=0.1),
                      act=ut.Categorical(["relu", "tanh"]), opt=ut.Categorical(["sgd", "adam"]))
    converted = ut.Space.from_ray(config)
    assert converted == native == ut.Space.coerce(config)
    assert sample(converted) == sample(native)
    assert sweep(converted, "units") == {1, 2, 3}  # tune.randint excludes upper
    assert sweep(converted, "batch") == {16, 32, 48, 64}  # tune.qrandint includes upper
    with pytest.raises(ut.UnsupportedFeature, match="parameter 'x': Ray Tune sampler _Normal"):
        ut.Space.from_ray({"x": tune.randn(0, 1)})


def test_optuna_distributions():
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    dists = {"x": FloatDistribution(0, 1, step=0.25), "n": IntDistribution(1, 64, log=True),
             "c": CategoricalDistribution([None, 1, "a"])}
    native = ut.Space(x=ut.Float(0, 1, step=0.25), n=ut.Int(1, 64, log=True),
                      c=ut.Categorical([None, 1, "a"]))
    converted = ut.Space.from_optuna(dists)
    assert converted == native == ut.Space.coerce(dists)
    assert sample(converted) == sample(native)
    assert sweep(ut.Space.from_optuna({"n": IntDistribution(1, 3)}), "n") == {1, 2, 3}


def test_coerce_refuses_what_it_cannot_read():
    with pytest.raises(ut.SpaceTypeError, match="cannot make a search space from int"):
        ut.Space.coerce(3)
    with pytest.raises(ut.SpaceTypeError, match="parameter 'x': cannot convert"):
        ut.Space.coerce({"x": object()})
    assert math.isclose(ut.Space.coerce({"x": ut.Float(0, 1), "k": ["a", "b"]})["x"].high, 1.0)


def test_the_parameter_types_are_importable_from_unitune_space_and_pickle():
    import pickle

    import unitune.space as space_module
    from unitune.space import Categorical, Distribution, Float, Int, Space
    from unitune.space._distributions import build, plain

    assert (ut.Float, ut.Int, ut.Categorical, ut.Space) == (Float, Int, Categorical, Space)
    assert set(space_module.__all__) == {"Categorical", "Distribution", "Float", "Int", "Space"}
    assert all(issubclass(t, Distribution) for t in (Float, Int, Categorical))
    with pytest.raises(ut.InvalidSpace, match="parameter 'lr': low=2.0 is greater"):
        build("lr", Float, 2.0, 1.0)
    assert type(plain(np.int64(3))) is int
    space = Space(x=Float(0, 1, step=0.25), n=Int(1, 8, log=True), c=Categorical([None, "a"]))
    assert pickle.loads(pickle.dumps(space)) == space
