"""``executor="process"`` limits: ``trial_memory`` turns a runaway allocation into one
FAIL "out of memory", and ``timeout_policy="cut"`` stops the trials still running at
the study's ``timeout``. Each is refused, in one line, where it cannot work."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from test_executor import SPACE, gone, needs_proc, quadratic, ran_in, worker_pids

import unitune as ut


def allocates(params, trial):
    if trial.number == 1:
        hog = bytearray(2 * 1024**3)  # past trial_memory
        return float(len(hog))
    return quadratic(params)


@needs_proc
def test_an_allocation_past_trial_memory_fails_only_its_trial():
    result = ut.optimize(allocates, SPACE, n_trials=5, n_workers=2, seed=0,
                         executor="process", trial_memory="512MB")
    errors = {t.number: t.error for t in result.trials if t.state is ut.TrialState.FAIL}
    assert errors == {1: "out of memory (trial_memory=512MB)"}
    assert len(result.completed) == 4
    assert all(t.value == pytest.approx(quadratic(t.params)) for t in result.completed)
    assert worker_pids() == []


@pytest.mark.parametrize("given", ["4XB", 0, -1, "GB", 1.5, True])
def test_a_wrong_trial_memory_is_refused_naming_it(given):
    with pytest.raises(ut.errors.InvalidOption) as caught:
        ut.optimize(quadratic, SPACE, n_trials=2, executor="process", trial_memory=given)
    message = str(caught.value)
    assert message.startswith(f"trial_memory={given!r} must be") and "'4GB'" in message
    assert "\n" not in message


def test_trial_memory_needs_worker_processes():
    with pytest.raises(ut.errors.InvalidOption, match="trial_memory='4GB' needs "
                       "executor='process'"):
        ut.optimize(quadratic, SPACE, n_trials=2, trial_memory="4GB")
    pytest.importorskip("ray")
    with pytest.raises(ut.errors.UnsupportedFeature, match="trial_memory= is not supported "
                       "on 'ray:random'"):
        ut.optimize(quadratic, SPACE, backend="ray:random", n_trials=2, trial_memory="4GB")


@pytest.mark.parametrize("given, limit", [("4GB", 4 * 10**9), ("512MiB", 512 * 2**20),
                                          (1 << 30, 1 << 30), ("1.5 GB", 1_500_000_000)])
def test_trial_memory_reads_sizes_as_dask_does(given, limit):
    from unitune._executor import check_memory

    assert check_memory(given).limit == limit


def blocks(params, trial):
    if trial.number == 1:
        threading.Event().wait()  # never set: only a kill ends this trial
    return quadratic(params)


@needs_proc
def test_timeout_policy_cut_stops_the_running_trials_at_the_study_timeout():
    # 10 s: room for the two workers to start and trial 1 to begin on a loaded machine
    # (the study's clock runs from the call); trial 1 then blocks until the cut
    result = ut.optimize(blocks, SPACE, backend="optuna:random", timeout=10, n_workers=2,
                         seed=0, executor="process", timeout_policy="cut",
                         on_failure="stop")  # a cut is no failure that stops the study
    blocked = next(t for t in result.trials if t.number == 1)
    assert blocked.state is ut.TrialState.FAIL
    assert blocked.error == "cut at the study's timeout of 10 s"
    others = [t for t in result.trials if t.number != 1]
    assert any(t.state is ut.TrialState.COMPLETE for t in others)
    # the other worker's quick trials complete; one in flight at the deadline is cut too
    assert all(t.state is ut.TrialState.COMPLETE or t.error == blocked.error for t in others)
    assert all(gone(ran_in(t)) for t in result.trials)
    assert worker_pids() == []


def test_what_timeout_policy_cut_cannot_do_is_refused():
    with pytest.raises(ut.errors.InvalidOption, match="cannot kill a thread"):
        ut.optimize(quadratic, SPACE, timeout=5, timeout_policy="cut")
    with pytest.raises(ut.errors.InvalidOption, match="no timeout= is given"):
        ut.optimize(quadratic, SPACE, n_trials=2, executor="process", timeout_policy="cut")
    with pytest.raises(ut.errors.InvalidOption, match="timeout_policy='stop' must be 'finish'"):
        ut.optimize(quadratic, SPACE, n_trials=2, timeout_policy="stop")
    result = ut.optimize(quadratic, SPACE, n_trials=2, timeout=60)  # 'finish', the default
    assert len(result.completed) == 2


def test_the_command_names_its_flags_in_what_it_refuses(tmp_path):
    (tmp_path / "obj.py").write_text("SPACE = {'x': {'type': 'float', 'low': 0, 'high': 1}}\n"
                                     "def f(params):\n    return params['x']\n")
    run = [sys.executable, "-m", "unitune.cli", "run", "obj.py:f", "--n-trials", "2",
           "--storage", "s.journal", "--quiet"]
    for flags, line in [
        (["--trial-memory", "4GB"], "unitune: error: --trial-memory 4GB needs --executor "
         "process: a memory limit applies to a whole process, and a thread's trial shares "
         "the study's"),
        (["--executor", "process", "--trial-memory", "4XB"], "unitune: error: --trial-memory "
         "4XB must be a positive number of bytes or a size such as '512MB', '4GB' or '4GiB'"),
        (["--timeout-policy", "cut"], "unitune: error: --timeout-policy cut stops the trials "
         "running at the study's --timeout, and no --timeout is given"),
    ]:
        done = subprocess.run([*run, *flags], cwd=tmp_path, capture_output=True, text=True,
                              check=False)
        assert (done.returncode, done.stderr.strip()) == (2, line)
