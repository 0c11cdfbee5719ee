"""scikit-optimize backends: Bayesian optimisation with a GP, random-forest, extra-trees or
gradient-boosted-trees surrogate (``skopt:gp``, ``skopt:rf``, ``skopt:et``, ``skopt:gbrt``).

The adapter drives ``skopt.Optimizer`` by ask/tell; optimize() writes each trial to the
ledger as it starts and ends. With the same seed it proposes exactly what a hand-written
``Optimizer(dims, base_estimator=..., random_state=seed)`` loop proposes. Options are the
Optimizer's own keyword arguments (``acq_func``, ``n_initial_points``,
``initial_point_generator``, ``acq_optimizer`` and their ``*_kwargs``) plus ``strategy``,
the constant liar used to ask a batch when ``n_workers > 1``: the batch's first point is
what a sequential loop would propose next, each further one what skopt proposes once
told a lie for the earlier ones, on a copy of the fitted optimizer (``_batch``); the
outcomes are fitted in one ``tell`` when the next batch is asked.

How the space is mapped, so that nothing is dropped:

* ``Float``/``Int`` become ``Real``/``Integer`` with a ``log-uniform`` prior where
  ``log=True``; values come back as Python ``float``/``int``, clamped to the bounds.
* A ``step`` (Int or Float) becomes an ``Integer`` over the index ``0..n`` and value
  ``low + k * step``: the surrogate still sees the values in order and every value is
  exact (skopt has no step of its own; a Float step could otherwise only be rounded).
* A ``Categorical`` becomes a categorical over the indices of its choices, and the index
  is mapped back to the user's own object: skopt turns mixed choices into strings or
  numpy scalars and confuses ``True`` with ``1``.
* A parameter with a single value is not given to skopt (it refuses zero-width ranges).

Failed, pruned and non-finite trials are never told to the surrogate (skopt's model fit
breaks on inf and NaN); the point is remembered so that it is not proposed again.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from unitune._checks import check_choice, check_number
from unitune.adapters import register
from unitune.adapters.base import Adapter, Capabilities, Outcome, Proposal
from unitune.adapters.skopt._codec import decode, dimension, encode, gbrt
from unitune.errors import InvalidOption
from unitune.records import TrialRecord, TrialState
from unitune.space import Space
from unitune.space._distributions import fixed_value, is_fixed

__all__ = ["SkoptAdapter"]

ACQ_FUNCS = ("EI", "PI", "LCB", "gp_hedge")
GENERATORS = ("random", "sobol", "halton", "hammersly", "lhs", "grid")
ACQ_OPTIMIZERS = ("auto", "lbfgs", "sampling")
STRATEGIES = ("cl_min", "cl_mean", "cl_max")
_OPTIONS = {
    "acq_func": f"acquisition function, one of {', '.join(ACQ_FUNCS)} (default gp_hedge)",
    "acq_func_kwargs": "dict: xi (EI, PI), kappa (LCB), eta (gp_hedge)",
    "n_initial_points": "random/design points before the surrogate is used (default 10)",
    "initial_point_generator": f"one of {', '.join(GENERATORS)} (default random)",
    "acq_optimizer": "auto, lbfgs (skopt:gp only) or sampling (default auto)",
    "acq_optimizer_kwargs": "dict: n_points, n_restarts_optimizer, n_jobs",
    "strategy": f"constant liar for batches when n_workers > 1: {', '.join(STRATEGIES)} "
                "(default cl_min)",
    "model_queue_size": "surrogate models kept in memory (default 1; proposals unchanged)",
}
_DICT_KEYS = {"acq_func_kwargs": ("xi", "kappa", "eta"),
              "acq_optimizer_kwargs": ("n_points", "n_restarts_optimizer", "n_jobs")}
_INT_KEYS = ("n_points", "n_restarts_optimizer", "n_jobs")
_DUPLICATE = "The objective has been evaluated at point"


def _check_options(name: str, estimator: str, options: Mapping[str, Any]) -> None:
    """Refuse bad option values up front, with the value and what would be right."""
    for key, allowed in (("acq_func", ACQ_FUNCS), ("initial_point_generator", GENERATORS),
                         ("acq_optimizer", ACQ_OPTIMIZERS), ("strategy", STRATEGIES)):
        if key in options:
            check_choice(options[key], key, allowed, backend=name)
    if options.get("acq_optimizer") == "lbfgs" and estimator != "GP":
        raise InvalidOption(f"backend {name!r}: option acq_optimizer='lbfgs' needs gradients "
                            "of the surrogate, which only skopt:gp has; use 'sampling'")
    for key in ("n_initial_points", "model_queue_size"):
        if key in options:
            check_number(options[key], key, integer=True, low=1, backend=name)
    for key, allowed in _DICT_KEYS.items():
        value = options.get(key, {})
        if not isinstance(value, Mapping):
            raise InvalidOption(f"backend {name!r}: option {key}={value!r} must be a dict "
                                f"with keys among {', '.join(allowed)}")
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise InvalidOption(f"backend {name!r}: option {key} has unknown key "
                                f"{unknown[0]!r}; accepted: {', '.join(allowed)}")
        for inner, v in value.items():
            check_number(v, f"{key}.{inner}", backend=name, integer=inner in _INT_KEYS,
                         low=None if inner == "n_jobs" else 1 if inner in _INT_KEYS else 0.0)


def _quietly(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a skopt call without its "The objective has been evaluated at point ... before"
    warning: it names skopt's encoded point (indices, not the user's values) and floods
    small discrete spaces, where skopt then draws a random point, as unitune does for a
    failed one. Every other warning goes through the user's filters as usual."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DUPLICATE, category=UserWarning)
        return call(*args, **kwargs)


class SkoptAdapter(Adapter):
    """Shared by the four surrogates; a subclass names skopt's ``base_estimator``."""

    engine = "skopt"
    extra = "skopt"
    requires: ClassVar[tuple[str, ...]] = ("skopt", "sklearn", "scipy")
    capabilities = Capabilities(multi_objective=False, pruning=False, parallel=True,
                                conditional="flattened")
    estimator: ClassVar[str]

    @classmethod
    def accepted_options(cls) -> dict[str, str]:
        return dict(_OPTIONS)

    @classmethod
    def validate(cls, space: Space, directions: Sequence[str],
                 options: Mapping[str, Any]) -> None:
        super().validate(space, directions, options)
        _check_options(cls.name, cls.estimator, options)

    def setup(self) -> None:
        self._dists = dict(self.space.items())
        self._fixed = {n: fixed_value(d) for n, d in self._dists.items() if is_fixed(d)}
        self._free = [n for n in self._dists if n not in self._fixed]
        self._sign = 1.0 if self.directions[0] == "minimize" else -1.0  # skopt minimises
        self._strategy = self.options.get("strategy", "cl_min")
        self._queue: deque[list[Any]] = deque()
        self._in_flight: list[list[Any]] = []
        self._avoid: list[list[Any]] = []  # failed / non-finite points: not proposed again
        self._told: list[tuple[list[Any], float]] = []  # told, fitted at the next ask
        self._warned = False
        self.optimizer = self._make_optimizer() if self._free else None

    def _make_optimizer(self) -> Any:
        import numpy as np
        from skopt import Optimizer

        opts = {k: v for k, v in self.options.items() if k != "strategy"}
        opts.setdefault("model_queue_size", 1)
        rng = np.random.RandomState(self.seed)
        estimator: Any = self.estimator
        if estimator == "GBRT":  # the draw skopt's cook_estimator would make, same stream
            estimator = gbrt(rng.randint(0, np.iinfo(np.int32).max))
        dims = [dimension(self._dists[n]) for n in self._free]
        try:
            return Optimizer(dims, base_estimator=estimator, random_state=rng, **opts)
        except (TypeError, ValueError) as exc:
            raise InvalidOption(f"backend {self.name!r}, options {self.options!r}: "
                                f"{exc}") from None

    # -- points -------------------------------------------------------------------------------
    def _params(self, x: Sequence[Any]) -> dict[str, Any]:
        """The params of skopt's point; of a conditional space, the active ones only
        (skopt searches every parameter: the space flattened)."""
        free = {n: decode(self._dists[n], v) for n, v in zip(self._free, x)}
        return self.space.prune({n: free[n] if n in free else self._fixed[n]
                                 for n in self._dists})

    def _point(self, params: Mapping[str, Any]) -> list[Any] | None:
        """skopt's point for a trial it did not propose; an inactive parameter of a
        conditional space at its filler (``Space.fill``: the ledger keeps active ones)."""
        if not self.space.contains(params):
            return None  # not a point of this space: nothing to tell the surrogate
        params = self.space.fill(params)
        return [encode(self._dists[n], params[n]) for n in self._free]

    def _next_point(self) -> list[Any]:
        opt = self.optimizer
        assert opt is not None  # asked only when something is searched
        if self.n_workers == 1:
            self._fit(opt)
            x = _quietly(opt.ask)
        else:  # a batch's points were chosen together: outcomes are fitted for the next
            if not self._queue:
                self._fit(opt)
                self._queue.extend(self._batch(opt, self.n_workers))
            x = self._queue.popleft()
        # skopt proposes the same point (or serves the same cached batch) until it is told
        # something new, and a failed point is never told: a point already evaluated, failed
        # or running is replaced by a random one, from skopt's own random state.
        told = [p for p, _ in self._told]  # evaluated, fitted at the next batch
        for _ in range(20):
            if x not in self._avoid and x not in self._in_flight and x not in opt.Xi \
                    and x not in told:
                break
            x = opt.space.rvs(random_state=opt.rng)[0]
        return x

    def _fit(self, opt: Any) -> None:
        """Tell skopt the outcomes that came since it last proposed, in one call: one
        surrogate fit however many trials ended (each ``tell`` refits, and a fit costs
        hundreds of ms next to a trial of milliseconds; sequentially, one per trial)."""
        if self._told:
            xs, ys = zip(*self._told)
            self._told = []
            _quietly(opt.tell, list(xs), list(ys))

    def _batch(self, opt: Any, n: int) -> list[list[Any]]:
        """``n`` points by skopt's constant liar (``strategy``: cl_min, cl_mean, cl_max),
        as ``Optimizer.ask(n_points=n)`` makes them, less its one redundant fit: skopt
        rebuilds its copy by refitting every point told so far; a deep copy keeps the fitted
        surrogate, so a batch of n costs n - 1 fits (one per lie), not n + 1."""
        import copy

        import numpy as np

        points = [_quietly(opt.ask)]
        if n > 1:
            liar = copy.deepcopy(opt)  # its own random stream, drawn as skopt's copy draws it
            liar.rng = np.random.RandomState(opt.rng.randint(0, np.iinfo(np.int32).max))
            lie: Any = {"cl_min": np.min, "cl_mean": np.mean, "cl_max": np.max}[self._strategy]
            for _ in range(n - 1):
                _quietly(liar.tell, points[-1], float(lie(liar.yi)) if liar.yi else 0.0)
                points.append(_quietly(liar.ask))
        return points

    # -- the protocol -------------------------------------------------------------------------
    def ask(self) -> Proposal | None:
        if self.optimizer is None:
            return Proposal(params=self.space.prune(self._fixed))
        x = self._next_point()
        self._in_flight.append(x)
        return Proposal(params=self._params(x), handle=x)

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        x = proposal.handle
        self._in_flight = [p for p in self._in_flight if p is not x]
        self._learn(x, outcome)

    def observe(self, proposal: Proposal, outcome: Outcome) -> None:
        self._learn(self._point(proposal.params), outcome)

    def _learn(self, x: list[Any] | None, outcome: Outcome) -> None:
        if self.optimizer is None or x is None:
            return
        values = outcome.values
        if outcome.state is TrialState.COMPLETE and values and math.isfinite(values[0]):
            self._told.append((x, self._sign * float(values[0])))
        else:
            self._avoid.append(x)

    def warm_start(self, records: Sequence[TrialRecord]) -> None:
        """Tell skopt every completed trial in the ledger (whichever backend ran it) in one
        batch, so the surrogate is fitted once before the first proposal."""
        if self.optimizer is None:
            return
        xs, ys = [], []
        for record in records:
            x = self._point(record.params)
            if x is None:
                continue
            if (record.state is TrialState.COMPLETE and record.values
                    and math.isfinite(record.values[0])):
                xs.append(x)
                ys.append(self._sign * float(record.values[0]))
            else:
                self._avoid.append(x)
        if xs:
            _quietly(self.optimizer.tell, xs, ys)

    def report(self, proposal: Proposal, step: int, value: float) -> bool:
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"backend {self.name!r} does not prune: trial.report() records intermediate "
                "values, but every trial runs to the end. For pruning use a backend that "
                "prunes, e.g. optuna:tpe or ray:asha (see ut.backends())",
                UserWarning, stacklevel=5)  # objective > Trial.report > _report > driver > here
        return super().report(proposal, step, value)


@register
class SkoptGPAdapter(SkoptAdapter):
    name = "skopt:gp"
    estimator = "GP"
    default = True
    description = "Bayesian optimisation with a Gaussian-process surrogate (gp_minimize)"


@register
class SkoptRFAdapter(SkoptAdapter):
    name = "skopt:rf"
    estimator = "RF"
    description = "sequential model-based optimisation with a random forest (forest_minimize)"


@register
class SkoptETAdapter(SkoptAdapter):
    name = "skopt:et"
    estimator = "ET"
    description = "sequential model-based optimisation with extra trees (forest_minimize)"


@register
class SkoptGBRTAdapter(SkoptAdapter):
    name = "skopt:gbrt"
    estimator = "GBRT"
    description = "sequential model-based optimisation with quantile gradient-boosted trees"
