"""Resuming a study: a seeded run killed and restarted continues its engine's search
instead of replaying it."""

from __future__ import annotations

import optuna
import pytest

import unitune as ut
from benchmarks.resume_kills import kill_and_resume
from unitune.adapters.base import resumed_seed

SPACE = ut.Space(x=ut.Float(-5.0, 5.0), y=ut.Float(-5.0, 5.0))


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
