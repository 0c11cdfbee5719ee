"""Constraints declared once with ``trial.constraint(...)`` steer pymoo and Optuna's
NSGA-II alike; fronts and best trials keep feasible trials; ``Result.hypervolume``."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import unitune as ut
from unitune.records import Result, TrialRecord

pytest.importorskip("pymoo")

BACKENDS = {"pymoo:nsga2": {"pop_size": 20}, "optuna:nsga2": {"population_size": 20}}


def tnk():
    """pymoo's TNK: minimise (x1, x2) outside a wavy quarter circle; the infeasible points
    near the origin dominate every feasible one."""
    from pymoo.problems import get_problem

    problem = get_problem("tnk")
    space = ut.Space(x0=ut.Float(float(problem.xl[0]), float(problem.xu[0])),
                     x1=ut.Float(float(problem.xl[1]), float(problem.xu[1])))

    def objective(params, trial):
        out = problem.evaluate(np.array([[params["x0"], params["x1"]]]),
                               return_as_dictionary=True)
        trial.constraint(*out["G"][0])
        return tuple(out["F"][0])

    return objective, space


def naive_front(trials):
    done = [t for t in trials if t.state is ut.TrialState.COMPLETE]
    return [t for t in done if not any(
        all(a <= b for a, b in zip(o.values, t.values)) and o.values != t.values for o in done)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_constrained_problem_has_only_feasible_trials_on_its_front(backend, tmp_path):
    objective, space = tnk()
    path = str(tmp_path / "tnk.journal")
    result = ut.optimize(objective, space, backend=backend, directions=["minimize"] * 2,
                         n_trials=200, seed=0, options=BACKENDS[backend], storage=path,
                         study_name="tnk")
    front = result.pareto_front
    assert len(front) >= 5 and all(t.feasible for t in front)
    assert all(max(t.constraints) <= 0 for t in front)
    # without the constraints the front would be the infeasible points near the origin
    assert any(not t.feasible for t in naive_front(result.trials))
    # the engine searches with them: its last generation is mostly feasible, the first not
    first = [t.feasible for t in result.trials[:20]]
    last = [t.feasible for t in result.trials[-20:]]
    assert sum(last) >= 8 > sum(first)
    # one declaration, stored once, read back by unitune and by Optuna itself
    stored = ut.load("tnk", path)
    assert [t.constraints for t in stored.trials] == [t.constraints for t in result.trials]
    import optuna

    frozen = optuna.load_study(study_name="tnk", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(path))).trials
    assert [list(f.constraints.values()) for f in frozen] == [
        list(t.constraints) for t in result.trials]
    assert {f.number for f in optuna.load_study(
        study_name="tnk", storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(path))).best_trials} == {
        t.number for t in front}


def test_constrained_generations_in_parallel_repeat_the_sequential_run():
    objective, space = tnk()
    kwargs = dict(backend="pymoo:nsga2", directions=["minimize"] * 2, n_trials=60, seed=3,
                  options={"pop_size": 20})
    par = ut.optimize(objective, space, n_workers=2, **kwargs)
    seq = ut.optimize(objective, space, **kwargs)
    assert [(t.params, t.values, t.constraints) for t in par.trials] == [
        (t.params, t.values, t.constraints) for t in seq.trials]


def test_best_trial_is_the_best_feasible_one_and_others_are_warned(caplog):
    space = ut.Space(x=ut.Float(0.0, 1.0))

    def objective(params, trial):
        trial.constraint(0.5 - params["x"])  # feasible when x >= 0.5
        return params["x"]

    with caplog.at_level(logging.WARNING, logger="unitune"):
        result = ut.optimize(objective, space, backend="optuna:random", n_trials=30, seed=0)
    assert "does not search with constraints" in caplog.text
    lowest = min(result.completed, key=lambda t: t.value)
    assert not lowest.feasible  # the unconstrained minimum is infeasible...
    assert result.best_params["x"] >= 0.5  # ...and the best trial is the best feasible one
    assert result.best_value == min(t.value for t in result.completed if t.feasible)

    never = ut.optimize(lambda p, trial: trial.constraint(1.0) or p["x"], space,
                        backend="pymoo:ga", n_trials=12, seed=0, options={"pop_size": 6})
    with pytest.raises(ut.InvalidOption, match="no feasible trial"):
        _ = never.best_trial


@pytest.mark.parametrize("bad, match", [
    ((), "at least one value"),
    ((float("nan"),), "value 0 is nan"),
    ((0.0, "big"), "value 1 is 'big'"),
])
def test_a_bad_constraint_fails_its_trial_with_a_clear_message(bad, match):
    result = ut.optimize(lambda p, trial: trial.constraint(*bad) or p["x"],
                         ut.Space(x=ut.Float(0.0, 1.0)), backend="pymoo:ga", n_trials=4,
                         seed=0, options={"pop_size": 4})
    assert {t.state for t in result.trials} == {ut.TrialState.FAIL}
    assert all("trial.constraint()" in t.error and match in t.error for t in result.trials)


@pytest.mark.parametrize("backend", ["optuna:nsga2", "ray:random"])
def test_a_trial_checks_its_constraints_alike_in_process_and_on_ray(backend):
    # one Trial class: a bool is no constraint value (True would read as a violation of 1)
    result = ut.optimize(lambda p, trial: trial.constraint(p["x"] > 0.5) or p["x"],
                         ut.Space(x=ut.Float(0.0, 1.0)), backend=backend, n_trials=2, seed=0)
    assert [t.state for t in result.trials] == [ut.TrialState.FAIL] * 2
    assert {t.error for t in result.trials} <= {
        f"InvalidOption: trial.constraint(): value 0 is {b}; each constraint must be a "
        "number (<= 0 is feasible)" for b in (True, False)}


def test_hypervolume_matches_pymoo_in_the_users_directions():
    from pymoo.indicators.hv import HV

    rng = np.random.default_rng(0)
    points = rng.uniform(0, 1, size=(40, 2))
    trials = tuple(TrialRecord(i, {}, ut.TrialState.COMPLETE, values=tuple(p))
                   for i, p in enumerate(points))
    low = Result("hv", ("minimize", "minimize"), trials)
    expected = HV(ref_point=np.array([1.1, 1.2]))(points)
    assert low.hypervolume([1.1, 1.2]) == pytest.approx(expected, rel=1e-12)
    # the second value maximised: the same volume in the user's own units
    flipped = tuple(TrialRecord(t.number, {}, t.state, values=(t.values[0], -t.values[1]))
                    for t in trials)
    high = Result("hv", ("minimize", "maximize"), flipped)
    assert high.hypervolume([1.1, -1.2]) == pytest.approx(expected, rel=1e-12)
    # infeasible trials do not count; a reference point better than every trial gives 0
    masked = tuple(TrialRecord(t.number, {}, t.state, values=t.values,
                               constraints=(1.0 if t.number % 2 else -1.0,)) for t in trials)
    feasible = points[::2]
    assert Result("hv", ("minimize",) * 2, masked).hypervolume([1.1, 1.2]) == pytest.approx(
        HV(ref_point=np.array([1.1, 1.2]))(feasible), rel=1e-12)
    assert low.hypervolume([-1.0, -1.0]) == 0.0
    with pytest.raises(ut.InvalidOption, match="ref_point=.*2 finite number"):
        low.hypervolume([1.0])


def test_the_dataframe_shows_constraints_and_feasibility():
    objective, space = tnk()
    result = ut.optimize(objective, space, backend="pymoo:nsga2", directions=["minimize"] * 2,
                         n_trials=20, seed=0, options={"pop_size": 10})
    df = result.to_dataframe()
    assert list(df["feasible"]) == [t.feasible for t in result.trials]
    assert [tuple(c) for c in df["constraints"]] == [t.constraints for t in result.trials]
    plain = ut.optimize(lambda p: p["x0"], space, backend="pymoo:ga", n_trials=4, seed=0,
                        options={"pop_size": 4}).to_dataframe()
    assert "feasible" not in plain.columns
