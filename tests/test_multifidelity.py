"""The multi-fidelity and parallel families of the benchmark suite: an objective that
reports every epoch and stops when pruned, the same scheduler budgets in every engine,
and the figures computed from the ledger's trials."""

from __future__ import annotations

import inspect
import math
from functools import partial

import pytest

import unitune as ut
from benchmarks import multifidelity as mf
from benchmarks import parallel
from benchmarks.problems import BRANIN
from unitune.adapters import get

PARAMS = {"learning_rate_init": 0.01, "alpha": 1e-4, "hidden_size": 32, "batch_size": 128,
          "activation": "relu"}
FULL = mf.FULL_TRAINING


def _run(epochs: int, options: dict, n_trials: int = 2) -> ut.Result:
    return ut.optimize(partial(mf.mlp_digits, epochs=epochs), mf.SPACE,
                       backend="optuna:random", direction="maximize", n_trials=n_trials,
                       seed=0, options=options)


def test_the_objective_reports_every_epoch_and_repeats():
    first, again = _run(4, mf.NO_PRUNING), _run(4, mf.NO_PRUNING)
    for t in first.trials:
        assert t.state is ut.TrialState.COMPLETE
        assert sorted(t.intermediate) == [1, 2, 3, 4]
        assert t.value == t.intermediate[4]  # the accuracy after the last epoch
    assert [t.intermediate for t in first.trials] == [t.intermediate for t in again.trials]
    assert mf.epochs_spent(first) == 2 * 4


def test_the_objective_stops_training_when_pruned():
    # Optuna's ThresholdPruner: every accuracy is below 1.1, so each trial is pruned at
    # its first step allowed (n_warmup_steps=2), and trains no further epoch
    result = _run(6, {"pruner": "threshold",
                      "pruner_options": {"lower": 1.1, "n_warmup_steps": 2}})
    assert [t.state for t in result.trials] == [ut.TrialState.PRUNED] * 2
    assert [sorted(t.intermediate) for t in result.trials] == [[1, 2], [1, 2]]
    assert mf.epochs_spent(result) == 4


def test_a_resumed_trial_continues_where_its_checkpoint_left_it():
    """Ray's Hyperband pauses trials and resumes them from their checkpoint: the network
    trained 2 + 2 epochs is the one trained 4 epochs at once."""
    paused = ut.Trial(0, PARAMS)  # a hand-made Trial: records nothing, never prunes
    mf.mlp_digits(PARAMS, paused, epochs=2)
    resumed = ut.Trial(0, PARAMS)
    resumed.checkpoint(paused.restore())
    assert resumed.restore()[1] == 2
    assert mf.mlp_digits(PARAMS, resumed, epochs=4) == mf.mlp_digits(
        PARAMS, ut.Trial(0, PARAMS), epochs=4)


def _halving_rungs(min_epochs: int, factor: int, max_epochs: int) -> list[int]:
    return [min_epochs * factor**k for k in range(64) if min_epochs * factor**k <= max_epochs]


def test_the_fairness_rules_reach_every_engine():
    """Each variant's options, built into its engine by unitune's own code, give the same
    full training, minimum resource, reduction factor (hence rungs) and median start."""
    pytest.importorskip("ray")
    from unitune.adapters.optuna import make_pruner
    from unitune.adapters.ray._engine import _scheduler

    s = mf.SCHEDULE
    rungs = _halving_rungs(s["min_epochs"], s["reduction_factor"], s["max_epochs"])
    assert rungs == [1, 3, 9, 27] and s["max_epochs"] == mf.EPOCHS
    built = {}
    for label, backend, options in mf.VARIANTS:
        if backend.startswith("optuna:"):
            built[label] = make_pruner(options["pruner"], options.get("pruner_options"))
        elif backend != "ray:random":
            built[label] = _scheduler(backend.split(":")[1], options, "max", None, 0)
    assert {type(p).__name__ for label, p in built.items() if label in ("tpe", FULL)} == {
        "NopPruner"}  # no pruning is asked for: optuna:* would prune with the median rule
    assert get("ray:random").scheduler == "fifo"
    for label in ("tpe+sh", "random+sh"):
        sh = built[label]
        assert (sh._min_resource, sh._reduction_factor, sh._min_early_stopping_rate) == (
            s["min_epochs"], s["reduction_factor"], 0)
    hb = built["tpe+hyperband"]
    assert (hb._min_resource, hb._max_resource, hb._reduction_factor) == (
        s["min_epochs"], s["max_epochs"], s["reduction_factor"])
    n_brackets = math.floor(math.log(hb._max_resource / hb._min_resource,
                                     hb._reduction_factor) + 1e-9) + 1  # Optuna's rule
    ray_hb = built["ray:hyperband"]
    assert ray_hb._s_max_1 == n_brackets == len(rungs)  # 4 brackets in both engines
    assert ray_hb._get_r0(ray_hb._s_max_1 - 1) == s["min_epochs"]  # its smallest rung
    assert (ray_hb._max_t_attr, ray_hb._eta) == (s["max_epochs"], s["reduction_factor"])
    (bracket,) = built["ray:asha"]._brackets
    assert sorted(milestone for milestone, _ in bracket._rungs) == rungs
    median, ray_median = built["tpe+median"], built["ray:median"]
    assert median._n_startup_trials == ray_median._min_samples_required == s[
        "median_startup_trials"]
    # the earliest step a trial may be stopped at: Optuna's n_warmup_steps, Ray's grace
    assert median._n_warmup_steps == ray_median._grace_period == s["min_epochs"]



