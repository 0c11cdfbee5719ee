"""The training recipes run end to end on tiny budgets: trial counts, best params in the
space, pruning where pruning is the point, concurrency on Ray."""

from __future__ import annotations

from rendezvous import meet, met

import unitune as ut
from recipes import async_parallel, hyperband, optuna_xgboost

PRUNED, COMPLETE = ut.TrialState.PRUNED, ut.TrialState.COMPLETE


def in_space(space: ut.Space, params: dict) -> bool:
    """Every parameter of the space is present and inside its bounds, step or choices."""
    return set(params) == set(space) and all(space[n].contains(params[n]) for n in space)


def assert_pruning(result: ut.Result, max_steps: int) -> None:
    states = [t.state for t in result.trials]
    assert states.count(PRUNED) >= 1, states
    assert ut.TrialState.FAIL not in states
    # a pruner may also stop a trial at its last report, but some stop before it
    assert min(len(t.intermediate) for t in result.trials if t.state is PRUNED) < max_steps
    assert all(len(t.intermediate) >= 1 for t in result.trials)


def test_optuna_xgboost_prunes_and_stops_early(capsys):
    result = optuna_xgboost.main(["--n-trials", "10", "--rounds", "60", "--report-every", "5",
                                  "--patience", "10"])
    assert len(result.trials) == 10
    assert in_space(optuna_xgboost.SPACE, result.best_params)
    assert_pruning(result, max_steps=60 // 5)
    assert 0.9 < result.best_value <= 1.0  # validation AUC
    assert "pruned" in capsys.readouterr().out


def test_hyperband_optuna_pruner_trains_a_fraction_of_the_epochs(capsys):
    result = hyperband.main(["--n-trials", "10", "--epochs", "9"])
    assert len(result.trials) == 10
    assert in_space(hyperband.SPACE, result.best_params)
    assert_pruning(result, max_steps=9)
    for t in result.trials:
        if t.state is COMPLETE:
            assert len(t.intermediate) == 9 and t.value == t.intermediate[9]
    assert sum(len(t.intermediate) for t in result.trials) < 10 * 9
    assert "epochs trained" in capsys.readouterr().out


def test_hyperband_runs_on_ray_hyperband():
    result = hyperband.main(["--backend", "ray:hyperband", "--n-trials", "6", "--epochs", "3",
                             "--workers", "2"])
    assert len(result.trials) == 6
    assert in_space(hyperband.SPACE, result.best_params)
    assert all(1 <= len(t.intermediate) <= 3 for t in result.trials)
    assert 0.1 < result.best_value <= 1.0


def test_async_parallel_runs_two_trials_at_once(capsys, monkeypatch, tmp_path):
    # The recipe's objective, but its first two trials wait for each other (through
    # files: they run in Ray's worker processes) before training, up to 60 s, which only
    # bounds a failing run: a second Ray worker starting seconds late still meets the
    # first. Both leave a met- file only if they ran at the same time.
    folder, forest_wine = str(tmp_path), async_parallel.forest_wine

    def meeting_first(params):
        meet(folder, 2)
        return forest_wine(params)

    monkeypatch.setattr(async_parallel, "forest_wine", meeting_first)
    result = async_parallel.main(["--n-trials", "4", "--workers", "2"])
    assert met(folder) == ["met-0", "met-1"]
    assert len(result.trials) == 4
    assert all(t.state is COMPLETE for t in result.trials)
    assert in_space(async_parallel.SPACE, result.best_params)
    # The ledger shows the overlap the recipe prints: Ray books a trial before its
    # objective runs and ends it after, so the two that met overlap there too; two CPUs
    # run no more than two.
    assert async_parallel.max_concurrency(result) == 2
    out = capsys.readouterr().out
    assert "trials/s" in out and "at most 2 trials ran at once" in out

