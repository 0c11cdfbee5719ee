"""The training recipes run end to end on tiny budgets: trial counts, best params in the
space, the technique at work (pruning at its rungs, early stopping with the best epoch
restored, PBT's exploits, trials overlapping)."""

from __future__ import annotations

import re

import pytest
from rendezvous import meet, met

import unitune as ut
from recipes import async_parallel, early_stopping, hyperband, optuna_xgboost, pbt, pruning

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


SLIDE_4_SPACE = ut.Space(  # what slide 4's six trial.suggest_* calls declare
    n_estimators=ut.Int(100, 1000),
    max_depth=ut.Int(2, 10),
    learning_rate=ut.Float(1e-4, 1e-1, log=True),
    min_child_weight=ut.Int(1, 7),
    subsample=ut.Float(0.6, 1.0),
    colsample_bytree=ut.Float(0.6, 1.0),
)


def test_optuna_xgboost_prunes_after_folds_and_scores_like_cross_val_score(capsys):
    from sklearn.model_selection import cross_val_score
    from xgboost import XGBClassifier

    assert optuna_xgboost.SLIDE == 4
    result = optuna_xgboost.main(["--n-trials", "12", "--cv", "3", "--max-estimators", "50"])
    assert len(result.trials) == 12
    # define-by-run, as the slide: the study's space is the slide's six suggest_* calls
    assert result.space == SLIDE_4_SPACE
    assert in_space(SLIDE_4_SPACE, result.best_params)
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


def stop_epoch(t: ut.TrialRecord) -> int:
    """The last epoch a trial reported (each recipe reports with step = epochs trained)."""
    return max(t.intermediate, default=0)


def test_hyperband_optuna_pruner_stops_trials_at_its_rungs(capsys):
    result = hyperband.main(["--n-trials", "10", "--max-epochs", "9", "--quiet"])
    assert len(result.trials) == 10
    assert in_space(hyperband.SPACE, result.best_params)
    assert_pruning(result, max_steps=9)
    for t in result.trials:
        assert sorted(t.intermediate) == list(range(1, stop_epoch(t) + 1))  # every epoch
        if t.state is COMPLETE:
            assert stop_epoch(t) == 9 and t.value == t.intermediate[9]
        else:  # successive halving stops trials at its rungs: 1, 3 (9 is the end)
            assert stop_epoch(t) in (1, 3, 9)
    assert sum(len(t.intermediate) for t in result.trials) < 10 * 9
    out = capsys.readouterr().out
    assert "HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)" in out
    assert "epochs trained" in out


def test_hyperband_runs_on_ray_hyperband(capsys):
    result = hyperband.main(["--backend", "ray:hyperband", "--n-trials", "6", "--max-epochs",
                             "3", "--workers", "2", "--quiet"])
    assert result.backend == "ray:hyperband" and len(result.trials) == 6
    assert in_space(hyperband.SPACE, result.best_params)
    assert all(1 <= len(t.intermediate) <= 3 for t in result.trials)
    assert 0.1 < result.best_value <= 1.0
    assert "ray:hyperband (max_t=3, reduction_factor=3)" in capsys.readouterr().out


def test_hyperband_on_skopt_trains_every_trial_fully_and_says_so(capsys, recwarn):
    result = hyperband.main(["--backend", "skopt:gp", "--n-trials", "3", "--max-epochs", "2"])
    assert all(t.state is COMPLETE and sorted(t.intermediate) == [1, 2] for t in result.trials)
    assert "skopt:gp does not prune: every trial trains its full 2 epochs" in \
        capsys.readouterr().out
    assert not [w for w in recwarn if "does not prune" in str(w.message)]  # said once, above


def test_hyperband_refuses_pbt_at_parse_time(capsys):
    with pytest.raises(SystemExit) as stop:
        hyperband.main(["--backend", "ray:pbt"])
    assert stop.value.code == 2
    assert "--backend ray:pbt: PBT changes the params" in capsys.readouterr().err


