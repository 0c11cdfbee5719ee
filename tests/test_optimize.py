"""optimize(): its arguments are checked before any trial, failures are recorded, the
study goes on, and a stored study resumes to exactly the requested number of trials."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest
from objectives import NeverCalled

import unitune as ut
from unitune.adapters import _REGISTRY
from unitune.adapters.optuna import TPEAdapter

SPACE = ut.Space(x=ut.Float(-5.0, 5.0), n=ut.Int(1, 4), k=ut.Categorical(["a", "b"]))


def square(params):
    return params["x"] ** 2 + params["n"]


BAD_CALLS = [
    (dict(backend="optuna:tpx"), ut.UnknownBackend, r"unknown backend 'optuna:tpx'; known "
     r"backends: .*optuna:grid.*optuna:tpe"),
    (dict(backend="hyperopt"), ut.UnknownBackend, r"unknown backend 'hyperopt'"),
    (dict(direction="up"), ut.InvalidOption, r"direction 'up' is not valid; use 'minimize' or"),
    (dict(direction="minimize", directions=["minimize"]), ut.InvalidOption,
     r"direction= or directions=, not both"),
    (dict(directions=[]), ut.InvalidOption, r"directions= is empty"),
    (dict(directions=["minimize", "maximize"], metrics=["loss"]), ut.InvalidOption,
     r"metrics=\['loss'\] names 1 value\(s\) but there are 2 direction"),
    (dict(metrics=["a", "a"], directions=["minimize", "minimize"]), ut.InvalidOption,
     r"must be distinct"),
    (dict(n_trials=0), ut.InvalidOption, r"n_trials=0 must be a positive integer"),
    (dict(n_trials=2.5), ut.InvalidOption, r"n_trials=2.5 must be a positive integer"),
    (dict(n_trials=True), ut.InvalidOption, r"n_trials=True must be a positive integer"),
    (dict(n_trials=None), ut.InvalidOption, r"give n_trials= or timeout="),
    (dict(timeout=-1), ut.InvalidOption, r"timeout=-1 must be a positive number"),
    (dict(n_workers=0), ut.InvalidOption, r"n_workers=0 must be a positive integer"),
    (dict(seed=-3), ut.InvalidOption, r"seed=-3 must be a non-negative integer"),
    (dict(seed="0"), ut.InvalidOption, r"seed='0' must be a non-negative integer"),
    (dict(options={"n_startup_trial": 5}), ut.InvalidOption,
     r"option 'n_startup_trial' is not accepted by backend 'optuna:tpe'; accepted: .*"
     r"n_startup_trials"),
    (dict(options={"pruner": "sometimes"}), ut.InvalidOption,
     r"option pruner='sometimes' is not one of median, percentile"),
    (dict(options={"pruner": "percentile", "pruner_options": {"percentile": 120}}),
     ut.InvalidOption, r"pruner_options.*percentile.*120"),
    (dict(options={"pruner": "median", "pruner_options": {"warmup": 3}}), ut.InvalidOption,
     r"pruner_options=\{'warmup': 3\} for pruner 'median'"),
    (dict(options=["pruner"]), ut.InvalidOption, r"options must be a dict"),
    (dict(on_failure="ignore"), ut.InvalidOption, r"on_failure='ignore' must be 'continue' or"),
    (dict(callbacks=[3]), ut.InvalidOption, r"callbacks must be a list of callables"),
    (dict(storage="redis://localhost"), ut.InvalidOption, r"unknown URL scheme 'redis'"),
    (dict(directions=["minimize", "minimize"], backend="optuna:cmaes"),
     ut.UnsupportedFeature, r"'optuna:cmaes' is single-objective; got 2 directions"),
    (dict(space=ut.Space(x=ut.Float(0, 1)), backend="optuna:grid"), ut.UnsupportedFeature,
     r"parameter 'x' is a continuous Float; give it a step"),
]


@pytest.mark.parametrize("kwargs,error,message", BAD_CALLS,
                         ids=[f"bad{i}" for i in range(len(BAD_CALLS))])
def test_bad_arguments_fail_before_any_trial(kwargs, error, message, tmp_path):
    kwargs = dict(kwargs)
    kwargs.setdefault("n_trials", 3)
    if kwargs["n_trials"] is None:
        del kwargs["n_trials"]
    objective = NeverCalled()
    with pytest.raises(error, match=message) as info:
        ut.optimize(objective, kwargs.pop("space", SPACE), **kwargs)
    assert isinstance(info.value, ut.UnituneError)
    assert isinstance(info.value, (ValueError, TypeError, ImportError))
    assert objective.calls == 0


def test_objective_signature_is_checked():
    with pytest.raises(ut.InvalidOption, match="objective must be callable"):
        ut.optimize(3, SPACE, n_trials=1)
    with pytest.raises(ut.InvalidOption, match=r"must take \(params\) or \(params, trial\)"):
        ut.optimize(lambda a, b, c: 0, SPACE, n_trials=1)
    with pytest.raises(ut.InvalidOption, match=r"must take \(params\) or \(params, trial\)"):
        ut.optimize(lambda: 0, SPACE, n_trials=1)


def test_a_missing_engine_names_the_extra(monkeypatch):
    class Missing(TPEAdapter):
        name = "optuna:missing"
        requires = ("optuna", "no_such_engine_module")
        extra = "missing"

    monkeypatch.setitem(_REGISTRY, Missing.name, Missing)
    objective = NeverCalled()
    with pytest.raises(ut.BackendNotInstalled, match=r"needs no_such_engine_module.*pip "
                       r"install 'unitune\[missing\]'") as info:
        ut.optimize(objective, SPACE, backend="optuna:missing", n_trials=2)
    assert isinstance(info.value, ImportError) and objective.calls == 0


def test_too_many_values_at_the_first_trial_stop_the_study_clearly():
    calls = []

    def two_values(params):
        calls.append(params)
        return 1.0, 2.0

    with pytest.raises(ut.ObjectiveError, match=r"trial 0: objective returned 2 value\(s\) "
                       r"\[1.0, 2.0\] but the study has 1 direction"):
        ut.optimize(two_values, SPACE, n_trials=5)
    assert len(calls) == 1


def test_a_wrong_value_after_good_trials_fails_only_that_trial():
    def sometimes(params):
        return (1.0, 2.0) if params["n"] == 4 else square(params)

    result = ut.optimize(sometimes, SPACE, n_trials=20, seed=1)
    failed = [t for t in result.trials if t.state is ut.TrialState.FAIL]
    assert len(result.trials) == 20 and failed
    assert all(t.params["n"] == 4 for t in failed)
    assert all("returned 2 value(s)" in t.error for t in failed)


def test_on_failure_stop_ends_the_study_at_the_first_failure(tmp_path):
    def fails_at_three(params):
        if fails_at_three.calls == 3:
            raise ValueError("bad fold")
        fails_at_three.calls += 1
        return 0.0

    fails_at_three.calls = 0
    storage = str(tmp_path / "s.journal")
    with pytest.raises(ut.ObjectiveError, match="trial 3 failed and on_failure='stop': "
                       "ValueError: bad fold") as info:
        ut.optimize(fails_at_three, SPACE, n_trials=10, on_failure="stop", storage=storage,
                    study_name="s")
    assert isinstance(info.value.__cause__, ValueError)
    stored = ut.load("s", storage)
    assert [t.state.value for t in stored.trials] == ["COMPLETE"] * 3 + ["FAIL"]
    assert stored.trials[-1].error == "ValueError: bad fold"


def test_values_come_in_the_forms_users_return():
    result = ut.optimize(lambda p: np.float32(p["x"]), SPACE, n_trials=3, seed=0)
    assert all(type(v) is float for t in result.trials for v in t.values)
    result = ut.optimize(lambda p: {"loss": p["x"] ** 2, "size": float(p["n"]), "extra": 1},
                         SPACE, directions=["minimize", "minimize"], metrics=["loss", "size"],
                         n_trials=6, seed=0)
    assert all(t.values == (t.params["x"] ** 2, float(t.params["n"])) for t in result.trials)
    assert list(result.to_dataframe().columns[:4]) == ["number", "state", "loss", "size"]
    with pytest.raises(ut.ObjectiveError, match="returned a dict .* but no metrics= were given"):
        ut.optimize(lambda p: {"acc": 0.5}, SPACE, n_trials=2, seed=0)


def test_pruned_from_the_objective_and_params_are_copies():
    def objective(params, trial):
        seen = dict(params)
        params["x"] = 1e9  # a user mutating its dict must not change the record
        if seen["k"] == "b":
            raise ut.TrialPruned()
        return seen["x"]

    result = ut.optimize(objective, SPACE, n_trials=12, seed=0)
    assert {t.state for t in result.trials} == {ut.TrialState.COMPLETE, ut.TrialState.PRUNED}
    assert all(abs(t.params["x"]) <= 5 for t in result.trials)
    assert all(t.params["k"] == "b" for t in result.trials if t.state is ut.TrialState.PRUNED)


def test_callbacks_see_each_trial_and_can_stop_the_study():
    seen = []

    def stop_after_four(record):
        seen.append(record.number)
        if len(seen) == 4:
            raise ut.StopStudy

    result = ut.optimize(square, SPACE, n_trials=50, callbacks=[stop_after_four])
    assert seen == [0, 1, 2, 3] and len(result.trials) == 4


def test_timeout_stops_starting_trials():
    timeout = 0.5
    starts = []

    def objective(params):
        starts.append(time.monotonic())
        if len(starts) == 3:
            # The study's deadline is at most `timeout` after the first trial started
            # (its clock starts before it): this trial ends only once the deadline has
            # passed, so no trial may start after it.
            while time.monotonic() < starts[0] + timeout:
                time.sleep(0.01)
        return square(params)

    before = time.monotonic()
    result = ut.optimize(objective, SPACE, timeout=timeout)
    # the study did not end before its timeout...
    assert time.monotonic() - before >= timeout
    # ...and the trial that ran past the deadline was the last: none started after it.
    # Normally 3 trials; fewer only if the machine stalled for the whole timeout before
    # the third started (then the deadline ended the study after the trial that ran).
    assert 1 <= len(result.trials) == len(starts) <= 3
    assert all(s < starts[0] + timeout for s in starts[:-1])
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)


def test_ctrl_c_keeps_every_finished_trial_and_resume_reruns_the_cut_one(tmp_path):
    storage = str(tmp_path / "ctrlc.journal")

    def interrupted_at_three(params):
        interrupted_at_three.calls += 1
        if interrupted_at_three.calls == 4:
            raise KeyboardInterrupt
        return square(params)

    interrupted_at_three.calls = 0
    result = ut.optimize(interrupted_at_three, SPACE, n_trials=8, storage=storage,
                         study_name="c", seed=0)
    assert result.interrupted
    assert [t.state.value for t in result.trials] == ["COMPLETE"] * 3 + ["FAIL"]
    cut = result.trials[3]
    assert cut.error.startswith("interrupted")
    resumed = ut.optimize(square, SPACE, n_trials=8, storage=storage, study_name="c", seed=0)
    done = [t for t in resumed.trials if t.state is ut.TrialState.COMPLETE]
    assert len(done) == 8 and not resumed.interrupted
    assert dict(done[3].params) == dict(cut.params)  # the cut trial's point ran again
    assert [t.number for t in done] == [0, 1, 2, 4, 5, 6, 7, 8]


def test_resuming_with_another_space_or_direction_is_refused(tmp_path):
    storage = str(tmp_path / "m.journal")
    ut.optimize(square, SPACE, n_trials=2, storage=storage, study_name="m")
    other = ut.Space(x=ut.Float(-5.0, 6.0), n=ut.Int(1, 4), k=ut.Categorical(["a", "b"]))
    with pytest.raises(ut.StudyMismatch, match=r"study 'm' was created with a different space "
                       r"\(differs in \['x'\]\)"):
        ut.optimize(square, other, n_trials=4, storage=storage, study_name="m")
    with pytest.raises(ut.StudyMismatch, match=r"directions=\['minimize'\], not \['maximize'\]"):
        ut.optimize(square, SPACE, n_trials=4, storage=storage, study_name="m",
                    direction="maximize")
    assert len(ut.load("m", storage).trials) == 2


def test_a_study_continues_with_another_backend(tmp_path):
    storage = str(tmp_path / "w.journal")
    ut.optimize(square, SPACE, backend="optuna:random", n_trials=10, storage=storage,
                study_name="w", seed=0)
    result = ut.optimize(square, SPACE, backend="optuna:tpe", n_trials=20, storage=storage,
                         study_name="w", seed=0)
    assert [t.backend for t in result.trials] == ["optuna:random"] * 10 + ["optuna:tpe"] * 10


@pytest.mark.parametrize("backend", ["optuna:tpe", "skopt:gp", "pymoo:ga", "ray:optuna",
                                     "ray:random"])
def test_a_trial_outside_the_space_is_kept_but_left_out_of_the_warm_start(backend, tmp_path,
                                                                           caplog):
    # A plain Optuna user adds a point to the stored study, with wider bounds than the
    # space; ray:optuna failed the resume with it ("isn't contained in the distribution").
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.storages.journal import JournalFileBackend

    path, space = str(tmp_path / "s.journal"), ut.Space(x=ut.Float(-5.0, 5.0))
    ut.optimize(square_x, space, backend=backend, n_trials=2, seed=0, storage=path,
                study_name="s")
    plain = optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(
        JournalFileBackend(path)))
    plain.add_trial(optuna.trial.create_trial(
        params={"x": 8.0}, distributions={"x": FloatDistribution(-10.0, 10.0)}, value=64.0))

    with caplog.at_level(logging.WARNING, logger="unitune"):
        result = ut.optimize(square_x, space, backend=backend, n_trials=5, seed=0,
                             storage=path, study_name="s")
    assert [(t.number, t.state) for t in result.trials] == [
        (n, ut.TrialState.COMPLETE) for n in range(5)]
    assert (result.trials[2].params, result.trials[2].value) == ({"x": 8.0}, 64.0)
    assert all(space.contains(t.params) for t in result.trials[3:])
    warned = [r.getMessage() for r in caplog.records if "outside the space" in r.getMessage()]
    assert len(warned) == 1, warned
    assert warned[0].startswith("trial 2 is outside the space: x=8.0 is not in "
                                "Float(low=-5.0, high=5.0"), warned[0]


def square_x(params):
    return params["x"] ** 2


def test_workers_run_trials_at_the_same_time():
    # The first two trials wait for each other (60 s only bounds a failing run): the
    # barrier passes only if both ran at once. The pool never runs more than two.
    barrier = threading.Barrier(2, timeout=60)
    lock = threading.Lock()
    calls, met, running, peak = [0], [], [0], [0]

    def meeting(params):
        with lock:
            calls[0] += 1
            first_two = calls[0] <= 2
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            if first_two:
                barrier.wait()
                met.append(True)
        finally:
            with lock:
                running[0] -= 1
        return square(params)

    result = ut.optimize(meeting, SPACE, n_trials=8, n_workers=2, seed=0)
    assert len(result.trials) == 8
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
    assert met == [True, True] and peak[0] == 2


def test_result_best_and_pareto_front():
    result = ut.optimize(square, SPACE, n_trials=20, seed=0)
    best = min(result.trials, key=lambda t: t.value)
    assert result.best_trial == best and result.best_params == dict(best.params)
    two = ut.optimize(lambda p: (p["x"], -p["x"]), SPACE, n_trials=3,
                      directions=["minimize", "maximize"])
    with pytest.raises(ut.InvalidOption, match="use result.pareto_front"):
        _ = two.best_trial
    both = ut.optimize(lambda p: (p["x"] ** 2, (p["x"] - 2) ** 2), SPACE, n_trials=20, seed=0,
                       directions=["minimize", "minimize"])
    # on this front every trial has x in [0, 2]; outside it something dominates
    assert all(0 <= t.params["x"] <= 2 for t in both.pareto_front)
    df = result.to_dataframe()
    assert len(df) == 20 and {"params_x", "params_n", "params_k", "value"} <= set(df.columns)


def test_sqlite_storage_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    result = ut.optimize(square, SPACE, n_trials=4, storage=url, study_name="q", seed=0)
    assert [t.values for t in ut.load("q", url).trials] == [t.values for t in result.trials]


def test_timeout_with_workers_lets_running_trials_finish_and_starts_no_more():
    timeout = 0.5
    starts, ends, lock = [], [], threading.Lock()

    def past_the_deadline(params):
        with lock:
            starts.append(time.monotonic())
            first = starts[0]
        # The deadline is at most `timeout` after the first trial started: every trial
        # is still running when it passes (it waits for it, it does not guess a length).
        while time.monotonic() < first + timeout:
            time.sleep(0.01)
        with lock:
            ends.append(time.monotonic())
        return square(params)

    result = ut.optimize(past_the_deadline, SPACE, timeout=timeout, n_workers=2, seed=0)
    # the trials running at the deadline finished and were recorded COMPLETE
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
    assert len(result.trials) == len(starts) == len(ends)
    assert all(e >= starts[0] + timeout for e in ends)
    # No trial starts after the deadline, and every trial runs past it: only those
    # started at the outset ran, at most one per worker. The driver starts two at once,
    # so 2 normally; 1 only if it stalled for the whole timeout between the two starts,
    # which the code does not rule out, so the test does not assert exactly 2.
    assert 1 <= len(starts) <= 2
