"""inf and -inf from an objective fail the trial with the reason, as NaN does, on every
kind of backend (ask/tell, an engine's own study, generations, Ray's workers): no
engine can rank them, and -inf must not become the best value of a study."""

from __future__ import annotations

import math

import pytest

import unitune as ut

SPACE = {"x": ut.Float(-2.0, 2.0)}
# backend -> options that keep it quick
BACKENDS = {
    "optuna:tpe": {"n_startup_trials": 3},
    "skopt:gp": {"n_initial_points": 3, "acq_optimizer": "sampling",
                 "acq_optimizer_kwargs": {"n_points": 200}},
    "pymoo:ga": {"pop_size": 4},
    "ray:random": {},
}


def by_number(params, trial):
    """inf, -inf and a finite value in turn, by trial number (the same on Ray's workers)."""
    return (math.inf, -math.inf, params["x"] ** 2)[trial.number % 3]


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_inf_and_minus_inf_fail_the_trial_and_the_study_goes_on(backend):
    result = ut.optimize(by_number, SPACE, backend=backend, n_trials=9, seed=0,
                         n_workers=2 if backend.startswith("ray:") else 1,
                         options=BACKENDS[backend])
    assert len(result.trials) == 9
    for t in result.trials:
        if t.number % 3 == 2:
            assert t.state is ut.TrialState.COMPLETE, t
            assert math.isfinite(t.value)
        else:
            assert t.state is ut.TrialState.FAIL, t
            assert t.values is None
            assert t.error == ("objective returned inf" if t.number % 3 == 0
                               else "objective returned -inf")
    assert math.isfinite(result.best_value)
    assert result.best_value == min(t.params["x"] ** 2 for t in result.completed)


def test_a_non_finite_value_of_several_names_which_one():
    def two(params):
        return params["x"], (-math.inf if params["x"] < 0 else math.inf)

    result = ut.optimize(two, SPACE, directions=["minimize", "minimize"], n_trials=4, seed=0)
    assert not result.completed and not result.pareto_front
    for t in result.trials:
        assert t.state is ut.TrialState.FAIL
        assert t.error.startswith(f"objective returned {t.params['x'] < 0 and '-inf' or 'inf'}"
                                  " as value 1 of [")


def test_nan_still_fails_the_trial():
    result = ut.optimize(lambda p: math.nan, SPACE, n_trials=2, seed=0)
    assert [t.error for t in result.trials] == ["objective returned nan"] * 2
