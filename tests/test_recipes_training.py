"""The training recipes run end to end on tiny budgets: trial counts, best params in the
space, pruning where pruning is the point, concurrency on Ray, a CNN better than chance."""

from __future__ import annotations

import pytest
from rendezvous import meet, met

import unitune as ut
from recipes import async_parallel, hyperband, optuna_xgboost, vision

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


def test_optuna_xgboost_prunes_after_folds_and_scores_like_cross_val_score(capsys):
    from sklearn.model_selection import cross_val_score
    from xgboost import XGBClassifier

    assert optuna_xgboost.SLIDE == 4 and list(optuna_xgboost.SPACE) == [  # the slide's six
        "n_estimators", "max_depth", "learning_rate", "min_child_weight", "subsample",
        "colsample_bytree"]
    result = optuna_xgboost.main(["--n-trials", "12", "--cv", "3", "--max-estimators", "50"])
    assert len(result.trials) == 12
    assert in_space(optuna_xgboost.SPACE, result.best_params)
    assert_pruning(result, max_steps=2)  # reports after folds 1 and 2 of 3
    # a finished trial's value is the slide's number: cross_val_score's mean accuracy
    X, y = optuna_xgboost._data()
    best = {**result.best_params, "n_estimators": 50}  # --max-estimators 50
    slide = cross_val_score(XGBClassifier(**best, n_jobs=1, random_state=0), X, y, cv=3,
                            scoring="accuracy").mean()
    assert result.best_value == pytest.approx(slide, abs=1e-12)
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("pruning: Optuna's median pruner")
    pruned = sum(t.state is PRUNED for t in result.trials)
    fits = sum(3 if t.state is COMPLETE else len(t.intermediate) for t in result.trials)
    assert f"12 trials, {12 - pruned} complete, {pruned} pruned, 0 failed; {fits} of 36" in out[-2]


def test_optuna_xgboost_on_a_backend_without_pruning_says_so_and_reports_nothing(capsys,
                                                                                  recwarn):
    result = optuna_xgboost.main(["--backend", "skopt:gp", "--n-trials", "3", "--cv", "2",
                                  "--max-estimators", "10"])
    assert [t.state for t in result.trials] == [COMPLETE] * 3
    assert all(not t.intermediate for t in result.trials)
    out = capsys.readouterr().out
    assert "no pruning (skopt:gp does not prune): every trial runs all 2 folds" in out
    assert "6 of 6 fold fits run" in out
    # no trial.report, so no warning that reports are not pruned on skopt
    assert not [w for w in recwarn if "does not prune" in str(w.message)]


def test_optuna_xgboost_early_stopping_stops_boosting_in_each_fold():
    from xgboost import XGBClassifier

    X, y = optuna_xgboost._data()
    model = optuna_xgboost._fit(XGBClassifier(n_estimators=500, learning_rate=0.5, n_jobs=1),
                                X, y, early_stopping=5)
    assert model.best_iteration < 100  # stopped long before 500 rounds
    assert model.get_booster().num_boosted_rounds() == model.best_iteration + 6
    plain = optuna_xgboost._fit(XGBClassifier(n_estimators=50, n_jobs=1), X, y, 0)
    assert plain.get_booster().num_boosted_rounds() == 50


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


def test_vision_cnn_beats_chance_and_pruned_trials_stop_early():
    result = vision.main(["--n-trials", "7", "--epochs", "2"])
    assert len(result.trials) == 7
    assert in_space(vision.SPACE, result.best_params)
    assert result.best_value > 0.3  # chance is 0.1
    complete = [len(t.intermediate) for t in result.trials if t.state is COMPLETE]
    assert complete and all(n == 2 for n in complete)
    assert all(len(t.intermediate) < 2 for t in result.trials if t.state is PRUNED)
