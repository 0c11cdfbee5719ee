"""Ray Tune backends: random and Optuna-TPE search, with ASHA, Hyperband, the median
stopping rule or Population Based Training deciding which trials go on.

Ray Tune owns its loop (``owns_loop``): ``run`` builds one ``ray.tune.Tuner``
and a callback books every Ray trial in the ledger through the optimize()
driver. A resumed study's queued trials (re-runs of interrupted trials, points
enqueued in the ledger) are the searcher's first points (``points_to_evaluate``),
each booked on its waiting ledger trial. The searcher (``searcher=random|optuna``)
and the scheduler (``scheduler=fifo|asha|hyperband|median|pbt``) can be combined
by option; the backend name picks the defaults. Schedulers count time in the
``step`` given to ``trial.report`` (``max_t``, ``grace_period``,
``perturbation_interval``).
Tune runs with its fast settings (``reuse_actors=True``, no per-trial log
files, no console reporter), which is what makes a cheap trial cost tens of
milliseconds instead of about a second.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from unitune.adapters import register
from unitune.adapters.base import Adapter, Capabilities, Proposal
from unitune.errors import InvalidOption, UnsupportedFeature
from unitune.records import TrialRecord, TrialState
from unitune.space import Space

__all__ = ["RayAdapter"]

SEARCHERS = ("random", "optuna")
SCHEDULERS = ("fifo", "asha", "hyperband", "median", "pbt")
# Scheduler options and their defaults (Ray's own, except where Ray counts seconds:
# unitune counts steps, so the median rule and PBT get step-sized defaults).
_SCHEDULER_OPTIONS: dict[str, dict[str, Any]] = {
    "fifo": {},
    "asha": {"max_t": 100, "grace_period": 1, "reduction_factor": 4},
    "hyperband": {"max_t": 81, "reduction_factor": 3},
    "median": {"grace_period": 1, "min_samples_required": 3},
    "pbt": {"perturbation_interval": 4, "hyperparam_mutations": None,
            "quantile_fraction": 0.25, "resample_probability": 0.25, "synch": False},
}
_OPTIONS = {
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


def _check_number(name: str, value: Any, integer: bool, low: float, high: float | None) -> None:
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or value < low or (
            high is not None and value > high):
        span = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InvalidOption(f"option {name}={value!r} must be a{'n integer' if integer else ' number'} "
                            f"{span}")


class RayAdapter(Adapter):
    """Shared by every Ray backend; a subclass names its default searcher and scheduler."""

    engine = "ray"
    extra = "ray"
    requires: ClassVar[tuple[str, ...]] = ("ray", "ray.tune", "pandas")
    owns_loop = True
    searcher: ClassVar[str] = "random"
    scheduler: ClassVar[str] = "fifo"
    capabilities = Capabilities(multi_objective=True, pruning=False, parallel=True,
                                checkpoints=True)

    @classmethod
    def accepted_options(cls) -> dict[str, str]:
        return dict(_OPTIONS)

    @classmethod
    def validate(cls, space: Space, directions: Sequence[str],
                 options: Mapping[str, Any]) -> None:
        super().validate(space, directions, options)
        searcher = options.get("searcher", cls.searcher)
        scheduler = options.get("scheduler", cls.scheduler)
        if searcher not in SEARCHERS:
            raise InvalidOption(f"option searcher={searcher!r} is not one of {', '.join(SEARCHERS)}")
        if scheduler not in SCHEDULERS:
            raise InvalidOption(
                f"option scheduler={scheduler!r} is not one of {', '.join(SCHEDULERS)}")
        if len(directions) > 1 and scheduler != "fifo":
            raise UnsupportedFeature(
                f"backend {cls.name!r}: Ray's {scheduler} scheduler follows one metric, but the "
                f"study has {len(directions)} directions (single-objective only); use ray:optuna "
                "or ray:random (scheduler='fifo') for a multi-objective study")
        for name in options:
            owners = [s for s, opts in _SCHEDULER_OPTIONS.items() if name in opts]
            if owners and scheduler not in owners:
                raise InvalidOption(f"option {name!r} applies to scheduler {' or '.join(owners)}, "
                                    f"but backend {cls.name!r} uses scheduler {scheduler!r}")
        for name, value in options.items():
            if name in _POSITIVE:
                _check_number(name, value, name != "reduction_factor", 1, None)
            elif name in _FRACTIONS:
                _check_number(name, value, False, 0.0, 1.0)
            elif name in ("cpus_per_trial", "gpus_per_trial"):
                _check_number(name, value, False, 0.0, None)
            elif name in ("max_failures", "verbose"):
                _check_number(name, value, True, 0, 3 if name == "verbose" else None)
            elif name == "synch" and not isinstance(value, bool):
                raise InvalidOption(f"option synch={value!r} must be True or False")
            elif name in ("address", "storage_path") and not isinstance(value, str):
                raise InvalidOption(f"option {name}={value!r} must be a string")
        if options.get("cpus_per_trial", 1) == 0 and options.get("gpus_per_trial", 0) == 0:
            raise InvalidOption("options cpus_per_trial=0 and gpus_per_trial=0: a trial needs "
                                "some resource; give cpus_per_trial > 0")
        if scheduler == "pbt":
            from unitune.adapters._ray_space import Codec

            Codec(space).mutations(options.get("hyperparam_mutations"))
        if scheduler == "asha":
            opts = {**_SCHEDULER_OPTIONS["asha"], **options}
            if opts["grace_period"] > opts["max_t"]:
                raise InvalidOption(f"option grace_period={opts['grace_period']!r} must not "
                                    f"exceed max_t={opts['max_t']!r}")

    # -- set-up -----------------------------------------------------------------------------
    def setup(self) -> None:
        self._searcher = self.options.get("searcher", self.searcher)
        self._scheduler = self.options.get("scheduler", self.scheduler)
        self._done: list[TrialRecord] = []

    def warm_start(self, records: Sequence[TrialRecord]) -> None:
        self._done = [r for r in records if r.state is TrialState.COMPLETE]

    def ask(self) -> Proposal | None:
        """Nothing: Ray Tune's searcher proposes inside Tune. The Ray run calls
        ``Driver.next_proposal`` only to claim the study's queued (WAITING) trials, which
        Ray's searcher evaluates first; once none is left, this ends the claiming."""
        return None

    def tell(self, proposal: Proposal, state: TrialState,
             values: Sequence[float] | None) -> None:
        """Nothing to do: Ray's searcher and scheduler hear of each trial inside Tune."""

    # -- the run ------------------------------------------------------------------------------
    def run(self, driver: Any, target: int | None, deadline: float | None) -> bool:
        from unitune.adapters import _ray_engine

        return _ray_engine.run(self, driver, target, deadline)


