"""The scikit-optimize backends: what a skopt user relies on beyond the conformance suite.

Same proposals as skopt's own ask/tell loop, values of the user's types, exact steps,
batches for parallel workers, failures kept away from the surrogate, warm start from
another backend, and no warning flood on today's numpy and scikit-learn.
"""

from __future__ import annotations

import copy
import math
import threading
import warnings

import pytest

import unitune as ut
from benchmarks.problems import BRANIN, branin
from unitune.adapters.base import resumed_seed

FAST = {"acq_optimizer_kwargs": {"n_points": 500, "n_restarts_optimizer": 2}}


def skopt_dims():
    from skopt.space import Categorical, Integer, Real

    return [Real(-5.0, 10.0), Real(1e-4, 1.0, prior="log-uniform"), Integer(1, 9),
            Categorical(["a", "b", "c"])]


SPACE = ut.Space(x=ut.Float(-5.0, 10.0), lr=ut.Float(1e-4, 1.0, log=True), n=ut.Int(1, 9),
                 k=ut.Categorical(["a", "b", "c"]))


def bowl(p):
    return (p["x"] - 2.0) ** 2 + math.log10(p["lr"]) ** 2 + 0.1 * p["n"] + "abc".index(p["k"])


@pytest.mark.parametrize("backend, estimator", [("skopt:gp", "GP"), ("skopt:rf", "RF")])
def test_same_seed_same_sequence_as_skopts_own_loop(backend, estimator):
    from skopt import Optimizer

    options = {"n_initial_points": 4, **FAST}
    opt = Optimizer(skopt_dims(), base_estimator=estimator, random_state=3, **options)
    expected = []
    for _ in range(7):
        x = opt.ask()
        params = dict(zip(SPACE, [float(x[0]), float(x[1]), int(x[2]), str(x[3])]))
        opt.tell(x, bowl(params))
        expected.append(params)
    result = ut.optimize(bowl, SPACE, backend=backend, seed=3, n_trials=7, options=options)
    assert [dict(t.params) for t in result.trials] == expected


def test_maximize_is_skopts_minimisation_of_the_negated_value():
    from skopt import Optimizer

    opt = Optimizer(skopt_dims(), base_estimator="GP", random_state=0, n_initial_points=3,
                    **FAST)
    expected = []
    for _ in range(5):
        x = opt.ask()
        params = dict(zip(SPACE, [float(x[0]), float(x[1]), int(x[2]), str(x[3])]))
        opt.tell(x, -bowl(params))
        expected.append(params)
    result = ut.optimize(bowl, SPACE, direction="maximize", backend="skopt:gp", seed=0,
                         n_trials=5, options={"n_initial_points": 3, **FAST})
    assert [dict(t.params) for t in result.trials] == expected
    assert result.best_value == max(t.value for t in result.trials)


def test_values_come_back_as_the_users_objects_and_steps_are_exact():
    choices = [None, True, 3, "3", 2.5, "a"]  # skopt alone turns 3 and "3" into one string
    space = ut.Space(c=ut.Categorical(choices), s=ut.Int(0, 100, step=25),
                     q=ut.Float(0.0, 1.0, step=0.1), big=ut.Int(1, 1000, log=True),
                     one=ut.Float(2.0, 2.0))
    result = ut.optimize(lambda p: 0.0, space, backend="skopt:rf", seed=1, n_trials=40,
                         options={"n_initial_points": 40})
    seen_c = [t.params["c"] for t in result.trials]
    assert {(type(c), c) for c in seen_c} == {(type(c), c) for c in choices}
    assert {t.params["s"] for t in result.trials} == {0, 25, 50, 75, 100}
    grid = space["q"].grid()
    assert all(any(t.params["q"] == g for g in grid) for t in result.trials)  # bit-exact
    assert {0.0, 1.0} <= {t.params["q"] for t in result.trials}
    assert all(type(t.params["big"]) is int and 1 <= t.params["big"] <= 1000
               for t in result.trials)
    assert {t.params["one"] for t in result.trials} == {2.0}


def test_what_skopt_cannot_do_is_refused_before_any_trial():
    called = []
    union = ut.Space(branches=[ut.Space(a=ut.Float(0, 1)), ut.Space(b=ut.Int(0, 3))])
    with pytest.raises(ut.UnsupportedFeature, match="skopt:gp.*union of sub-spaces"):
        ut.optimize(called.append, union, backend="skopt", n_trials=3)
    with pytest.raises(ut.UnsupportedFeature, match="skopt:rf.*single-objective"):
        ut.optimize(called.append, SPACE, backend="skopt:rf", n_trials=3,
                    directions=["minimize", "maximize"])
    assert called == []


