"""Optuna backends: TPE, random, grid, CMA-ES, QMC, NSGA-II/III and GP samplers, with
Optuna's pruners.

The ledger is an Optuna storage, so these adapters let Optuna's own ``Study``
write the trials (a ``StudyAdapter``): ``study.ask`` with the space's
distributions, ``study.tell`` with the outcome. Given the same seed, the sampler proposes exactly what it
would in a hand-written Optuna loop. Options are the sampler's own keyword
arguments (``n_startup_trials``, ``multivariate``, ``population_size``...),
plus ``pruner`` and ``pruner_options``.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from unitune.adapters import register
from unitune.adapters._optuna_options import (
    check_built,
    check_pruner_options,
    check_sampler_options,
)
from unitune.adapters.base import Capabilities, Outcome, Proposal, StudyAdapter
from unitune.errors import InvalidOption
from unitune.ledger._keys import CONSTRAINTS_ATTR
from unitune.records import TrialState
from unitune.space import Space
from unitune.space._optuna import optuna_distributions, suggest_active

__all__ = ["PRUNERS"]

logger = logging.getLogger("unitune")

# study.ask() warns when the storage keeps heartbeats, because study.optimize() is what
# feeds them in Optuna; in unitune the ledger feeds them for every trial it runs.
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with "
                        "Study.optimize", category=UserWarning)

# name -> (Optuna pruner class name, default keyword arguments)
PRUNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "median": ("MedianPruner", {}),
    "percentile": ("PercentilePruner", {"percentile": 25.0}),
    "successive_halving": ("SuccessiveHalvingPruner", {}),
    "hyperband": ("HyperbandPruner", {}),
    "patient": ("PatientPruner", {"patience": 3}),
    "threshold": ("ThresholdPruner", {}),
    "wilcoxon": ("WilcoxonPruner", {}),
    "none": ("NopPruner", {}),
}
_OWN_OPTIONS = {
    "pruner": f"one of {', '.join(PRUNERS)} (default median, as in Optuna)",
    "pruner_options": "keyword arguments of the pruner (patient: patience, wrapped)",
}


def _tell(study: Any, trial: Any, values: list[float] | None, state: Any) -> None:
    """``study.tell`` without the deep copy of the trial it returns (0.2 ms a trial, ~8% of
    a TPE trial), i.e. what ``study.optimize`` itself calls; ``study.tell`` if that private
    function is not there. A trial another worker has already failed (its heartbeat was
    late past the grace period) stays as that worker left it."""
    try:
        from optuna.study._tell import _tell_with_warning
    except ImportError:
        study.tell(trial, values=values, state=state, skip_if_finished=True)
        return
    _tell_with_warning(study=study, trial=trial, value_or_values=values, state=state,
                       skip_if_finished=True)


def make_pruner(name: Any, options: Mapping[str, Any] | None) -> Any:
    import optuna

    if name not in PRUNERS:
        raise InvalidOption(f"option pruner={name!r} is not one of {', '.join(PRUNERS)}")
    cls_name, defaults = PRUNERS[name]
    kwargs = {**defaults, **dict(options or {})}
    if name == "patient":
        wrapped = kwargs.pop("wrapped", "median")
        kwargs["wrapped_pruner"] = None if wrapped == "none" else make_pruner(wrapped, None)
    cls = getattr(optuna.pruners, cls_name)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InvalidOption(f"option pruner_options={dict(options or {})!r} for pruner "
                            f"{name!r}: {exc}") from None


def stored_constraints(trial: Any) -> tuple[float, ...]:
    """The values ``trial.constraint(...)`` stored (none declared: feasible)."""
    return tuple(trial.system_attrs.get(CONSTRAINTS_ATTR) or ())


class OptunaAdapter(StudyAdapter):
    """Shared by every Optuna sampler; a subclass names its sampler class."""

    engine = "optuna"
    extra = "optuna"
    requires: ClassVar[tuple[str, ...]] = ("optuna",)
    capabilities = Capabilities(multi_objective=True, pruning=True, parallel=True,
                                conditional="native")
    sampler_class: ClassVar[str]

    @classmethod
    def _sampler_params(cls) -> dict[str, str]:
        import optuna

        sig = inspect.signature(getattr(optuna.samplers, cls.sampler_class))
        return {n: f"{cls.sampler_class}({n}=...)" for n in sig.parameters
                if n not in ("self", "seed", "search_space")}

    @classmethod
    def accepted_options(cls) -> dict[str, str]:
        return {**cls._sampler_params(), **_OWN_OPTIONS}

    @classmethod
    def validate(cls, space: Space, directions: Sequence[str],
                 options: Mapping[str, Any]) -> None:
        """Each option's type and range, then the sampler and the pruner built once with
        them (``_optuna_options.py``): nothing wrong reaches the first ``ask``."""
        import optuna

        super().validate(space, directions, options)
        kwargs = {k: v for k, v in options.items() if k not in _OWN_OPTIONS}
        check_sampler_options(cls.name, cls.sampler_class, kwargs)
        if options.get("pruner_options") is not None:
            check_pruner_options(options["pruner_options"], list(PRUNERS))
        check_built(cls.name, options, lambda: make_pruner(options.get("pruner", "median"),
                                                           options.get("pruner_options")))
        if kwargs:
            sampler = getattr(optuna.samplers, cls.sampler_class)
            # seeded: an unseeded QMCSampler warns that its seed is random, every time
            check_built(cls.name, kwargs, lambda: sampler(**{"seed": 0, **kwargs}))

    def make_sampler(self, kwargs: dict[str, Any]) -> Any:
        import optuna

        if self.space.conditional and self.sampler_class != "TPESampler" and \
                "warn_independent_sampling" in self._sampler_params() and \
                "warn_independent_sampling" not in kwargs:
            # Optuna warns for each conditional parameter of each trial; said once here
            logger.warning("backend %r: the conditional parameters (outside the ones every "
                           "trial has) are sampled independently at random, as Optuna's %s "
                           "does for a dynamic space", self.name, self.sampler_class)
            kwargs = {**kwargs, "warn_independent_sampling": False}
        if (self.capabilities.constraints and "constraints_func" not in kwargs
                and int(optuna.__version__.split(".")[0]) < 5):
            # Optuna 5 reads the ``constraints`` attribute that trial.constraint() writes;
            # Optuna 4 needs a constraints_func to read it.
            kwargs = {**kwargs, "constraints_func": stored_constraints}
        return getattr(optuna.samplers, self.sampler_class)(seed=self.seed, **kwargs)

    def setup(self) -> None:
        import optuna

        kwargs = {k: v for k, v in self.options.items() if k not in _OWN_OPTIONS}
        try:
            sampler = self.make_sampler(kwargs)
        except (TypeError, ValueError) as exc:
            raise InvalidOption(f"backend {self.name!r}, options {kwargs!r}: {exc}") from None
        pruner = make_pruner(self.options.get("pruner", "median"),
                             self.options.get("pruner_options"))
        self.study = optuna.Study(study_name=self.ledger.study_name,
                                  storage=self.ledger.engine_storage(),  # type: ignore[arg-type]  # a duck-typed proxy of a BaseStorage
                                  sampler=sampler,
                                  pruner=pruner)
        self._dists = optuna_distributions(self.space) if not self.space.branches else None
        self._prunes = len(self.directions) == 1

    def define_by_run(self) -> None:
        """Ask Optuna's trials with no distributions: the objective's ``suggest_*`` calls
        go to Optuna's trial, so the sampler sees the define-by-run space as in Optuna."""
        self._dists = {}

    def ask(self) -> Proposal | None:
        if self.space.conditional:  # define-by-run: the active parameters, parents first
            trial = self.study.ask()
            suggest_active(trial, self.space)
            return Proposal(params=trial.params, trial_id=trial._trial_id, number=trial.number,
                            handle=trial)
        return self._ask(self._dists)

    def _ask(self, dists: dict[str, Any] | None) -> Proposal:
        trial = self.study.ask(dists)
        return Proposal(params=trial.params, trial_id=trial._trial_id, number=trial.number,
                        handle=trial)

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        from optuna.trial import TrialState as OTS

        values = list(outcome.values) if outcome.state is TrialState.COMPLETE and \
            outcome.values is not None else None
        _tell(self.study, proposal.handle, values, OTS[outcome.state.value])

    def report(self, proposal: Proposal, step: int, value: float) -> bool:
        if not self._prunes:  # Optuna prunes single-objective studies only
            return super().report(proposal, step, value)
        proposal.handle.report(value, step)
        return proposal.handle.should_prune()


