"""The Optuna backends are Optuna: same seed, same proposals as a hand-written Optuna loop;
samplers and pruners chosen by option."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import optuna
import pytest

import unitune as ut
from benchmarks.problems import BRANIN, branin

SPACE = ut.Space(
    x=ut.Float(-5.0, 10.0),
    lr=ut.Float(1e-5, 1e-1, log=True),
    q=ut.Float(0.0, 1.0, step=0.1),
    n=ut.Int(1, 64, log=True),
    s=ut.Int(0, 100, step=10),
    k=ut.Categorical(["a", "b", "c"]),
)


def objective(params):
    return (params["x"] - 1) ** 2 + params["q"] + params["n"] / 64 + params["s"] / 100 + (
        params["k"] != "b") + abs(params["lr"] - 1e-3) * 100


def direct_optuna(sampler, n_trials, directions=None):
    """The same study written by hand with Optuna's own API."""
    def optuna_objective(trial):
        params = {
            "x": trial.suggest_float("x", -5.0, 10.0),
            "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
            "q": trial.suggest_float("q", 0.0, 1.0, step=0.1),
            "n": trial.suggest_int("n", 1, 64, log=True),
            "s": trial.suggest_int("s", 0, 100, step=10),
            "k": trial.suggest_categorical("k", ["a", "b", "c"]),
        }
        return objective(params)

    study = optuna.create_study(sampler=sampler)
    study.optimize(optuna_objective, n_trials=n_trials)
    return [t.params for t in study.trials], [t.value for t in study.trials]


@pytest.mark.parametrize("backend,sampler,options", [
    ("optuna:tpe", lambda s: optuna.samplers.TPESampler(seed=s), None),
    ("optuna:random", lambda s: optuna.samplers.RandomSampler(seed=s), None),
    ("optuna:qmc", lambda s: optuna.samplers.QMCSampler(seed=s), None),
    ("optuna:qmc", lambda s: optuna.samplers.QMCSampler(seed=s, scramble=True),
     {"scramble": True}),
    ("optuna:cmaes", lambda s: optuna.samplers.CmaEsSampler(seed=s), None),
    ("optuna:nsga2", lambda s: optuna.samplers.NSGAIISampler(seed=s, population_size=10),
     {"population_size": 10}),
])
@pytest.mark.parametrize("seed", [0, 42])
def test_same_proposals_as_optuna_called_directly(backend, sampler, options, seed):
    expected_params, expected_values = direct_optuna(sampler(seed), 40)
    result = ut.optimize(objective, SPACE, backend=backend, seed=seed, n_trials=40,
                         options=options)
    assert [dict(t.params) for t in result.trials] == expected_params
    assert [t.value for t in result.trials] == expected_values


def test_sampler_options_reach_the_sampler():
    direct, _ = direct_optuna(optuna.samplers.TPESampler(seed=3, n_startup_trials=3,
                                                         multivariate=True), 15)
    result = ut.optimize(objective, SPACE, seed=3, n_trials=15,
                         options={"n_startup_trials": 3, "multivariate": True})
    assert [dict(t.params) for t in result.trials] == direct


def curve(params, trial):
    """A validation-loss curve at a level set by the params (bad configurations stay bad)
    that improves until step 5, then worsens a little (overfitting)."""
    level = branin(params)
    for step in range(10):
        trial.report(level * (1 + 2 / (min(step, 5) + 1)) * (1 + 0.05 * max(0, step - 5)), step)
    return level


@pytest.mark.parametrize("pruner,pruner_options", [
    ("median", None),
    ("percentile", {"percentile": 50.0}),
    ("successive_halving", None),
    ("hyperband", {"max_resource": 10}),
    ("patient", {"patience": 1}),
    ("threshold", {"upper": 60.0}),
])
def test_pruners_chosen_by_option_stop_bad_trials_early(pruner, pruner_options):
    result = ut.optimize(curve, BRANIN.space, seed=0, n_trials=30,
                         options={"pruner": pruner, "pruner_options": pruner_options})
    pruned = [t for t in result.trials if t.state is ut.TrialState.PRUNED]
    complete = [t for t in result.trials if t.state is ut.TrialState.COMPLETE]
    assert pruned and complete
    assert all(len(t.intermediate) == 10 for t in complete)
    # pruned trials stopped before the end (Hyperband may stop one at its last rung)
    assert sum(len(t.intermediate) for t in pruned) / len(pruned) < 9.5
    # what was pruned was, on average, worse than what was allowed to finish
    mean = lambda ts: sum(branin(t.params) for t in ts) / len(ts)  # noqa: E731
    assert mean(pruned) > mean(complete)


def test_hyperband_pruning_repeats_under_a_seed():
    # HyperbandPruner puts trials in brackets by hashing the study name: an unnamed
    # study must get the same name every time, or the same seed prunes other trials
    runs = [ut.optimize(curve, BRANIN.space, seed=0, n_trials=20,
                        options={"pruner": "hyperband", "pruner_options": {"max_resource": 10}})
            for _ in range(2)]
    states = [[(t.state, len(t.intermediate)) for t in r.trials] for r in runs]
    assert states[0] == states[1]
    assert any(s is ut.TrialState.PRUNED for s, _ in states[0])


def test_pruner_none_never_prunes():
    result = ut.optimize(curve, BRANIN.space, seed=0, n_trials=15, options={"pruner": "none"})
    assert {t.state for t in result.trials} == {ut.TrialState.COMPLETE}


def test_grid_visits_every_point_exactly_once():
    space = ut.Space(a=ut.Int(1, 3), b=ut.Float(0.0, 1.0, step=0.5), c=ut.Categorical(["x", "y"]))
    result = ut.optimize(lambda p: p["a"] + p["b"], space, backend="optuna:grid", seed=0)
    points = sorted((t.params["a"], t.params["b"], t.params["c"]) for t in result.trials)
    assert points == sorted((p["a"], p["b"], p["c"]) for p in space.grid())
    assert len(points) == 18 == len(set(points))
    more = ut.optimize(lambda p: 0.0, space, backend="optuna:grid", n_trials=100, seed=0)
    assert len(more.trials) == 18  # the grid is exhausted: no point twice


def test_nsga2_population_and_multi_objective():
    result = ut.optimize(lambda p: (p["x"] ** 2, (p["x"] - 2) ** 2), SPACE,
                         backend="optuna:nsga2", directions=["minimize", "minimize"],
                         n_trials=60, seed=0, options={"population_size": 20})
    front = result.pareto_front
    assert len(front) >= 5
    assert all(-0.5 <= t.params["x"] <= 2.5 for t in front)


def test_an_engine_warning_repeated_every_trial_is_shown_once_per_run():
    script = textwrap.dedent("""
        import unitune as ut
        space = ut.Space(x=ut.Float(0, 1), kind=ut.Categorical(["a", "b"]))
        for run in range(2):  # each run shows it once: the filter ends with the run
            ut.optimize(lambda p: p["x"], space, backend="optuna:cmaes", n_trials=6, seed=run)
            print("run", run, "done", file=__import__("sys").stderr, flush=True)
        """)
    err = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=300).stderr
    runs = err.split("run 0 done")
    for text in runs:
        assert text.count("is sampled independently using `RandomSampler` instead of "
                          "`CmaEsSampler`") == 1, err