@pytest.mark.parametrize("options, match", [
    ({"acq_func": "UCB"}, "acq_func='UCB' is not one of EI, PI, LCB, gp_hedge"),
    ({"initial_point_generator": "grid5"}, "initial_point_generator='grid5'"),
    ({"strategy": "cl_avg"}, "strategy='cl_avg' is not one of cl_min"),
    ({"n_initial_points": 0}, "n_initial_points=0 must be an integer >= 1"),
    ({"acq_optimizer_kwargs": {"npoints": 10}}, "unknown key 'npoints'"),
    ({"n_random_starts": 5}, "option 'n_random_starts' is not accepted"),
])
def test_bad_options_are_refused_before_any_trial(options, match):
    called = []
    with pytest.raises(ut.InvalidOption, match=match):
        ut.optimize(called.append, SPACE, backend="skopt:gp", n_trials=3, options=options)
    assert called == []


def test_lbfgs_is_refused_for_tree_surrogates():
    with pytest.raises(ut.InvalidOption, match="acq_optimizer='lbfgs'.*only skopt:gp"):
        ut.optimize(bowl, SPACE, backend="skopt:et", n_trials=3,
                    options={"acq_optimizer": "lbfgs"})


def test_acquisition_and_initial_design_options_reach_skopt():
    from skopt import Optimizer

    options = {"acq_func": "LCB", "initial_point_generator": "sobol", "n_initial_points": 4,
               "acq_optimizer": "sampling", **FAST}
    opt = Optimizer(skopt_dims(), base_estimator="GP", random_state=5, **options)
    expected = []
    for _ in range(6):
        x = opt.ask()
        params = dict(zip(SPACE, [float(x[0]), float(x[1]), int(x[2]), str(x[3])]))
        opt.tell(x, bowl(params))
        expected.append(params)
    result = ut.optimize(bowl, SPACE, backend="skopt:gp", seed=5, n_trials=6, options=options)
    assert [dict(t.params) for t in result.trials] == expected


def test_warm_start_from_another_backend_tells_skopt_every_trial(tmp_path):
    from skopt import Optimizer
    from skopt.space import Real

    path = str(tmp_path / "ledger.journal")
    first = ut.optimize(branin, BRANIN.space, backend="optuna:random", seed=0, n_trials=20,
                        storage=path, study_name="warm")
    # a study that holds 20 trials: the engine's seed is drawn from (seed, 20)
    opt = Optimizer([Real(-5.0, 10.0), Real(0.0, 15.0)], base_estimator="GP",
                    random_state=resumed_seed(0, 20), **FAST)
    opt.tell([[t.params["x1"], t.params["x2"]] for t in first.trials],
             [t.value for t in first.trials])
    x = opt.ask()
    result = ut.optimize(branin, BRANIN.space, backend="skopt:gp", seed=0, n_trials=22,
                         storage=path, study_name="warm", options=FAST)
    assert [t.backend for t in result.trials] == ["optuna:random"] * 20 + ["skopt:gp"] * 2
    # the first skopt trial is already the surrogate's choice given all 20 trials
    assert result.trials[20].params == {"x1": x[0], "x2": x[1]}


@pytest.mark.parametrize("strategy", ["cl_min", "cl_max"])
def test_parallel_workers_get_a_constant_liar_batch(tmp_path, strategy):
    import numpy as np
    from skopt import Optimizer
    from skopt.space import Real

    path = str(tmp_path / "ledger.journal")
    first = ut.optimize(branin, BRANIN.space, backend="optuna:random", seed=1, n_trials=8,
                        storage=path, study_name="par")
    opt = Optimizer([Real(-5.0, 10.0), Real(0.0, 15.0)], base_estimator="GP",
                    random_state=resumed_seed(1, 8), n_initial_points=4, **FAST)
    opt.tell([[t.params["x1"], t.params["x2"]] for t in first.trials],
             [t.value for t in first.trials])
    # skopt's constant liar on a fork of the fitted optimizer: the batch's first point is
    # what a sequential loop proposes next, the second what skopt proposes once told the
    # lie (Optimizer.ask(n_points=2) differs only in refitting its copy, a second seed)
    fork = copy.deepcopy(opt)
    fork.rng = np.random.RandomState(opt.rng.randint(0, np.iinfo(np.int32).max))
    points = [opt.ask()]
    fork.tell(points[0], float({"cl_min": np.min, "cl_max": np.max}[strategy](opt.yi)))
    points.append(fork.ask())
    batch = [{"x1": x[0], "x2": x[1]} for x in points]
    # The batch's two trials wait for each other (60 s only bounds a failing run): the
    # barrier passes only if the two workers ran them at the same time.
    barrier = threading.Barrier(2, timeout=60)
    calls, met, active, peak, lock = [0], [], [0], [0], threading.Lock()

    def meeting(params):
        with lock:
            calls[0] += 1
            first_two = calls[0] <= 2
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            if first_two:
                barrier.wait()
                met.append(dict(params))
        finally:
            with lock:
                active[0] -= 1
        return branin(params)

    result = ut.optimize(meeting, BRANIN.space, backend="skopt:gp", seed=1, n_trials=10,
                         n_workers=2, storage=path, study_name="par",
                         options={"strategy": strategy, "n_initial_points": 4, **FAST})
    assert [dict(t.params) for t in result.trials[8:10]] == batch
    # the constant liar's batch ran on the two workers at once, never more than two
    assert sorted(met, key=repr) == sorted(batch, key=repr) and peak[0] == 2
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
    points = [tuple(t.params.values()) for t in result.trials]
    assert len(set(points)) == len(points) == 10