@register
class TPEAdapter(OptunaAdapter):
    name = "optuna:tpe"
    sampler_class = "TPESampler"
    default = True
    description = "Tree-structured Parzen Estimator (Bayesian); Optuna's default"

    def make_sampler(self, kwargs: dict[str, Any]) -> Any:
        """A conditional space: TPE models each group of parameters that occur together
        (``multivariate=True, group=True``) unless the options say otherwise; a plain
        space: TPE as the options give it."""
        if not self.space.conditional:
            return super().make_sampler(kwargs)
        import optuna

        kwargs = {"multivariate": True, "group": True, **kwargs}
        with warnings.catch_warnings():  # both are "experimental" in Optuna 4
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return super().make_sampler(kwargs)

    @classmethod
    def batch_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        # a batch's later proposals see its earlier ones as running, with a lie for a value
        return {"constant_liar": True, **options}


@register
class OptunaRandomAdapter(OptunaAdapter):
    name = "optuna:random"
    sampler_class = "RandomSampler"
    description = "independent uniform sampling (log-uniform where log=True)"


@register
class CmaEsAdapter(OptunaAdapter):
    name = "optuna:cmaes"
    sampler_class = "CmaEsSampler"
    requires = ("optuna", "cmaes")
    capabilities = Capabilities(multi_objective=False, pruning=True, parallel=True,
                                conditional="native")
    description = "CMA-ES evolution strategy (categoricals sampled independently, as Optuna does)"