def test_the_defaults_the_rules_name_are_the_engines_own():
    """The comment above SCHEDULE says which engine defaults the rules change; if an
    engine changes its defaults, it must be said again."""
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("ray")
    from ray.tune import schedulers

    from unitune.adapters.ray._options import SCHEDULER_OPTIONS

    def default(cls, name):
        return inspect.signature(cls).parameters[name].default

    p = optuna.pruners
    assert default(p.SuccessiveHalvingPruner, "reduction_factor") == 4
    assert default(p.SuccessiveHalvingPruner, "min_resource") == "auto"
    assert default(p.HyperbandPruner, "reduction_factor") == 3
    assert default(p.HyperbandPruner, "min_resource") == 1
    assert default(p.MedianPruner, "n_startup_trials") == 5
    assert default(schedulers.ASHAScheduler, "reduction_factor") == 4
    assert default(schedulers.HyperBandScheduler, "reduction_factor") == 3
    assert default(schedulers.MedianStoppingRule, "min_samples_required") == 3
    assert SCHEDULER_OPTIONS["asha"]["grace_period"] == 1  # unitune's, in steps
    for label, backend, options in mf.VARIANTS:  # every option is one the backend takes
        assert set(options) <= set(get(backend).accepted_options()), label


def test_a_pruner_spends_fewer_epochs_than_no_pruning(tmp_path):
    schedule = {**mf.SCHEDULE, "max_epochs": 9}
    chosen = [v for v in mf.variants(schedule) if v[0] in (FULL, "random+sh")]
    cmp = mf.compare(8, [0], chosen=chosen, epochs=9)
    runs = cmp.runs
    full, pruned = (r.result for r in runs)
    assert [t.params for t in full.trials] == [t.params for t in pruned.trials]
    assert mf.epochs_spent(full) == 8 * 9
    assert any(t.state is ut.TrialState.PRUNED for t in pruned.trials)
    assert mf.epochs_spent(pruned) < mf.epochs_spent(full)
    curve = mf.budget_curve(pruned)
    assert curve[-1] == (mf.epochs_spent(pruned), pruned.best_value)
    assert [e for e, _ in curve] == sorted(e for e, _ in curve)
    anchor = mf.asha_anchor(runs, pruned="random+sh", full=FULL)
    (seed,) = anchor["seeds"]
    assert seed["epochs_ratio"] == mf.epochs_spent(pruned) / (8 * 9)
    assert seed["gap_points"] == pytest.approx(100 * (full.best_value - pruned.best_value))
    table = mf.summary(cmp, epochs=9)
    assert table.loc[FULL, "epochs_share"] == 1.0 and table.loc[FULL, "pruned"] == 0
    assert table.loc["random+sh", "epochs_share"] < 1.0
    report = mf.family_report(cmp, tmp_path, epochs=9)  # what the suite writes
    assert (tmp_path / "multifidelity.png").stat().st_size > 0
    assert "random+sh" in report["markdown"] and report["schedule"] == mf.SCHEDULE


def test_parallel_rows_pair_each_run_with_its_one_worker_run():
    rows = parallel.parallel_rows(BRANIN, ["optuna:random"], 6, [0], workers=(1, 2))
    assert list(rows["n_workers"]) == [1, 2]
    one, two = rows.iloc[0], rows.iloc[1]
    assert one["T"] == two["T"]  # the 1-worker run's time for half its trials
    assert one["trials_at_T"] >= 3 and one["best_at_T"] >= one["best"]
    assert one["regret"] == pytest.approx(one["best"] - BRANIN.optimum)
    summary = parallel.parallel_summary(rows)
    assert list(summary["n_workers"]) == [1, 2] and summary["median_speedup"].iloc[0] == 1.0
