"""Objectives reach the worker processes of the Ray backends, or the run says why not.

A script's objective travels to Ray's workers as (script, name) and the worker imports
the script, as multiprocessing does; what cannot load in a fresh process is refused
before the first trial, naming the object and the fix; and a worker that still cannot
load it ends the study at once with that message (instead of failing every trial).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import unitune as ut
from tests.objectives import LoadsOnlyWithoutRay

SCRIPT = textwrap.dedent('''
    from functools import lru_cache

    import unitune as ut
    from helper import OFFSET          # a module next to the script, not on any path


    class Shift:                       # a class of the script: pickled by name
        def __init__(self, by):
            self.by = by


    @lru_cache(maxsize=1)              # pickled by name too: no __main__ in the worker has it
    def data():
        return Shift(OFFSET)


    def objective(params):
        return (params["x"] - data().by) ** 2


    if __name__ == "__main__":
        result = ut.optimize(objective, ut.Space(x=ut.Float(0, 5)), backend="ray:random",
                             n_trials=3, seed=0, storage="ledger.journal",
                             study_name="s")
        print(sorted(t.state.value for t in result.trials), result.best_value < 25)
''')


def _run(args, cwd, **kw):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, **kw)


def test_a_script_objective_with_a_cached_loader_and_its_own_class_runs_on_ray(tmp_path):
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "train.py").write_text(SCRIPT)
    (tmp_path / "job" / "helper.py").write_text("OFFSET = 3.0\n")
    proc = _run(["job/train.py"], cwd=tmp_path)  # run from elsewhere: job/ is on no path
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "['COMPLETE', 'COMPLETE', 'COMPLETE'] True"


def test_a_module_run_with_python_m_sends_its_objective_to_ray_too(tmp_path):
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "__init__.py").write_text("")
    (tmp_path / "job" / "train.py").write_text(
        SCRIPT.replace("from helper import OFFSET", "OFFSET = 3.0"))
    proc = _run(["-m", "job.train"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "['COMPLETE', 'COMPLETE', 'COMPLETE'] True"


def test_an_objective_a_new_process_cannot_load_is_refused_before_any_trial(tmp_path):
    # ``python -`` has no file a worker could import, so the objective goes by value and
    # the cached loader it calls by name: a fresh process cannot find it
    proc = _run(["-"], cwd=tmp_path, input=SCRIPT.replace("from helper import OFFSET",
                                                          "OFFSET = 3.0"))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "backend 'ray:random' runs the objective in Ray worker processes, but objective " \
           "'__main__.objective' cannot be loaded in a new Python process: AttributeError: " \
           "Can't get attribute 'data'" in last
    assert "move the objective and what it uses into a script or module file" in last
    assert ut.load("s", str(tmp_path / "ledger.journal")).trials == ()


def test_a_script_that_starts_its_study_when_imported_is_told_where_to_put_the_call(
        tmp_path):
    script = SCRIPT.replace("from helper import OFFSET", "OFFSET = 3.0").replace(
        'if __name__ == "__main__":', "if True:")
    (tmp_path / "train.py").write_text(script)
    proc = _run(["train.py"], cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].endswith(
        f"{tmp_path / 'train.py'} starts a study when it is imported, and a worker process "
        'imports it to find the objective; put the call under `if __name__ == "__main__":`')


def test_a_worker_that_cannot_load_the_objective_ends_the_study_at_once(tmp_path):
    storage = str(tmp_path / "ledger.journal")
    with pytest.raises(ut.ObjectiveError) as err:
        ut.optimize(LoadsOnlyWithoutRay(), ut.Space(x=ut.Float(0, 1)), backend="ray:random",
                    n_trials=8, seed=0, storage=storage, study_name="s")
    message = str(err.value)
    assert message.startswith("objective 'tests.objectives.LoadsOnlyWithoutRay' cannot be "
                              "loaded in a worker process: ModuleNotFoundError: No module "
                              "named 'only_on_the_driver'")
    trials = ut.load("s", storage).trials
    assert 1 <= len(trials) < 8  # the first failure ended it: not 8 failed trials
    assert all(t.state is ut.TrialState.FAIL for t in trials)
    assert trials[0].error == message
