"""The fairness rules of ``ut.compare`` (``unitune/compare/_fairness.py``): populations
sized to the budget, checked against the installed engines' own defaults."""

from __future__ import annotations

import inspect

import pytest

import unitune as ut
from benchmarks.problems import BRANIN, HARTMANN6
from unitune.adapters import get
from unitune.compare import _fairness as fairness


def test_the_population_rule():
    assert [fairness.population(n, 100) for n in (4, 12, 20, 40, 50, 499, 500, 5000)] == [
        4, 4, 4, 8, 10, 99, 100, 100]
    assert fairness.population(1000, 50) == 50
    assert fairness.population(12, 2) == 2  # never above the engine's default
    # CMA-ES's own default depends on the dimension: 6 on Branin, 9 on Hartmann6
    assert fairness.engine_population("optuna:cmaes", len(BRANIN.space)) == 6
    assert fairness.engine_population("optuna:cmaes", len(HARTMANN6.space)) == 9
    assert fairness.fair_options("optuna:cmaes", 6, 50) == {"popsize": 9}
    assert fairness.fair_options("optuna:nsga2", 2, 50) == {"population_size": 10}
    assert fairness.fair_options("pymoo:de", 2, 40) == {"pop_size": 8}
    assert fairness.fair_options("optuna:qmc", 2, 50) == {"scramble": True}
    assert fairness.fair_options("optuna:tpe", 2, 50) == {}
    assert fairness.fair_options("pymoo:de", 2, 40, {"pop_size": 5}) == {"pop_size": 5}


def test_population_defaults_are_the_engines_own():
    import optuna
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.algorithms.soo.nonconvex.de import DE
    from pymoo.algorithms.soo.nonconvex.ga import GA

    def default(cls, name):
        return inspect.signature(cls).parameters[name].default

    engines = {"pymoo:ga": GA, "pymoo:de": DE, "pymoo:nsga2": NSGA2,
               "optuna:nsga2": optuna.samplers.NSGAIISampler,
               "optuna:nsga3": optuna.samplers.NSGAIIISampler,
               "optuna:cmaes": optuna.samplers.CmaEsSampler}
    for backend, cls in engines.items():
        name, value = fairness.POPULATION_OPTION[backend]
        assert default(cls, name) == value, backend
        assert name in get(backend).accepted_options(), backend
    for backend, options in fairness.FIXED_OPTIONS.items():
        assert set(options) <= set(get(backend).accepted_options()), backend


def test_the_start_up_rule_is_the_engines_own():
    """The rules say model-based backends keep their engines' random start-up: Optuna's
    TPE and GP 10 trials, skopt 10 initial points."""
    import optuna
    import skopt

    assert inspect.signature(optuna.samplers.TPESampler).parameters[
        "n_startup_trials"].default == 10
    assert inspect.signature(optuna.samplers.GPSampler).parameters[
        "n_startup_trials"].default == 10
    assert inspect.signature(skopt.Optimizer).parameters["n_initial_points"].default == 10
    assert "10" in fairness.RULES["start-up"]


def _generations(backend: str, n_trials: int, monkeypatch) -> int:
    """The index (from 0) of the last generation ``backend`` proposed trials from in the
    comparison's run at this budget, as the engine itself counts: 0 means that every trial
    came from the random first generation."""
    options = fairness.fair_options(backend, len(BRANIN.space), n_trials)
    if backend.startswith("pymoo:"):
        from pymoo.core.algorithm import Algorithm

        asked = [0]
        ask = Algorithm.ask

        def counting(self, *args, **kwargs):
            asked[0] += 1
            return ask(self, *args, **kwargs)

        monkeypatch.setattr(Algorithm, "ask", counting)  # once per generation proposed
        ut.optimize(BRANIN.objective, BRANIN.space, backend=backend, n_trials=n_trials,
                    seed=0, options=options)
        return asked[0] - 1
    import optuna

    storage = optuna.storages.InMemoryStorage()
    ut.optimize(BRANIN.objective, BRANIN.space, backend=backend, n_trials=n_trials, seed=0,
                options=options, storage=storage)
    (name,) = optuna.get_all_study_names(storage)
    trials = optuna.load_study(study_name=name, storage=storage).trials
    # Optuna's GA and CMA-ES samplers tag each trial they propose with its generation
    return max(v for t in trials for k, v in t.system_attrs.items()
               if k.endswith(":generation"))


@pytest.mark.parametrize("backend", ["pymoo:ga", "pymoo:de", "pymoo:nsga2", "optuna:nsga2",
                                     "optuna:cmaes"])
def test_population_backends_evolve_within_a_small_budget(backend, monkeypatch):
    """At the test budget (12 trials: population 4) every population-based backend breeds
    two generations after its first; with its engine's default population (50 or 100) the
    GA backends never left the random first one (CMA-ES, 6 on Branin, reached a second)."""
    assert _generations(backend, 12, monkeypatch) >= 2


def test_qmc_seeds_give_different_points():
    cmp = ut.compare(BRANIN.objective, BRANIN.space, backends=["optuna:qmc"], n_trials=8,
                     seeds=2, baseline=None)
    assert cmp.meta["variants"][0]["options"] == {"scramble": True}
    first, second = (r.result.trials for r in cmp.runs)
    assert [t.params for t in first] != [t.params for t in second]
