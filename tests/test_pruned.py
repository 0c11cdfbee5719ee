"""A pruned trial's value: the last value it reported, as Optuna and the ledger keep it,
whichever engine pruned it; never a candidate for the best trial."""

from __future__ import annotations

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend

import unitune as ut

SPACE = ut.Space(x=ut.Float(0.0, 1.0))


def climbing(params, trial):
    """Reports x at steps 1..4, then returns x + 100: every trial pruned on the way
    looks better than any trial that finished."""
    for step in range(1, 5):
        trial.report(params["x"] * step / 4, step)
    return params["x"] + 100.0


def stored(path, name):
    storage = optuna.storages.JournalStorage(JournalFileBackend(path))
    return {t.number: t for t in optuna.load_study(study_name=name, storage=storage).trials}


def check(result, path, name):
    pruned = [t for t in result.trials if t.state is ut.TrialState.PRUNED]
    assert pruned and result.completed
    frozen = stored(path, name)
    for t in pruned:
        assert t.value == t.intermediate[max(t.intermediate)]  # the last reported value
        assert t.values == (frozen[t.number].value,)  # what the ledger holds
        assert t.to_dict()["values"] == [t.value]
    assert result.best_trial.state is ut.TrialState.COMPLETE
    assert result.best_value == min(t.value for t in result.completed) >= 100.0
    assert result.to_dataframe().set_index("number").loc[pruned[0].number, "value"] == \
        pruned[0].value


def test_a_pruned_optuna_trial_keeps_its_last_value_and_is_never_best(tmp_path):
    path = str(tmp_path / "p.journal")
    result = ut.optimize(climbing, SPACE, backend="optuna:tpe", n_trials=12, seed=0,
                         storage=path, study_name="p",
                         options={"pruner": "threshold", "pruner_options": {"upper": 0.5}})
    check(result, path, "p")


def test_a_trial_pruned_before_any_report_has_no_value():
    def refuses(params):
        raise ut.TrialPruned()

    result = ut.optimize(refuses, SPACE, backend="optuna:random", n_trials=2, seed=0)
    assert [(t.state, t.values) for t in result.trials] == [(ut.TrialState.PRUNED, None)] * 2


def test_a_trial_ray_stops_keeps_its_last_value_and_is_never_best(tmp_path):
    # written by the driver (Ray's scheduler stopped it), not by Optuna's tell: the same
    pytest.importorskip("ray")
    path = str(tmp_path / "r.journal")
    result = ut.optimize(climbing, SPACE, backend="ray:asha", n_trials=8, seed=0,
                         storage=path, study_name="r",
                         options={"max_t": 4, "grace_period": 1, "reduction_factor": 2})
    check(result, path, "r")
