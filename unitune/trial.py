"""The ``Trial`` an objective receives as its second argument, and ``Objective``: the one
place the user's objective is called and what it returns read as an ``Outcome``.

Every backend hands the objective a ``Trial``: a subclass of it says where reports go
(``_report``) and where a copied state comes from (``_restore``): the driver's, in
this process (``unitune._driver``), or Ray Tune's, in a Ray worker
(``unitune.adapters.ray._trainable``). The checks of what the objective passes live
here, once.
"""

from __future__ import annotations

import functools
import math
import numbers
import random
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from unitune._checks import BadValue, by_run_arity, objective_arity, parse_values
from unitune._discover import Asked, redeclared, sample
from unitune.adapters.base import Outcome
from unitune.errors import InvalidOption, TrialPruned
from unitune.records import TrialState
from unitune.space import Categorical, Distribution, Float, Int

__all__ = ["Objective", "Trial"]


def _constraint(value: Any, i: int) -> float:
    """A constraint value as a float (numpy and torch scalars too). A bool is refused:
    True would read as a violation of 1, False as feasible, which is rarely what is meant."""
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            pass
        else:
            if not math.isnan(number):
                return number
    raise InvalidOption(f"trial.constraint(): value {i} is {value!r}; each constraint must "
                        "be a number (<= 0 is feasible)")


class Trial:
    """One evaluation: its ``number``, its ``params``, and the engine's ear.

    ``report(value, step)`` records an intermediate value and raises
    ``ut.TrialPruned`` when the backend decides to stop the trial. A ``Trial`` made
    by hand (``ut.Trial(0, params)``) records nothing and never prunes: handy to call
    an objective outside a study.

    ``suggest_float``/``suggest_int``/``suggest_categorical`` (Optuna's signatures) give
    a define-by-run objective (``optimize(objective, space=None)``) its values: on
    ``optuna:*`` Optuna's own trial suggests them; elsewhere the engine's value when it
    searches that parameter already, else a random one (``unitune/_discover.py``).
    """

    __slots__ = ("number", "params", "constraints", "_last_step", "_state", "_stopped",
                 "_asked", "_known", "_native", "_rng")

    def __init__(self, number: int, params: Mapping[str, Any]) -> None:
        self.number = number
        self.params = dict(params)
        self.constraints: tuple[float, ...] | None = None
        self._last_step: int | None = None
        self._state: Any = None
        self._stopped = False
        self._asked: Asked = {}  # what suggest_* gave: the trial's params, define-by-run
        self._known: Mapping[str, Distribution] = {}  # the space discovered before it
        self._native: Any = None  # Optuna's trial, which suggests on optuna:*
        self._rng: random.Random | None = None

    # -- define-by-run: Optuna's suggest API ---------------------------------------------------
    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float:
        """A float in ``[low, high]`` (log-uniform with ``log``; on ``step``'s lattice)."""
        return float(self._suggest(name, Float(low, high, log=log, step=step)))

    def suggest_int(self, name: str, low: int, high: int, step: int = 1,
                    log: bool = False) -> int:
        """An integer in ``[low, high]``, both ends included."""
        return int(self._suggest(name, Int(low, high, log=log, step=step)))

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        """One of ``choices`` (None, bool, int, float or str), returned as given."""
        return self._suggest(name, Categorical(choices))

    def _suggest(self, name: str, dist: Distribution) -> Any:
        if name in self._asked:  # asked again in this trial: the same value, as Optuna
            value, first = self._asked[name]
            why = redeclared(name, first, dist)
            if why is not None:
                raise ValueError(why)
            return value
        known = self._known.get(name)
        why = None if known is None else redeclared(name, known, dist)
        if why is not None:
            raise ValueError(why)
        if self._native is not None:
            value = _native_suggest(self._native, name, dist)
        elif name in self.params and dist.contains(self.params[name]):
            value = self.params[name]
        else:  # a parameter the engine does not search (yet): a random value
            if self._rng is None:
                self._rng = random.Random(f"{self.number}:{sorted(self.params.items())!r}")
            value = sample(dist, self._rng)
        self._asked[name] = (value, dist)
        self.params[name] = value
        return value

    def report(self, value: float, step: int | None = None) -> None:
        """Record ``value`` at ``step`` (default: the step after the last one); raise
        ``ut.TrialPruned`` if the backend prunes the trial here."""
        try:
            value = float(value)  # numpy / torch scalars
        except (TypeError, ValueError):
            raise InvalidOption(f"trial.report(value={value!r}): value must be a number") from None
        if step is None:
            step = 0 if self._last_step is None else self._last_step + 1
        elif isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise InvalidOption(f"trial.report(step={step!r}): step must be an integer >= 0")
        step = int(step)
        self._last_step = step
        if self._report(step, value):
            self._stopped = True
            raise TrialPruned(f"trial {self.number} pruned at step {step} (value {value!r})")

    def constraint(self, *values: float) -> None:
        """Declare this trial's inequality constraints: it is feasible when every value is
        <= 0 (the convention of pymoo and Optuna). Constrained backends (pymoo:*,
        optuna:nsga2/nsga3) search with them; ``result.pareto_front`` and
        ``result.best_trial`` keep feasible trials only. Call it once, before returning."""
        if not values:
            raise InvalidOption("trial.constraint() needs at least one value (<= 0 is feasible)")
        self.constraints = tuple(_constraint(v, i) for i, v in enumerate(values))

    def should_prune(self) -> bool:
        """True once the backend has decided to stop this trial."""
        return self._stopped

    def checkpoint(self, state: Any) -> None:
        """Keep ``state`` as this trial's latest checkpoint (PBT copies it between trials;
        on Ray it goes with the next report, so call it before the ``report`` of a step)."""
        self._state = state

    def restore(self) -> Any:
        """The state to continue from: this trial's last checkpoint, one the backend
        copied into it (PBT's exploit step), or None for a fresh start."""
        if self._state is None:
            self._state = self._restore()
        return self._state

    # -- where a trial's reports go: a subclass per runner -----------------------------------
    def _report(self, step: int, value: float) -> bool:
        """Send a report; True if the backend stops the trial here."""
        return False

    def _restore(self) -> Any:
        """A state the backend copied into this trial, or None."""
        return None

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params!r})"


