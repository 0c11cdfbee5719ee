"""The recipes pass on ``--executor process`` (``ut.ScriptParser(..., execution=True)``):
their objectives go to worker processes, imported from the recipe as a module or, run
as a script, sent by the script's path and name. Tiny budgets; cheap recipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import unitune as ut
from recipes import random_search

ROOT = Path(__file__).resolve().parents[1]


def pid_of(record: ut.TrialRecord) -> int:
    return int(record.worker.rpartition(":")[2])


def test_a_recipe_s_partial_objective_runs_in_worker_processes():
    result = random_search.main(["--n-trials", "3", "--cv", "2", "--workers", "2",
                                 "--executor", "process", "--quiet"])
    assert [t.state for t in result.trials] == [ut.TrialState.COMPLETE] * 3
    pids = {pid_of(t) for t in result.trials}
    assert os.getpid() not in pids  # the objective ran in the workers, not here


def test_a_recipe_run_as_a_script_sends_its_objective_to_worker_processes(tmp_path):
    storage = str(tmp_path / "s.journal")
    script = subprocess.Popen(
        [sys.executable, str(ROOT / "recipes" / "quickstart.py"), "--n-trials", "3",
         "--executor", "process", "--trial-timeout", "600", "--storage", storage, "--quiet"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    _, err = script.communicate()
    assert script.returncode == 0, err
    trials = ut.load("quickstart/optuna:tpe", storage).trials
    assert [t.state for t in trials] == [ut.TrialState.COMPLETE] * 3
    pids = {pid_of(t) for t in trials}
    assert len(pids) == 1 and script.pid not in pids  # the script's one worker ran them
