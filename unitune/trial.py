"""The ``Trial`` an objective receives as its second argument."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from unitune.errors import InvalidOption, TrialPruned

if TYPE_CHECKING:
    from unitune.optimize import Driver

__all__ = ["Trial"]


class Trial:
    """One evaluation: its ``number``, its ``params``, and the engine's ear.

    ``report(value, step)`` records an intermediate value and raises
    ``ut.TrialPruned`` when the backend decides to stop the trial.
    """

    __slots__ = ("number", "params", "_run", "_proposal", "_last_step", "_state", "_stopped")

    def __init__(self, number: int, params: Mapping[str, Any], run: Driver, proposal: Any) -> None:
        self.number = number
        self.params = dict(params)
        self._run = run
        self._proposal = proposal
        self._last_step: int | None = None
        self._state: Any = None
        self._stopped = False

    def report(self, value: float, step: int | None = None) -> None:
        """Record ``value`` at ``step`` (default: the step after the last one); raise
        ``ut.TrialPruned`` if the backend prunes the trial here."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            try:
                value = float(value)  # numpy / torch scalars
            except (TypeError, ValueError):
                raise InvalidOption(
                    f"trial.report(value={value!r}): value must be a number"
                ) from None
        value = float(value)
        if step is None:
            step = 0 if self._last_step is None else self._last_step + 1
        elif isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise InvalidOption(f"trial.report(step={step!r}): step must be an integer >= 0")
        step = int(step)
        self._last_step = step
        if self._run.trial_report(self, step, value):
            self._stopped = True
            raise TrialPruned(f"trial {self.number} pruned at step {step} (value {value!r})")

    def constraint(self, *values: float) -> None:
        """Declare this trial's inequality constraints: it is feasible when every value is
        <= 0 (the convention of pymoo and Optuna). Constrained backends (pymoo:*,
        optuna:nsga2/nsga3) search with them; ``result.pareto_front`` and
        ``result.best_trial`` keep feasible trials only. Call it once, before returning."""
        if not values:
            raise InvalidOption("trial.constraint() needs at least one value (<= 0 is feasible)")
        out = []
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                try:
                    v = float(v)  # numpy / torch scalars
                except (TypeError, ValueError):
                    raise InvalidOption(f"trial.constraint(): value {i} is {v!r}; each "
                                        "constraint must be a number (<= 0 is feasible)") from None
            if math.isnan(float(v)):
                raise InvalidOption(f"trial.constraint(): value {i} is nan; each constraint "
                                    "must be a number (<= 0 is feasible)")
            out.append(float(v))
        self._run.trial_constraint(self, tuple(out))

    def should_prune(self) -> bool:
        """True once the backend has decided to stop this trial."""
        return self._stopped

    def checkpoint(self, state: Any) -> None:
        """Keep ``state`` as this trial's latest checkpoint (PBT copies it between trials)."""
        self._state = state
        self._run.checkpoint(self, state)

    def restore(self) -> Any:
        """The state to continue from: this trial's last checkpoint, one the backend
        copied into it (PBT's exploit step), or None for a fresh start."""
        if self._state is not None:
            return self._state
        return self._run.restore(self)

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params!r})"
