"""The checks of the ``optuna:*`` backends' options, made before the ledger is touched.

Options are the sampler's own keyword arguments, and Optuna checks few of them when
the sampler is built: ``n_startup_trials="ten"`` on TPE fails at the first ``ask``,
``n_ei_candidates="ten"`` only once the startup trials are done, in the middle of a
study. So each option's type (and range) is declared here, and the sampler and the
pruner are then built once with the user's options, which catches what Optuna itself
checks (``population_size`` against the crossover, ``x0`` with ``source_trials``...).
An option a newer Optuna adds and this table does not know yet is still checked by
that trial construction, and ``tests/test_inputs.py`` (one wrong value per accepted
option) fails until it is declared.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from unitune._checks import check_bool, check_choice, check_number
from unitune.errors import InvalidOption

__all__ = ["check_built", "check_pruner_options", "check_sampler_options"]

_BOOLS = ("consider_prior", "consider_magic_clip", "consider_endpoints", "multivariate",
          "group", "warn_independent_sampling", "constant_liar", "consider_pruned_trials",
          "use_separable_cma", "with_margin", "lr_adapt", "deterministic_objective",
          "scramble", "warn_asynchronous_seeding")
_CALLABLES = ("gamma", "weights", "constraints_func", "elite_population_selection_strategy",
              "child_generation_strategy", "after_trial_strategy")
# name -> check_number's keywords
_NUMBERS: dict[str, dict[str, Any]] = {
    "n_startup_trials": {"integer": True, "low": 0},
    "n_ei_candidates": {"integer": True, "low": 1},
    "population_size": {"integer": True, "low": 2},
    "dividing_parameter": {"integer": True, "low": 1},
    "popsize": {"integer": True, "low": 1},
    "inc_popsize": {"integer": True, "low": -1},
    "prior_weight": {"low": 1e-12},
    "sigma0": {"low": 1e-12},
    "mutation_prob": {"low": 0.0, "high": 1.0},
    "crossover_prob": {"low": 0.0, "high": 1.0},
    "swapping_prob": {"low": 0.0, "high": 1.0},
}
_CHOICES = {"restart_strategy": ("ipop", "bipop"), "qmc_type": ("sobol", "halton")}
# name -> (module, class): an instance of it
_INSTANCES = {"independent_sampler": ("optuna.samplers", "BaseSampler"),
              "crossover": ("optuna.samplers.nsgaii", "BaseCrossover"),
              "mutation": ("optuna.samplers.nsgaii", "BaseMutation")}


def _instance_of(value: Any, where: tuple[str, str]) -> bool:
    import importlib

    cls = getattr(importlib.import_module(where[0]), where[1], None)
    return cls is None or isinstance(value, cls)


def _check_structured(backend: str, name: str, value: Any) -> str | None:
    """What is wrong with an option that holds a structure, or None."""
    if name == "x0":
        if not (isinstance(value, Mapping) and all(isinstance(k, str) for k in value)):
            return "must be a dict {parameter name: value}"
    elif name == "source_trials":
        from optuna.trial import FrozenTrial

        if not (isinstance(value, (list, tuple)) and all(isinstance(t, FrozenTrial)
                                                         for t in value)):
            return "must be a list of optuna FrozenTrial"
    elif name == "reference_points":
        import numpy as np

        try:
            points = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            points = None
        if points is None or points.ndim != 2 or not np.isfinite(points).all():
            return "must be a 2-D array of numbers, one row per reference point"
    return None


def _check_one(backend: str, name: str, value: Any) -> None:
    if name in _BOOLS:
        check_bool(value, name, backend=backend)
    elif name in _NUMBERS:
        check_number(value, name, backend=backend, **_NUMBERS[name])
    elif name in _CHOICES:
        check_choice(value, name, _CHOICES[name], backend=backend)
    elif name in _CALLABLES and not callable(value):
        raise InvalidOption(f"backend {backend!r}: option {name}={value!r} must be a function")
    elif name in _INSTANCES and not _instance_of(value, _INSTANCES[name]):
        raise InvalidOption(f"backend {backend!r}: option {name}={value!r} must be an "
                            f"instance of {'.'.join(_INSTANCES[name])}")
    else:
        wrong = _check_structured(backend, name, value)
        if wrong:
            raise InvalidOption(f"backend {backend!r}: option {name}={value!r} {wrong}")


def check_sampler_options(backend: str, sampler_class: str, options: Mapping[str, Any]) -> None:
    """Refuse a sampler option of the wrong type or out of range. ``None`` is taken where
    it is the sampler's own default (it means: Optuna's default)."""
    import optuna

    params = inspect.signature(getattr(optuna.samplers, sampler_class)).parameters
    for name, value in options.items():
        if value is None and name in params and params[name].default is None:
            continue
        _check_one(backend, name, value)


# pruner_options: name -> check_number's keywords. Optuna checks few of these when the
# pruner is built (HyperbandPruner(reduction_factor=-5) fails every trial, later).
_PRUNER_NUMBERS: dict[str, dict[str, Any]] = {
    "n_startup_trials": {"integer": True, "low": 0}, "n_warmup_steps": {"integer": True, "low": 0},
    "interval_steps": {"integer": True, "low": 1}, "n_min_trials": {"integer": True, "low": 1},
    "percentile": {"low": 0.0, "high": 100.0}, "min_resource": {"integer": True, "low": 1},
    "max_resource": {"integer": True, "low": 1}, "reduction_factor": {"integer": True, "low": 2},
    "min_early_stopping_rate": {"integer": True, "low": 0},
    "bootstrap_count": {"integer": True, "low": 0}, "patience": {"integer": True, "low": 0},
    "min_delta": {"low": 0.0}, "lower": {}, "upper": {}, "p_threshold": {"low": 0.0, "high": 1.0},
    "n_startup_steps": {"integer": True, "low": 0},
}


def check_pruner_options(value: Any, pruners: Sequence[str]) -> None:
    """``pruner_options``: a dict of the pruner's keyword arguments, each of its type and
    range (``"auto"`` for a resource, None for a threshold, a pruner name for
    ``wrapped``); the pruner built with them checks the rest."""
    if not (isinstance(value, Mapping) and all(isinstance(k, str) for k in value)):
        raise InvalidOption(f"option pruner_options={value!r} must be a dict of the pruner's "
                            "keyword arguments, e.g. {n_startup_trials: 5}")
    for key, v in value.items():
        if key == "wrapped":
            check_choice(v, "pruner_options.wrapped", pruners)
        elif key in _PRUNER_NUMBERS and not (
                (key in ("min_resource", "max_resource") and v == "auto")
                or (key in ("lower", "upper") and v is None)):
            check_number(v, f"pruner_options.{key}", **_PRUNER_NUMBERS[key])


def check_built(backend: str, options: Mapping[str, Any], build: Callable[[], Any]) -> None:
    """Build the engine object (a sampler, a pruner) with the user's options once, quietly:
    what Optuna checks in its constructor is refused now, in one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build()
    except (TypeError, ValueError, AssertionError) as exc:
        if isinstance(exc, InvalidOption):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise InvalidOption(f"backend {backend!r}, options {dict(options)!r}: "
                            f"{message}") from None