def test_pbt_members_copy_a_better_network_and_perturb_its_params(capsys, monkeypatch,
                                                                  tmp_path):
    # The recipe's objective, but the 4 members wait for each other at their first start
    # (through files: they run in Ray's workers): asynchronous PBT compares the members
    # running at the same time, and a loaded machine may start one worker late.
    folder, objective = str(tmp_path), pbt.objective

    def together(params, trial, steps=pbt.STEPS):
        if trial.restore() is None:
            meet(folder, 4)
        return objective(params, trial, steps)

    monkeypatch.setattr(pbt, "objective", together)
    result = pbt.main(["--n-trials", "4", "--steps", "6", "--interval", "2", "--quiet"])
    assert result.backend == "ray:pbt" and len(result.completed) == 4
    assert met(folder) == ["met-0", "met-1", "met-2", "met-3"]
    events = pbt.exploits(result)
    assert events
    numbers = {t.number for t in result.trials}
    for e in events:
        assert e["step"] % 2 == 0 and e["copied_from"] in numbers - {e["trial"]}
        changed = {k for k, v in e["params_after"].items() if v != e["params_before"][k]}
        assert changed  # the copy trains on with other params
    for t in result.trials:
        # Every member ends with a network trained 6 epochs: its own, or one it copied
        # at epoch 6 (from a member that had finished), which it returns as it is.
        history = t.user_attrs.get(pbt.HISTORY) or []
        copied_at_the_end = bool(history) and history[-1]["step"] == 6
        assert stop_epoch(t) == 6 or copied_at_the_end
        if not copied_at_the_end:
            assert t.value == t.intermediate[6]
        assert in_space(pbt.SPACE, t.params)
    assert 0.5 < result.best_value <= 1.0
    out = capsys.readouterr().out
    assert "asynchronous PBT: every 2 step(s) the bottom 20% copy" in out
    assert f"4 members, {len(events)} exploits" in out
    assert "took trial" in out


def test_pbt_runs_on_optuna_with_fixed_params_per_trial(capsys):
    # It was refused: the recipe passed Ray's PBT options to every backend.
    result = pbt.main(["--backend", "optuna:tpe", "--n-trials", "3", "--steps", "3"])
    assert result.backend == "optuna:tpe" and len(result.trials) == 3
    assert all(t.state is COMPLETE and sorted(t.intermediate) == [1, 2, 3]
               for t in result.trials)  # no pruner: every trial trains its steps
    assert pbt.exploits(result) == []
    out = capsys.readouterr().out
    assert "optuna:tpe: no exploit/explore (that is ray:pbt)" in out
    with pytest.raises(SystemExit):
        pbt.main(["--backend", "optuna:tpe", "--synch"])
    assert "--synch: synchronous PBT is ray:pbt's" in capsys.readouterr().err


def test_early_stopping_restores_the_best_epoch_and_prunes_across_trials(capsys):
    result = early_stopping.main(["--n-trials", "12"])
    assert len(result.trials) == 12
    assert_pruning(result, max_steps=early_stopping.MAX_EPOCHS)
    patience = early_stopping.PATIENCE
    restored_earlier = 0
    for t in result.completed:
        scores = t.intermediate
        best = min(e for e, s in scores.items() if s == max(scores.values()))
        # Patience: stopped exactly `patience` epochs after the best one, none of which
        # beat it (accuracy on 200 samples moves by 0.005, more than min_delta).
        assert stop_epoch(t) == best + patience < early_stopping.MAX_EPOCHS
        # restore_best_weights: the value is the best epoch's score, not the last one's
        assert t.value == scores[best]
        restored_earlier += scores[stop_epoch(t)] < t.value
    assert restored_earlier >= 1
    out = capsys.readouterr().out
    for t in result.completed:
        assert f"stopped at epoch {stop_epoch(t)} (no gain > 0.001 for 5 epochs)" in out
    assert re.search(r"pruned at epoch \d+ by Optuna's MedianPruner\(n_startup_trials=5", out)
    assert "on the held-out test set" in out


def test_early_stopping_without_pruning_on_skopt(capsys, recwarn):
    result = early_stopping.main(["--backend", "skopt:gp", "--n-trials", "3",
                                  "--max-epochs", "30", "--quiet"])
    assert all(t.state is COMPLETE for t in result.trials)
    assert any(stop_epoch(t) < 30 for t in result.trials)  # early stopping still works
    assert "across trials: no pruning (skopt:gp does not prune)" in capsys.readouterr().out
    assert not [w for w in recwarn if "does not prune" in str(w.message)]