@register
class RandomAdapter(RayAdapter):
    name = "ray:random"
    default = True
    description = "Ray Tune's random search (BasicVariantGenerator), on a local Ray or a cluster"


@register
class OptunaSearchAdapter(RayAdapter):
    name = "ray:optuna"
    searcher = "optuna"
    description = "Optuna's TPE as Ray Tune's asynchronous searcher (multi-objective too)"


class _Scheduled(RayAdapter):
    capabilities = Capabilities(multi_objective=False, pruning=True, parallel=True,
                                checkpoints=True)


@register
class ASHAAdapter(_Scheduled):
    name = "ray:asha"
    scheduler = "asha"
    description = "Asynchronous Successive Halving: stops the worst trials at each rung"


@register
class HyperbandAdapter(_Scheduled):
    name = "ray:hyperband"
    scheduler = "hyperband"
    description = ("synchronous Hyperband; paused trials resume from their checkpoint "
                   "(trial.checkpoint/restore), else start over")


@register
class MedianAdapter(_Scheduled):
    name = "ray:median"
    scheduler = "median"
    description = "median stopping rule: stops a trial below the median of the others"


@register
class PBTAdapter(_Scheduled):
    name = "ray:pbt"
    scheduler = "pbt"
    # PBT never stops a trial: it replaces the worst trials' state and params.
    capabilities = Capabilities(multi_objective=False, pruning=False, parallel=True,
                                checkpoints=True)
    description = ("Population Based Training: trials copy the best trials' checkpoints "
                   "and mutate their params")
