"""The options of the ``ray:*`` backends, their defaults, and their checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from unitune._checks import check_bool, check_choice, check_number
from unitune.errors import InvalidOption, UnsupportedFeature
from unitune.space import Space

__all__ = ["OPTIONS", "SCHEDULERS", "SCHEDULER_OPTIONS", "SEARCHERS", "check_options"]

SEARCHERS = ("random", "optuna")
SCHEDULERS = ("fifo", "asha", "hyperband", "median", "pbt")
# Scheduler options and their defaults (Ray's own, except where Ray counts seconds:
# unitune counts steps, so the median rule and PBT get step-sized defaults).
SCHEDULER_OPTIONS: dict[str, dict[str, Any]] = {
    "fifo": {},
    "asha": {"max_t": 100, "grace_period": 1, "reduction_factor": 4},
    "hyperband": {"max_t": 81, "reduction_factor": 3},
    "median": {"grace_period": 1, "min_samples_required": 3},
    "pbt": {"perturbation_interval": 4, "hyperparam_mutations": None,
            "quantile_fraction": 0.25, "resample_probability": 0.25, "synch": False},
}
OPTIONS = {
    "searcher": "random (Ray's BasicVariantGenerator) or optuna (OptunaSearch, TPE)",
    "scheduler": "fifo, asha, hyperband, median or pbt",
    "max_t": "asha/hyperband: the largest step a trial reaches (default 100 / 81)",
    "grace_period": "asha/median: steps before a trial can be stopped (default 1)",
    "reduction_factor": "asha/hyperband: keep 1/reduction_factor per rung (default 4 / 3)",
    "min_samples_required": "median: trials needed before the rule applies (default 3)",
    "perturbation_interval": "pbt: steps between exploit/explore decisions (default 4)",
    "hyperparam_mutations": "pbt: names, or {name: values | Ray domain} (default: the space)",
    "quantile_fraction": "pbt: fraction of the population copied from/to (default 0.25)",
    "resample_probability": "pbt: chance to resample instead of perturb (default 0.25)",
    "synch": "pbt: True waits for the whole population at each interval, then exploits "
             "once (Ray's synchronous PBT); default False (asynchronous)",
    "cpus_per_trial": "CPUs reserved per trial (default 1)",
    "gpus_per_trial": "GPUs reserved per trial (default 0)",
    "max_concurrent": "trials running at once (default n_workers)",
    "max_failures": "times Ray retries a trial whose worker died (default 0)",
    "address": "join an existing Ray cluster (host:port) instead of a local runtime",
    "storage_path": "where Ray keeps checkpoints (default: a temporary directory; "
                    "give shared storage on a multi-node cluster)",
    "verbose": "0 (default, quiet) to 3: Tune's console output and worker logs",
}
_POSITIVE = {"max_t", "grace_period", "reduction_factor", "min_samples_required",
             "perturbation_interval", "max_concurrent"}
_FRACTIONS = {"quantile_fraction", "resample_probability"}


def check_options(backend: str, searcher: str, scheduler: str, space: Space,
                  directions: Sequence[str], options: Mapping[str, Any]) -> None:
    """Refuse, before any trial, options the backend's searcher and scheduler cannot take."""
    searcher = options.get("searcher", searcher)
    scheduler = options.get("scheduler", scheduler)
    check_choice(searcher, "searcher", SEARCHERS)
    check_choice(scheduler, "scheduler", SCHEDULERS)
    if len(directions) > 1 and scheduler != "fifo":
        raise UnsupportedFeature(
            f"backend {backend!r}: Ray's {scheduler} scheduler follows one metric, but the "
            f"study has {len(directions)} directions (single-objective only); use ray:optuna "
            "or ray:random (scheduler='fifo') for a multi-objective study")
    for name in options:
        owners = [s for s, opts in SCHEDULER_OPTIONS.items() if name in opts]
        if owners and scheduler not in owners:
            raise InvalidOption(f"option {name!r} applies to scheduler {' or '.join(owners)}, "
                                f"but backend {backend!r} uses scheduler {scheduler!r}")
    for name, value in options.items():
        if name in _POSITIVE:
            check_number(value, name, integer=name != "reduction_factor", low=1)
        elif name in _FRACTIONS:
            check_number(value, name, low=0.0, high=1.0)
        elif name in ("cpus_per_trial", "gpus_per_trial"):
            check_number(value, name, low=0.0)
        elif name in ("max_failures", "verbose"):
            check_number(value, name, integer=True, low=0, high=3 if name == "verbose" else None)
        elif name == "synch":
            check_bool(value, name)
        elif name in ("address", "storage_path") and not isinstance(value, str):
            raise InvalidOption(f"option {name}={value!r} must be a string")
    if options.get("cpus_per_trial", 1) == 0 and options.get("gpus_per_trial", 0) == 0:
        raise InvalidOption("options cpus_per_trial=0 and gpus_per_trial=0: a trial needs "
                            "some resource; give cpus_per_trial > 0")
    if scheduler == "pbt":
        from unitune.adapters.ray._space import Codec

        Codec(space).mutations(options.get("hyperparam_mutations"))
    if scheduler == "asha":
        opts = {**SCHEDULER_OPTIONS["asha"], **options}
        if opts["grace_period"] > opts["max_t"]:
            raise InvalidOption(f"option grace_period={opts['grace_period']!r} must not "
                                f"exceed max_t={opts['max_t']!r}")