def _native_suggest(trial: Any, name: str, dist: Distribution) -> Any:
    """``dist`` suggested by Optuna's own trial (its sampler sees the define-by-run space)."""
    if isinstance(dist, Categorical):
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, Int):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    assert isinstance(dist, Float)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


@functools.cache
def _pruned_types() -> tuple[type[BaseException], ...]:
    from optuna.exceptions import TrialPruned as OptunaPruned

    return (TrialPruned, OptunaPruned)  # a pasted Optuna objective raises Optuna's


@dataclass(frozen=True)
class Objective:
    """The user's objective as every backend calls it: ``fn(params)``,
    ``fn(params, trial)`` or, define-by-run (``n_args == 0``), ``fn(trial)``; its return
    read as ``n_values`` numbers (a dict by ``metrics``). Picklable when ``fn`` is, so it
    travels to Ray's workers."""

    fn: Callable[..., Any]
    n_args: int
    n_values: int
    metrics: tuple[str, ...] | None = None
    # stored params -> the user's values (objects, ppf of a quantile): ``space._choices``
    decode: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    @classmethod
    def of(cls, fn: Callable[..., Any], n_values: int,
           metrics: tuple[str, ...] | None = None, by_run: bool = False) -> Objective:
        return cls(fn, by_run_arity(fn) if by_run else objective_arity(fn), n_values, metrics)

    def __call__(self, trial: Trial) -> Outcome:
        """Run the objective once; whatever happens, return how the trial ended."""
        start = time.perf_counter()
        state, values, error, trace = TrialState.FAIL, None, None, None
        exc: BaseException | None = None
        interrupted = wrong_count = False
        try:
            if self.decode is not None:
                trial.params = self.decode(trial.params)
            if self.n_args == 0:
                out = self.fn(trial)
            elif self.n_args == 1:
                out = self.fn(dict(trial.params))
            else:
                out = self.fn(dict(trial.params), trial)
            values = parse_values(out, self.n_values, self.metrics)
            state = TrialState.COMPLETE
        except _pruned_types():
            state = TrialState.PRUNED
        except BadValue as bad:
            error, wrong_count = str(bad), bad.wrong_count
        except KeyboardInterrupt as stop:
            error, exc, interrupted = "interrupted: KeyboardInterrupt", stop, True
        except Exception as failure:  # noqa: BLE001 - a failing trial must not end the study
            error, exc = f"{type(failure).__name__}: {failure}", failure
            trace = "".join(traceback.format_exception(failure))
        return Outcome(state, values, error, trace, exc, time.perf_counter() - start,
                       trial.constraints, interrupted, wrong_count,
                       asked=dict(trial._asked) if self.n_args == 0 else None)
