"""Ray backends stop trials on time and survive a dead worker: ``trial_timeout`` kills
the trial's Ray actor (a sleeping or busy objective ends too), ``timeout_policy="cut"``
kills the ones running at the study's timeout, and a worker that exits fails only its
trial. The tests share the session's one local Ray runtime (see conftest)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import unitune as ut

pytest.importorskip("ray")

SPACE = {"x": ut.Float(-2.0, 2.0)}


def stalls(params, trial):
    if trial.number == 1:
        time.sleep(30)  # stopped by trial_timeout
    if trial.number == 2:
        while True:  # a busy loop holding the GIL: its thread cannot be stopped either
            pass
    if trial.number == 3:
        os._exit(3)  # the worker dies
    return params["x"] ** 2


def sleeps_after_the_first(params, trial):
    if trial.number > 0:
        time.sleep(60)  # only the cut ends it
    return params["x"] ** 2


def alive(pid):
    """``pid`` exists and is not a zombie."""
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
    except OSError:
        return False


def pid_of(record):
    return int(record.worker.rpartition(":")[2])


def test_hung_and_crashed_ray_trials_fail_with_their_reason_and_the_study_goes_on():
    result = ut.optimize(stalls, SPACE, backend="ray:random", n_trials=5, n_workers=2,
                         seed=0, trial_timeout=2)
    by_number = {t.number: t for t in result.trials}
    assert sorted(by_number) == list(range(5))
    for number in (1, 2):
        hung = by_number[number]
        assert (hung.state, hung.error) == (ut.TrialState.FAIL, "timed out after 2 s")
        assert hung.duration < 25  # stopped at 2 s (Tune checks every 0.1 s), not at 30
        assert pid_of(hung) != os.getpid()  # where it ran: the Ray actor that was killed
    crashed = by_number[3]
    assert crashed.state is ut.TrialState.FAIL and crashed.error.startswith("RayError: ")
    assert "worker process has died" in crashed.error and "common causes" not in crashed.error
    others = [t for n, t in by_number.items() if n not in (1, 2, 3)]
    assert all(t.state is ut.TrialState.COMPLETE for t in others)
    deadline = time.monotonic() + 60  # ray.kill is asynchronous: wait for the processes
    while any(alive(pid_of(by_number[n])) for n in (1, 2)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid_of(by_number[n])) for n in (1, 2))


def test_a_ray_trial_timeout_under_on_failure_stop_ends_the_study_with_the_reason():
    with pytest.raises(ut.ObjectiveError, match="trial 1 failed and on_failure='stop': "
                       "timed out after 2 s"):
        ut.optimize(sleeps_after_the_first, SPACE, backend="ray:random", n_trials=4,
                    seed=0, trial_timeout=2, on_failure="stop")


def test_timeout_policy_cut_stops_the_running_ray_trials_at_the_study_timeout():
    ut.optimize(lambda params: 0.0, SPACE, backend="ray:random", n_trials=1, n_workers=2)
    result = ut.optimize(sleeps_after_the_first, SPACE, backend="ray:random", timeout=10,
                         n_workers=2, seed=0, timeout_policy="cut",
                         on_failure="stop")  # a cut is no failure that stops the study
    # the trials sleep 60 s: each one FAIL with the cut's reason was stopped, not awaited
    cut = [t for t in result.trials if t.number > 0]
    assert cut and all(t.state is ut.TrialState.FAIL for t in cut)
    assert {t.error for t in cut} == {"cut at the study's timeout of 10 s"}
    first = next(t for t in result.trials if t.number == 0)
    assert first.state is ut.TrialState.COMPLETE or first.error == cut[0].error


def test_what_ray_cannot_limit_is_refused_with_the_reason():
    with pytest.raises(ut.UnsupportedFeature, match="Ray starts its worker processes, and "
                       "unitune cannot cap them"):
        ut.optimize(stalls, SPACE, backend="ray:random", n_trials=2, trial_memory="4GB")