@register
class QMCAdapter(OptunaAdapter):
    name = "optuna:qmc"
    sampler_class = "QMCSampler"
    requires = ("optuna", "scipy")
    description = "quasi-Monte Carlo (Sobol/Halton) low-discrepancy sampling"

    @classmethod
    def engine_seed(cls, seed: int | None, recorded: int) -> int | None:
        # The sampler counts the points it drew in the study (a study attribute keyed by
        # its seed) and draws the next one of the same sequence: a resume continues it.
        return seed


@register
class OptunaNSGA2Adapter(OptunaAdapter):
    name = "optuna:nsga2"
    sampler_class = "NSGAIISampler"
    capabilities = Capabilities(multi_objective=True, pruning=True, parallel=True,
                                constraints=True, conditional="native")
    description = "NSGA-II genetic algorithm, multi-objective, with constraints"


@register
class OptunaNSGA3Adapter(OptunaAdapter):
    name = "optuna:nsga3"
    sampler_class = "NSGAIIISampler"
    capabilities = Capabilities(multi_objective=True, pruning=True, parallel=True,
                                constraints=True, conditional="native")
    description = "NSGA-III genetic algorithm for many objectives"


@register
class OptunaGPAdapter(OptunaAdapter):
    name = "optuna:gp"
    sampler_class = "GPSampler"
    requires = ("optuna", "scipy", "torch")
    extra = "gp"
    description = "Gaussian-process Bayesian optimisation (needs torch)"


@register
class GridAdapter(OptunaAdapter):
    """Every point of a finite space exactly once: Optuna's GridSampler for a product
    space, the points enqueued in order for a union of sub-spaces (a list of param grids)."""

    name = "optuna:grid"
    sampler_class = "GridSampler"
    capabilities = Capabilities(multi_objective=True, pruning=True, parallel=True,
                                conditional="native", continuous=False)
    unions = True
    description = "exhaustive grid (GridSearchCV's search); Floats need a step"

    def make_sampler(self, kwargs: dict[str, Any]) -> Any:
        import optuna

        self._pending: list[dict[str, Any]] | None = None
        if self.space.branches or self.space.conditional:
            self._pending = self.space.grid()
            return optuna.samplers.RandomSampler(seed=self.seed)
        grid = {name: dist.grid() or [] for name, dist in self.space.items()}  # all finite
        return optuna.samplers.GridSampler(grid, seed=self.seed, **kwargs)

    def setup(self) -> None:
        super().setup()
        self._exhausted = False
        if self._pending is not None:
            seen = [dict(r.params) for r in self.ledger.records() if r.params]
            self._pending = [p for p in self._pending if p not in seen]

    @classmethod
    def budget(cls, space: Space) -> int:
        return len(space.grid())

    def ask(self) -> Proposal | None:
        if self._exhausted:
            return None
        if self._pending is not None:
            if not self._pending:
                return None
            point = self._pending.pop(0)
            self.study.enqueue_trial(point)
            return self._ask(self.ledger.distributions_for(point))
        return super().ask()

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        try:
            super().tell(proposal, outcome)
        except RuntimeError as exc:
            # GridSampler calls study.stop() once the grid is exhausted, which Optuna only
            # allows inside study.optimize(); the trial is already stored when it raises.
            if "Study.stop" not in str(exc):
                raise
            self._exhausted = True
