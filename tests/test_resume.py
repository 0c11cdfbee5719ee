"""Resuming a study: a seeded run killed and restarted continues its engine's search
instead of replaying it, and a trial another program left RUNNING does not hold the
budget for ever."""

from __future__ import annotations

import os
import subprocess
import sys

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend

import unitune as ut
from benchmarks.resume_kills import kill_and_resume
from unitune.adapters.base import resumed_seed

SPACE = ut.Space(x=ut.Float(-5.0, 5.0), y=ut.Float(-5.0, 5.0))
POSTGRES = "postgresql://unitune:unitune@127.0.0.1:5432/unitune"


def bowl(params):
    return (params["x"] - 0.3) ** 2 + (params["y"] + 0.2) ** 2


def keys(result):
    return [tuple(sorted(t.params.items())) for t in result.completed]


# Every engine family that takes a seed; small populations so a few trials span them.
SEEDED = {
    "optuna:random": {}, "optuna:tpe": {}, "optuna:cmaes": {"popsize": 4},
    "optuna:qmc": {"scramble": True}, "skopt:gp": {"n_initial_points": 4, "acq_optimizer": "sampling",
                 "acq_optimizer_kwargs": {"n_points": 500}},
    "pymoo:ga": {"pop_size": 4}, "ray:random": {}, "ray:optuna": {},
}


def resumed_in_parts(backend, parts, path):
    """A seeded study run to ``parts[-1]`` trials by one run per part, each resuming it."""
    for n_trials in parts:
        result = ut.optimize(bowl, SPACE, backend=backend, n_trials=n_trials, seed=0,
                             storage=str(path), study_name="parts",
                             options=SEEDED[backend])
    return result


@pytest.mark.parametrize("backend", SEEDED)
def test_a_resumed_seeded_study_continues_its_search(backend, tmp_path):
    # Rebuilt with the first run's seed, an engine draws the first run's points again:
    # optuna:random repeated every earlier point, TPE its random startup trials.
    ray = backend.startswith("ray:")  # a Tuner costs seconds: fewer parts, run once
    parts = (2, 4) if ray else (3, 6, 9) if backend.startswith("skopt:") else (3, 6, 9, 12)
    result = resumed_in_parts(backend, parts, tmp_path / "a.journal")
    assert len(result.completed) == parts[-1]
    assert len(set(keys(result))) == parts[-1], "a resumed run repeated earlier params"
    if not ray:  # the engine's seed is drawn from the seed and the ledger: it repeats
        again = resumed_in_parts(backend, parts, tmp_path / "b.journal")
        assert keys(again) == keys(result)


def test_qmc_continues_its_one_sequence():
    # QMC counts its points in the study: a resume draws the next points of the same
    # scrambled sequence, exactly what an uninterrupted run draws
    storage = optuna.storages.InMemoryStorage()
    for n_trials in (3, 5, 8):
        parts = ut.optimize(bowl, SPACE, backend="optuna:qmc", n_trials=n_trials, seed=0,
                            storage=storage, study_name="q", options={"scramble": True})
    whole = ut.optimize(bowl, SPACE, backend="optuna:qmc", n_trials=8, seed=0,
                        options={"scramble": True})
    assert keys(parts) == keys(whole)


def test_the_seed_of_a_resumed_engine():
    assert resumed_seed(7, 0) == 7  # a new study: the engine's own seed, as called directly
    assert resumed_seed(None, 12) is None
    drawn = {resumed_seed(7, n) for n in range(1, 50)} | {resumed_seed(8, 3)}
    assert len(drawn) == 50 and 7 not in drawn
    assert all(0 <= s < 2**32 for s in drawn)  # what every engine accepts
    assert resumed_seed(7, 12) == resumed_seed(7, 12)


@pytest.mark.parametrize("backend", ["optuna:random", "optuna:tpe"])
def test_a_seeded_run_killed_again_and_again_never_repeats_params(backend, tmp_path):
    """SIGKILL inside the objective after 1 to 3 new trials, 5 times, then the same
    command: every trial is there once, no params twice, no restart without progress.
    (benchmarks/resume_kills.py runs 20 kills of 60 trials on every seeded family.)"""
    row = kill_and_resume(backend, tmp_path, trials=16, kills=5, most=3)
    assert row["kills"] == 5 and row["final"] == "finished", row
    assert (row["lost"], row["duplicated"], row["stalled"]) == (0, 0, 0), row
    assert row["complete"] == 16


def _plain_optuna_ask(storage, name):
    """What a user's script does on the study: ``study.ask()``, never told."""
    if isinstance(storage, str) and "://" not in storage:
        storage = optuna.storages.JournalStorage(JournalFileBackend(storage))
    return optuna.load_study(study_name=name, storage=storage).ask()


@pytest.mark.parametrize("kind", ["journal", "postgresql"])
def test_a_trial_asked_by_plain_optuna_and_never_told_does_not_hold_the_budget(kind,
                                                                                tmp_path):
    # 27 finished trials for n_trials=28, for ever: the foreign RUNNING trial counted
    storage = str(tmp_path / "s.journal") if kind == "journal" else POSTGRES
    name = f"unitune-test-foreign-{tmp_path.name}-{os.getpid()}"
    ut.optimize(bowl, SPACE, n_trials=3, seed=0, storage=storage, study_name=name)
    foreign = _plain_optuna_ask(storage, name)
    result = ut.optimize(bowl, SPACE, n_trials=6, seed=0, storage=storage, study_name=name)
    assert len(result.completed) == 6
    # unitune cannot tell whether the program that asked is alive: the trial stays its
    running = [t for t in result.trials if t.state is ut.TrialState.RUNNING]
    assert [t.number for t in running] == [foreign.number] and running[0].backend is None
    # and when that program tells it after all, the study holds it as told
    foreign.study.tell(foreign, 1.0)
    again = ut.optimize(bowl, SPACE, n_trials=6, seed=0, storage=storage, study_name=name)
    assert len(again.completed) == 7 and not [t for t in again.trials
                                              if t.state is ut.TrialState.RUNNING]


def test_show_names_the_running_trials_unitune_did_not_start(tmp_path):
    path = str(tmp_path / "s.journal")
    ut.optimize(bowl, SPACE, n_trials=2, seed=0, storage=path, study_name="s")
    number = _plain_optuna_ask(path, "s").number
    shown = subprocess.run([sys.executable, "-m", "unitune.cli", "show", "--study", "s",
                            "--storage", path, "--summary"],
                           capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in shown.splitlines() if "not started by unitune" in ln)
    assert line.startswith(f"1 RUNNING trial(s) not started by unitune: #{number} (since ")
    assert "do not count toward n_trials" in line
    assert "study.tell(NUMBER, state=optuna.trial.TrialState.FAIL)" in line