def test_failed_and_infinite_trials_never_reach_the_surrogate():
    """skopt's model fit raises on inf; a failing region must not end the study, and a
    point that failed is not proposed again."""

    def cliff(p):
        if p["x1"] > 6.0:
            raise RuntimeError("diverged")
        if p["x2"] > 11.0:
            return math.inf
        return branin(p)

    result = ut.optimize(cliff, BRANIN.space, backend="skopt:gp", seed=0, n_trials=24,
                         options={"n_initial_points": 5, **FAST})
    states = [t.state for t in result.trials]
    assert len(states) == 24
    assert ut.TrialState.FAIL in states
    # inf is a failed trial with the reason, as an exception is
    assert any(t.error == "objective returned inf" for t in result.trials)
    assert all(math.isfinite(t.value) for t in result.completed)
    bad = [i for i, t in enumerate(result.trials) if t.state is ut.TrialState.FAIL]
    good = [i for i, t in enumerate(result.trials) if t.value is not None and t.value < 1e9]
    # failures while the surrogate was in charge, and the surrogate went on after them
    assert any(5 <= i < max(good) for i in bad)
    points = [tuple(t.params.values()) for t in result.trials]
    assert len(set(points)) == len(points)
    assert math.isfinite(result.best_value)


def test_report_is_recorded_nothing_pruned_and_the_user_told_once():
    def curve(params, trial):
        for step in range(4):
            trial.report(branin(params) + 1.0 / (step + 1), step)
        return branin(params)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ut.optimize(curve, BRANIN.space, backend="skopt:rf", seed=0, n_trials=8,
                             options={"n_initial_points": 8})
    told = [w for w in caught if "does not prune" in str(w.message)]
    assert len(told) == 1 and "skopt:rf" in str(told[0].message)
    assert told[0].filename == __file__  # points at the objective's trial.report line
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
    assert all(sorted(t.intermediate) == [0, 1, 2, 3] for t in result.trials)


@pytest.mark.parametrize("backend, n_trials", [("skopt:gp", 40), ("skopt:rf", 14),
                                               ("skopt:et", 14), ("skopt:gbrt", 14)])
def test_no_warning_from_skopt_numpy_or_sklearn(backend, n_trials):
    """skopt is archived; on the numpy and scikit-learn the project installs it must run
    without errors and without a flood of warnings, also in a small discrete space where
    skopt keeps proposing points it has already seen."""
    mixed = ut.Space(x=ut.Float(-2.0, 3.0), lr=ut.Float(1e-5, 1.0, log=True),
                     n=ut.Int(1, 3), c=ut.Categorical([None, True, 3, 2.5, "a"]))
    small = ut.Space(a=ut.Int(1, 3), c=ut.Categorical(["x", "y"]))
    options = {"n_initial_points": n_trials - 10 if n_trials > 20 else 5, **FAST}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        big = ut.optimize(lambda p: abs(p["x"]) + p["n"], mixed, backend=backend, seed=0,
                          n_trials=n_trials, options=options)
        tiny = ut.optimize(lambda p: p["a"], small, backend=backend, seed=0, n_trials=12,
                           options={"n_initial_points": 3, **FAST})
    assert [str(w.message) for w in caught] == []
    assert all(t.state is ut.TrialState.COMPLETE for t in big.trials + tiny.trials)
