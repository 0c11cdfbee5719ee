"""The fairness rules of a comparison, in one place: what each backend is given beyond
the budget and the seed, so that every engine searches with the budget it is given.

``ut.compare`` applies them (``fair=True``) and records them in every result
(``Comparison.meta["fairness"]``); ``tests/test_compare_fairness.py`` checks the engine
defaults written here against the installed engines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["FIXED_OPTIONS", "NOTES", "POPULATION_OPTION", "RULES", "SCHEDULE", "SCHEDULE_RULE",
           "fair_options", "population", "schedule", "scheduler_options"]

# The population rule. With their engines' default populations (pymoo 100, Optuna's
# NSGA-II/III 50) the genetic backends spend a 50-trial budget on their random first
# generation and never select or vary anything: they would be compared as random search.
# Each gets instead a population of n_trials // 5, at least MIN_POPULATION and at most the
# engine's own default:
# - a fifth of the budget is the share the model-based backends spend on random start-up
#   at the default budget (Optuna's TPE and GP and skopt start with 10 random trials of
#   50), and it leaves room for four generations of selection after the first;
# - at least 4: DE/rand/1 mutation draws three partners distinct from the target, and 4 is
#   CMA-ES's smallest default (4 + floor(3 ln d) for d = 1);
# - at most the default: a population is never made larger than its engine ships it, so
#   at large budgets (>= 5x the default) every engine runs exactly as shipped.
MIN_POPULATION = 4

# backend -> the backend's option for its population size, and the engine's default
# (None: CMA-ES's 4 + floor(3 ln d), the cmaes package's rule).
POPULATION_OPTION: dict[str, tuple[str, int | None]] = {
    "pymoo:ga": ("pop_size", 100),
    "pymoo:de": ("pop_size", 100),
    "pymoo:nsga2": ("pop_size", 100),
    "pymoo:nsga3": ("pop_size", 100),  # unitune's default (pymoo's NSGA3 has none)
    "optuna:nsga2": ("population_size", 50),
    "optuna:nsga3": ("population_size", 50),
    "optuna:cmaes": ("popsize", None),
}
# Options other than the population, the same for every budget.
FIXED_OPTIONS: dict[str, dict[str, Any]] = {
    # Optuna's QMCSampler is unscrambled by default: every seed would give the same points.
    "optuna:qmc": {"scramble": True},
}
# What the figures of a backend mean beyond its options.
NOTES: dict[str, str] = {
    "optuna:qmc": "scrambled Sobol sequence (scramble=True): the seed picks the scrambling",
    "ray:pbt": "PBT's population is the trials running at once: with one worker and one "
               "report per trial it has nothing to exploit (random search)",
    "ray:asha": "with one report per trial there is nothing to stop early (random search)",
    "ray:hyperband": "with one report per trial there is nothing to stop early (random search)",
    "ray:median": "with one report per trial there is nothing to stop early (random search)",
}
# The scheduler budgets of a multi-fidelity comparison (tests/test_multifidelity.py
# checks them against what each engine is built with, and the defaults named here against
# the engines' own signatures):
# - the same full training everywhere: at most E epochs (Ray's max_t, Optuna
#   Hyperband's max_resource; the objective itself stops at E);
# - the same minimum resource: a trial may be stopped from its first epoch on (Ray's
#   grace_period 1 is unitune's default, Optuna SH's min_resource="auto" estimates 1 at
#   27 epochs, Hyperband's r_min is 1 in both engines); written out, so that it does not
#   depend on an estimate;
# - the same reduction factor 3 for every halving rule (Optuna's successive halving and
#   Hyperband, Ray's ASHA and Hyperband): Hyperband's default in both engines and the
#   Hyperband paper's eta; Optuna SH and Ray ASHA default to 4. With 27 epochs the rungs
#   are then the same epochs 1, 3, 9, 27 in every engine (Hyperband: 4 brackets in both);
# - the same start for the median rules: 5 trials before the rule applies (Optuna's
#   MedianPruner default n_startup_trials, which counts completed trials; Ray's
#   MedianStoppingRule defaults to min_samples_required=3 trials that reached the epoch)
#   and the same first epoch (Optuna's n_warmup_steps, Ray's grace_period: the earliest
#   step at which a trial may be stopped).
# No pruning is asked for explicitly: unitune's optuna:* backends prune with the median
# rule by default (Optuna's own default pruner).
def schedule(max_epochs: int) -> dict[str, int]:
    """The budget rules for an objective trained for at most ``max_epochs`` epochs."""
    return {"max_epochs": max_epochs, "min_epochs": 1, "reduction_factor": 3,
            "median_startup_trials": 5}


SCHEDULE = schedule(27)
SCHEDULE_RULE = ("max epochs E=27 everywhere; minimum resource / grace period 1 epoch; "
                 "reduction factor 3 for successive halving, Hyperband and ASHA (rungs 1, 3, "
                 "9, 27); median rules: 5 trials before they apply, from epoch 1; no "
                 "pruning: pruner='none' (optuna:* prunes with the median rule by default)")


def scheduler_options(kind: str, schedule: Mapping[str, int] = SCHEDULE) -> dict[str, Any]:
    """The options of one pruning rule under ``schedule``, in its engine's own terms.
    ``kind``: optuna median|successive_halving|hyperband, ray asha|hyperband|median."""
    e, r, eta, n = (schedule["max_epochs"], schedule["min_epochs"],
                    schedule["reduction_factor"], schedule["median_startup_trials"])
    options: dict[str, dict[str, Any]] = {
        "optuna:median": {"pruner": "median", "pruner_options": {
            "n_startup_trials": n, "n_warmup_steps": r}},
        "optuna:successive_halving": {"pruner": "successive_halving", "pruner_options": {
            "min_resource": r, "reduction_factor": eta, "min_early_stopping_rate": 0}},
        "optuna:hyperband": {"pruner": "hyperband", "pruner_options": {
            "min_resource": r, "max_resource": e, "reduction_factor": eta}},
        "ray:asha": {"max_t": e, "grace_period": r, "reduction_factor": eta},
        "ray:hyperband": {"max_t": e, "reduction_factor": eta},
        "ray:median": {"grace_period": r, "min_samples_required": n},
    }
    return options[kind]


# The rules as every result records them.
RULES: dict[str, Any] = {
    "budget": "every backend gets the same n_trials and the same seeds; a seed k cell is "
              "the study <study_name>/<label>/seed<k>",
    "start-up": "model-based backends keep their engines' own random start-up (Optuna "
                "TPE/GP 10 trials, skopt 10 initial points)",
    "population": "population = min(engine default, max(4, n_trials // 5)); engine defaults: "
                  "pymoo 100, Optuna NSGA-II/III 50, CMA-ES 4 + floor(3 ln d)",
    "fixed options": FIXED_OPTIONS,
    "precedence": "fairness options < options= of the comparison < a variant's own options",
    "schedules": SCHEDULE_RULE,
}


def population(n_trials: int, engine_default: int) -> int:
    """The population size for a budget: see the comment above ``MIN_POPULATION``."""
    return min(engine_default, max(MIN_POPULATION, n_trials // 5))


def engine_population(backend: str, dimensions: int) -> int | None:
    """The engine's own default population for ``backend`` on a space of ``dimensions``
    parameters (None: not a population-based backend)."""
    if backend not in POPULATION_OPTION:
        return None
    default = POPULATION_OPTION[backend][1]
    return 4 + math.floor(3 * math.log(max(dimensions, 1))) if default is None else default


def fair_options(backend: str, dimensions: int, n_trials: int,
                 given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The options the comparison passes to ``backend`` at this budget: the fairness
    rules, overridden by what the user gave (``given``)."""
    options = dict(FIXED_OPTIONS.get(backend, {}))
    default = engine_population(backend, dimensions)
    if default is not None:
        options[POPULATION_OPTION[backend][0]] = population(n_trials, default)
    options.update(given or {})
    return options