def test_pruning_percentile_pruner_stops_trials_at_the_evaluation_points(capsys):
    result = pruning.main(["--n-trials", "12", "--max-epochs", "10", "--quiet"])
    points = pruning.evaluation_epochs(10)
    assert points == [1, 3, 5, 7, 10]
    assert_pruning(result, max_steps=len(points))
    for t in result.trials:
        assert sorted(t.intermediate) == points[:len(t.intermediate)]
    assert all(t.state is COMPLETE for t in result.trials[:pruning.STARTUP_TRIALS])
    pruned = sum(t.state is PRUNED for t in result.trials)
    saved = 12 * 10 - pruning.epochs_trained(result, 10)
    assert saved > 0
    out = capsys.readouterr().out
    assert "PercentilePruner(percentile=50, n_startup_trials=5)" in out
    assert f"12 trials, {pruned} pruned, 0 failed; {120 - saved} of 120 epochs trained, " \
           f"{saved} saved" in out


def test_pruning_asha_trains_a_fraction_of_the_epochs_of_the_same_trials():
    # One worker: which trials ASHA stops then depends only on the seed.
    pruned = pruning.search("ray:asha", 12, seed=3, max_epochs=10)
    full = pruning.search("ray:asha", 12, seed=3, max_epochs=10, pruning=False)
    assert (pruned.backend, full.backend) == ("ray:asha", "ray:random")
    # The same seed gives both runs the same configurations, in the same order.
    assert [t.params for t in pruned.trials] == [t.params for t in full.trials]
    states = [t.state for t in pruned.trials]
    assert states.count(PRUNED) >= len(states) / 2
    assert all(t.state is COMPLETE for t in full.trials)
    for t in pruned.trials:
        assert set(t.intermediate) <= set(pruning.evaluation_epochs(10))
        if t.state is COMPLETE:
            assert t.value == t.intermediate[10]
    ratio = pruning.epochs_trained(pruned, 10) / pruning.epochs_trained(full, 10)
    assert ratio <= 0.6, ratio
    assert 0.5 < pruned.best_value <= full.best_value


def test_pruning_compare_is_refused_where_nothing_prunes(capsys):
    with pytest.raises(SystemExit):
        pruning.main(["--backend", "pymoo:ga", "--compare"])
    assert "--compare: pymoo:ga does not prune" in capsys.readouterr().err


def test_async_parallel_runs_two_trials_at_once(capsys, monkeypatch, tmp_path):
    # The recipe's objective, but its first two trials wait for each other (through
    # files: they run in Ray's worker processes) before training, up to 60 s, which only
    # bounds a failing run: a second Ray worker starting seconds late still meets the
    # first. Both leave a met- file only if they ran at the same time.
    folder, objective = str(tmp_path), async_parallel.objective

    def meeting_first(params, epochs=async_parallel.EPOCHS):
        meet(folder, 2)
        return objective(params, epochs)

    monkeypatch.setattr(async_parallel, "objective", meeting_first)
    result = async_parallel.main(["--n-trials", "4", "--workers", "2", "--epochs", "2",
                                  "--quiet"])
    assert met(folder) == ["met-0", "met-1"]
    assert result.backend == "ray:optuna" and len(result.trials) == 4
    assert all(t.state is COMPLETE for t in result.trials)
    assert in_space(async_parallel.SPACE, result.best_params)
    # The ledger shows the overlap the recipe prints: Ray books a trial before its
    # objective runs and ends it after, so the two that met overlap there too; two CPUs
    # run no more than two.
    assert async_parallel.max_concurrency(result) == 2
    out = capsys.readouterr().out
    assert "trials/s" in out and "at most 2 trials ran at once" in out


def test_async_parallel_workers_are_threads_elsewhere(capsys, monkeypatch, tmp_path):
    folder, objective = str(tmp_path), async_parallel.objective

    def meeting_first(params, epochs=async_parallel.EPOCHS):
        meet(folder, 3)
        return objective(params, epochs)

    monkeypatch.setattr(async_parallel, "objective", meeting_first)
    result = async_parallel.main(["--backend", "optuna:tpe", "--n-trials", "3",
                                  "--workers", "3", "--epochs", "2"])
    assert met(folder) == ["met-0", "met-1", "met-2"]
    assert async_parallel.max_concurrency(result) == 3
    out = capsys.readouterr().out
    assert "optuna:tpe: 3 thread(s) in this process" in out
    assert "at most 3 trials ran at once" in out

