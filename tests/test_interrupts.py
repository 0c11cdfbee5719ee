"""Ctrl-C, once or many times, on `unitune run`: status 130, one line on stderr, no
traceback, every finished trial kept, the trials cut short queued to run again.

The objective writes a marker when a trial starts and then blocks on a file that only
the test writes, so each SIGINT is sent at a known point (no sleep, no timing)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import unitune as ut

_SCRIPT = Path(sys.executable).parent / "unitune"  # the console script a user types
UNITUNE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "unitune.cli"]

OBJECTIVE = textwrap.dedent("""
    import os
    import time


    def wait_for(name):
        while not os.path.exists(name):
            time.sleep(0.005)


    def blocking(params, trial):
        if trial.number < 3:
            return params["x"] ** 2
        open(f"started-{trial.number}", "w").close()
        try:
            wait_for("never")
        except KeyboardInterrupt:
            # the objective's own clean-up (saving a checkpoint...), which takes a while
            open(f"cleaning-{trial.number}", "w").close()
            wait_for("release")
            open(f"cleaned-{trial.number}", "w").close()
            raise
        return 0.0
    """)


def _wait_for(path, proc):
    """Wait until the command writes ``path`` (failing if it ends first)."""
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exit {proc.returncode} before {path.name}: "
                                 f"{proc.stderr.read()}")
        time.sleep(0.005)


def _read_until(proc, text):
    """The command's stdout lines up to the first holding ``text``."""
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"no line with {text!r}: {''.join(lines)}{proc.stderr.read()}")


@pytest.mark.parametrize("workers", [1, 3])
def test_any_number_of_ctrl_c_exit_130_in_one_line_keeping_every_finished_trial(
        tmp_path, workers):
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: -1, high: 1}\n")
    proc = subprocess.Popen(
        [*UNITUNE, "run", "obj.py:blocking", "--space", "space.yaml", "--n-trials", "20",
         "--seed", "0", "--workers", str(workers)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(tmp_path / "started-3", proc)
        proc.send_signal(signal.SIGINT)  # the study stops
        if workers == 1:  # the objective got the KeyboardInterrupt, and cleans up
            _wait_for(tmp_path / "cleaning-3", proc)
            proc.send_signal(signal.SIGINT)  # impatient: during the objective's clean-up
            proc.send_signal(signal.SIGINT)
            (tmp_path / "release").touch()
        # once the first trial cut short is printed, the run is recording the others and
        # about to print its summary and exit: two more Ctrl-C then
        lines = _read_until(proc, "(interrupted: ")
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)  # a guard against a hang, not a wait
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "".join(lines) + out
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert "interrupted" in err and "finished trials are kept" in err
    assert "interrupted: finished trials are kept; run the same command again" in out
    if workers == 1:
        assert (tmp_path / "cleaned-3").exists()  # its clean-up was not cut short
    journal = str(tmp_path / ".unitune" / "studies.journal")
    result = ut.load("obj:blocking", journal)
    complete = [t for t in result.trials if t.state is ut.TrialState.COMPLETE]
    assert [t.number for t in complete] == [0, 1, 2]
    cut = [t for t in result.trials if t.state is ut.TrialState.FAIL]
    assert cut and all(t.error.startswith("interrupted") for t in cut)
    assert not [t for t in result.trials if t.state is ut.TrialState.RUNNING]
    # the same command finishes the study, running the trials cut short again first
    (tmp_path / "never").touch()
    rerun = subprocess.run(
        [*UNITUNE, "run", "obj.py:blocking", "--space", "space.yaml", "--n-trials", "6",
         "--seed", "0", "--workers", str(workers), "--quiet"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    final = ut.load("obj:blocking", journal)
    done = [t for t in final.trials if t.state is ut.TrialState.COMPLETE]
    assert len(done) == 6
    assert {t.number: t.values for t in done[:3]} == {t.number: t.values for t in complete}
    assert all(dict(t.params) in [dict(d.params) for d in done] for t in cut)


# -- ut.optimize in a Python process: the same rules, and its handler given back ------------
SPACE = {"x": ut.Float(-1.0, 1.0)}


def test_ctrl_c_while_a_trial_is_booked_stops_after_it_is_booked():
    """A Ctrl-C while the driver writes the ledger or runs the callbacks stops the study
    after that trial: every callback sees it, no trial is left half-written."""
    seen = []

    def ctrl_c_at_two(record):
        if record.number == 2:
            signal.raise_signal(signal.SIGINT)  # as if typed now, in this thread

    result = ut.optimize(lambda p: p["x"] ** 2, SPACE, n_trials=10, seed=0,
                         callbacks=[ctrl_c_at_two, lambda r: seen.append(r.number)])
    assert result.interrupted
    assert seen == [0, 1, 2]
    assert [t.state for t in result.trials] == [ut.TrialState.COMPLETE] * 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_the_engine_proposes_leaves_no_trial_running(tmp_path):
    """Optuna creates the trial in the ledger, then samples: a Ctrl-C while it samples
    (here in TPE's ``gamma``) once left that trial RUNNING for good."""
    calls = []

    def gamma(n):
        if not gamma.signalled:
            gamma.signalled = True
            signal.raise_signal(signal.SIGINT)
        return min(int(n * 0.1) + 1, 25)

    gamma.signalled = False
    result = ut.optimize(lambda p: calls.append(p) or p["x"] ** 2, SPACE, n_trials=10, seed=0,
                         options={"n_startup_trials": 2, "gamma": gamma},
                         storage=str(tmp_path / "s.journal"), study_name="g")
    assert result.interrupted and len(calls) == 2
    stored = ut.load("g", str(tmp_path / "s.journal")).trials
    assert [t.state for t in stored] == [ut.TrialState.COMPLETE] * 2 + [ut.TrialState.FAIL]
    assert stored[2].error.startswith("interrupted") and stored[2].params


def test_ctrl_c_with_parallel_trials_books_the_finished_and_cuts_the_running(tmp_path):
    four_booked, release = threading.Event(), threading.Event()

    def count_booked(record):
        count_booked.n += 1
        if count_booked.n == 4:
            four_booked.set()

    count_booked.n = 0

    def objective(params, trial):
        if trial.number == 4:  # Ctrl-C once trials 0-3 are booked, 4 and more running
            four_booked.wait()
            signal.raise_signal(signal.SIGINT)  # the handler runs in the main thread
        if trial.number >= 4:
            release.wait()  # never set while the study runs: these are cut short
        return params["x"] ** 2

    try:
        result = ut.optimize(objective, SPACE, n_trials=12, n_workers=3, seed=0,
                             storage=str(tmp_path / "s.journal"), study_name="p",
                             callbacks=[count_booked])
    finally:
        release.set()
    assert result.interrupted
    states = {t.number: t.state for t in result.trials}
    assert [n for n, s in states.items() if s is ut.TrialState.COMPLETE] == [0, 1, 2, 3]
    cut = [t for t in result.trials if t.state is ut.TrialState.FAIL]
    assert 4 in [t.number for t in cut] and all(t.error.startswith("interrupted") for t in cut)
    assert ut.TrialState.RUNNING not in states.values()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
