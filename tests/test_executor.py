"""``executor="process"``: trials in worker processes that the engines drive as before,
reports that reach the engine, an unpicklable objective refused up front, a trial
killed at ``trial_timeout``, and a worker's crash that fails only its trial."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import unitune as ut

SPACE = {"x": ut.Float(-2.0, 2.0), "n": ut.Int(0, 3)}


def quadratic(params):
    return (params["x"] - 0.5) ** 2 + params["n"]


def climbing(params, trial):
    for step in range(4):
        trial.report(params["x"] + 2.0 + step, step)  # crosses the pruner's upper bound
    return params["x"]


def crashes(params, trial):
    if trial.number == 1:
        os._exit(3)
    if trial.number == 2:
        ctypes.string_at(0)  # a segfault
    if trial.number == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer does
    if trial.number == 4:
        hog = bytearray(2 * 1024**3)  # past trial_memory
        return float(len(hog))
    return quadratic(params)


def hangs(params, trial):
    if trial.number == 1:
        time.sleep(30)  # stopped by trial_timeout
    return quadratic(params)


def worker_pids():
    """The pids of this process's worker processes still alive (zombies included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"unitune._procworker" in cmdline:
            found.append(int(entry.name))
    return found


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def ran_in(record):
    return int(record.worker.rpartition(":")[2])


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.mark.parametrize("backend, options", [
    ("optuna:tpe", {}), ("skopt:gp", {"n_initial_points": 4}), ("pymoo:ga", {"pop_size": 4}),
])
def test_two_worker_processes_run_every_backend_trial(backend, options):
    space = ut.Space.coerce(SPACE)
    result = ut.optimize(quadratic, SPACE, backend=backend, n_trials=6, n_workers=2, seed=0,
                         executor="process", options=options)
    assert len(result.trials) == 6
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
    for t in result.trials:
        assert space.contains(t.params)
        assert t.value == pytest.approx(quadratic(t.params))
    pids = {ran_in(t) for t in result.trials}
    assert os.getpid() not in pids and len(pids) == 2  # two workers, not this process
    assert all(map(gone, pids))


def test_reports_go_to_the_engine_which_prunes_from_the_driver():
    result = ut.optimize(climbing, {"x": ut.Float(-2.0, 2.0)}, backend="optuna:tpe",
                         n_trials=6, n_workers=2, seed=0, executor="process",
                         options={"pruner": "threshold", "pruner_options": {"upper": 2.5}})
    pruned = [t for t in result.trials if t.state is ut.TrialState.PRUNED]
    assert pruned and len(pruned) + len(result.completed) == 6
    for t in pruned:  # stopped at the first report above 2.5: what the engine answered
        last = max(t.intermediate)
        assert t.intermediate[last] > 2.5 and all(
            v <= 2.5 for s, v in t.intermediate.items() if s < last)
    for t in result.completed:
        assert sorted(t.intermediate) == [0, 1, 2, 3]


def test_an_objective_that_cannot_go_to_a_process_is_refused_naming_what_holds_it():
    lock = threading.Lock()

    def guarded(params):
        with lock:
            return params["x"]

    with pytest.raises(ut.errors.ObjectiveError) as caught:
        ut.optimize(guarded, SPACE, n_trials=2, executor="process")
    message = str(caught.value)
    assert "\n" not in message
    assert "guarded" in message and "the variable 'lock' it closes over" in message
    assert "cannot be copied to another process" in message and "executor='thread'" in message
    result = ut.optimize(guarded, SPACE, n_trials=2)  # the thread executor runs it
    assert len(result.completed) == 2


def test_what_an_executor_cannot_do_is_refused():
    with pytest.raises(ut.errors.InvalidOption, match="cannot kill a thread"):
        ut.optimize(quadratic, SPACE, n_trials=2, trial_timeout=5)
    with pytest.raises(ut.errors.InvalidOption, match="must be 'thread' or 'process'"):
        ut.optimize(quadratic, SPACE, n_trials=2, executor="fork")
    with pytest.raises(ut.errors.InvalidOption, match="positive number of seconds"):
        ut.optimize(quadratic, SPACE, n_trials=2, executor="process", trial_timeout=0)
    pytest.importorskip("ray")
    with pytest.raises(ut.errors.InvalidOption, match="runs every trial in a Ray worker process"):
        ut.optimize(quadratic, SPACE, backend="ray:random", n_trials=2, executor="thread")


@needs_proc
def test_a_hung_trial_is_killed_at_the_timeout_and_the_study_goes_on():
    # one worker, so the hung trial runs on a worker already started by trial 0: its
    # recorded time (from the ledger's start) is then the trial's own, not a new worker's
    # start-up too (the timeout's clock starts once the worker has loaded the objective)
    result = ut.optimize(hangs, SPACE, n_trials=5, n_workers=1, seed=0, executor="process",
                         trial_timeout=2)
    states = {t.number: t.state for t in result.trials}
    assert states == {0: ut.TrialState.COMPLETE, 1: ut.TrialState.FAIL,
                      2: ut.TrialState.COMPLETE, 3: ut.TrialState.COMPLETE,
                      4: ut.TrialState.COMPLETE}
    hung = result.trials[1]
    assert hung.error == "timed out after 2 s"
    assert 2.0 <= hung.duration < 5.0
    assert all(gone(ran_in(t)) for t in result.trials)
    assert worker_pids() == []


@needs_proc
def test_a_timeout_under_on_failure_stop_ends_the_study_and_its_workers():
    with pytest.raises(ut.errors.ObjectiveError, match="timed out after 1 s"):
        ut.optimize(hangs, SPACE, n_trials=5, n_workers=2, seed=0, executor="process",
                    trial_timeout=1, on_failure="stop")
    assert worker_pids() == []


@needs_proc
def test_a_crashing_worker_fails_only_its_trial():
    # the test: a segfault, os._exit(3) and an allocation past the memory cap in
    # one study (and the OOM killer's SIGKILL), each FAIL with its reason, the rest COMPLETE
    result = ut.optimize(crashes, SPACE, n_trials=8, n_workers=2, seed=0, executor="process",
                         trial_memory="512MB")
    errors = {t.number: t.error for t in result.trials if t.state is ut.TrialState.FAIL}
    maybe = ", perhaps out of memory (trial_memory=512MB)"  # under a cap, C code may die of it
    assert errors == {
        1: "the trial's worker process exited with code 3" + maybe,
        2: "the trial's worker process was killed by signal SIGSEGV" + maybe,
        3: "the trial's worker process was killed by signal SIGKILL" + maybe,
        4: "out of memory (trial_memory=512MB)",  # Python's MemoryError: certain
    }
    assert len(result.completed) == 4
    assert all(t.value == pytest.approx(quadratic(t.params)) for t in result.completed)
    assert worker_pids() == []


def test_the_command_takes_the_executor_and_the_trial_timeout(tmp_path):
    (tmp_path / "obj.py").write_text("import os\nSPACE = {'x': {'type': 'float', 'low': 0, "
                                     "'high': 1}}\ndef f(params):\n    return os.getpid()\n")
    run = [sys.executable, "-m", "unitune.cli", "run", "obj.py:f", "--n-trials", "3",
           "--storage", "s.journal", "--quiet"]
    done = subprocess.run([*run, "--executor", "process", "--trial-timeout", "60"],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    values = {t.value for t in ut.load("obj:f", str(tmp_path / "s.journal")).trials}
    assert len(values) == 1 and done.returncode == 0  # one worker process ran the three
    refused = subprocess.run([*run, "--trial-timeout", "60"], cwd=tmp_path,
                             capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "cannot kill a thread" in refused.stderr
