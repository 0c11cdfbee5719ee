"""Ray Tune backends: random and Optuna-TPE search, with ASHA, Hyperband, the median
stopping rule or Population Based Training deciding which trials go on.

Ray Tune owns its loop (a ``LoopAdapter``): ``run`` builds one ``ray.tune.Tuner``
and a callback books every Ray trial in the ledger through the driver's ``Host``
interface. The package: ``_options.py`` (options and their checks), ``_engine.py``
(the Tuner), ``_callback.py`` (the ledger side, in this process),
``_trainable.py`` (the worker side: the trial an objective gets on Ray),
``_space.py`` (the space as Ray sees it), ``_runtime.py`` (starting or joining Ray). A resumed study's queued trials (re-runs of interrupted trials, points
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

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from unitune.adapters import register
from unitune.adapters.base import Capabilities, Host, LoopAdapter
from unitune.adapters.ray._options import OPTIONS, check_options
from unitune.records import TrialRecord, TrialState
from unitune.space import Space

__all__ = ["RayAdapter"]


class RayAdapter(LoopAdapter):
    """Shared by every Ray backend; a subclass names its default searcher and scheduler."""

    engine = "ray"
    extra = "ray"
    requires: ClassVar[tuple[str, ...]] = ("ray", "ray.tune", "pandas")
    searcher: ClassVar[str] = "random"
    scheduler: ClassVar[str] = "fifo"
    capabilities = Capabilities(multi_objective=True, pruning=False, parallel=True,
                                checkpoints=True, deterministic=False,
                                conditional="flattened")
    not_deterministic = ("Ray Tune runs its trials asynchronously (up to max_concurrent at "
                         "once), and its searcher and scheduler act on results in the order "
                         "trials report them, which depends on timing")

    @classmethod
    def accepted_options(cls) -> dict[str, str]:
        return dict(OPTIONS)

    @classmethod
    def validate(cls, space: Space, directions: Sequence[str],
                 options: Mapping[str, Any]) -> None:
        super().validate(space, directions, options)
        check_options(cls.name, cls.searcher, cls.scheduler, space, directions, options)

    # -- set-up -----------------------------------------------------------------------------
    def setup(self) -> None:
        self.searcher_name: str = self.options.get("searcher", self.searcher)
        self.scheduler_name: str = self.options.get("scheduler", self.scheduler)
        self.completed: list[TrialRecord] = []  # the study's, for OptunaSearch's warm start

    def warm_start(self, records: Sequence[TrialRecord]) -> None:
        self.completed = [r for r in records if r.state is TrialState.COMPLETE]

    def run(self, host: Host, target: int | None, deadline: float | None) -> bool:
        from unitune.adapters.ray import _engine

        return _engine.run(self, host, target, deadline)


@register
class RayRandomAdapter(RayAdapter):
    name = "ray:random"
    default = True
    description = "Ray Tune's random search (BasicVariantGenerator), on a local Ray or a cluster"


@register
class OptunaSearchAdapter(RayAdapter):
    name = "ray:optuna"
    searcher = "optuna"
    # a conditional space: a define-by-run function, TPE grouped (see _engine.py)
    capabilities = Capabilities(multi_objective=True, pruning=False, parallel=True,
                                checkpoints=True, deterministic=False, conditional="native")
    description = "Optuna's TPE as Ray Tune's asynchronous searcher (multi-objective too)"


class _Scheduled(RayAdapter):
    capabilities = Capabilities(multi_objective=False, pruning=True, parallel=True,
                                checkpoints=True, deterministic=False,
                                conditional="flattened")


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
                                checkpoints=True, deterministic=False,
                                conditional="flattened")
    description = ("Population Based Training: trials copy the best trials' checkpoints "
                   "and mutate their params")
