"""What a study leaves behind: ``TrialState``, ``TrialRecord`` and ``Result``."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from unitune.errors import InvalidOption

if TYPE_CHECKING:
    from unitune.space import Space

__all__ = ["Result", "TrialRecord", "TrialState", "state_counts", "use_plotter"]


class TrialState(str, enum.Enum):
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"
    WAITING = "WAITING"

    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the ledger keeps it."""

    number: int
    params: Mapping[str, Any]
    state: TrialState
    values: tuple[float, ...] | None = None  # PRUNED: the last intermediate value
    intermediate: Mapping[int, float] = field(default_factory=dict)
    duration: float | None = None
    error: str | None = None
    backend: str | None = None
    datetime_start: datetime | None = None
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    constraints: tuple[float, ...] | None = None  # from trial.constraint(); <= 0 feasible
    worker: str | None = None  # host:pid of the process that ran the objective

    def __post_init__(self) -> None:
        if not isinstance(self.state, TrialState):
            object.__setattr__(self, "state", TrialState(self.state))
        if self.values is not None:
            object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        if self.constraints is not None:
            object.__setattr__(self, "constraints", tuple(float(c) for c in self.constraints))
        if self.state is TrialState.COMPLETE and self.values is None:
            raise ValueError(f"trial {self.number}: a COMPLETE trial needs values")

    @property
    def value(self) -> float | None:
        """The single objective value: a completed trial's, a pruned trial's last
        intermediate value (what Optuna keeps; never a candidate for the best trial), or
        None (failed, running, or pruned before any report)."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise InvalidOption(
                f"trial {self.number} has {len(self.values)} values; use .values"
            )
        return self.values[0]

    @property
    def feasible(self) -> bool:
        """True unless a declared constraint is violated (> 0); unconstrained trials are
        feasible."""
        return self.constraints is None or all(c <= 0 for c in self.constraints)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state.value,
            "values": list(self.values) if self.values is not None else None,
            "params": dict(self.params),
            "intermediate": dict(self.intermediate),
            "duration": self.duration,
            "error": self.error,
            "backend": self.backend,
            "constraints": list(self.constraints) if self.constraints is not None else None,
            "worker": self.worker,
        }


def state_counts(trials: Sequence[TrialRecord]) -> dict[str, int]:
    """How many trials end in each state, in the order states first appear."""
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.value] = counts.get(t.state.value, 0) + 1
    return counts


# How ``Result.plot`` draws: set by ``unitune.plots`` (a layer above this one, which
# ``import unitune`` loads), so that this module needs no plotting code.
_plotter: Callable[..., Any] | None = None


def use_plotter(plotter: Callable[..., Any]) -> None:
    """Make ``plotter(result, kind, **kw)`` what ``Result.plot`` calls."""
    global _plotter
    _plotter = plotter


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


@dataclass(frozen=True)
class Result:
    """What ``ut.optimize`` returns: every trial of the study, and its best."""

    study_name: str
    directions: tuple[str, ...]
    trials: tuple[TrialRecord, ...]
    metrics: tuple[str, ...] | None = None
    backend: str | None = None
    interrupted: bool = False
    # the study's space: how its params are distributed (log scale...), for the plots
    space: Space | None = field(default=None, compare=False)

    @property
    def completed(self) -> tuple[TrialRecord, ...]:
        return tuple(t for t in self.trials if t.state is TrialState.COMPLETE)

    def _signed(self, values: Sequence[float] | None) -> tuple[float, ...]:
        """Values turned so that smaller is better in every direction (a completed
        trial's values are never None)."""
        return tuple(v if d == "minimize" else -v for v, d in zip(values or (), self.directions))

    @property
    def best_trial(self) -> TrialRecord:
        """The completed feasible trial with the best value (single-objective studies)."""
        if len(self.directions) > 1:
            raise InvalidOption(
                "this study has several directions: there is no single best trial; "
                "use result.pareto_front"
            )
        done = [t for t in self.completed if not math.isnan(self._signed(t.values)[0])]
        if not done:
            raise InvalidOption(
                f"study {self.study_name!r} has no completed trial "
                f"({len(self.trials)} trials: {self._state_counts()})"
            )
        done = [t for t in done if t.feasible]
        if not done:
            raise InvalidOption(
                f"study {self.study_name!r} has no feasible trial: every completed trial "
                "violates a constraint (a value > 0 in trial.constraint)"
            )
        return min(done, key=lambda t: self._signed(t.values))

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None  # the best trial is a completed one
        return value

    @property
    def pareto_front(self) -> tuple[TrialRecord, ...]:
        """The completed feasible trials that no other completed feasible trial dominates
        (every completed trial when none declared constraints)."""
        done = [t for t in self.completed if t.feasible]
        signed = [self._signed(t.values) for t in done]
        return tuple(
            t for i, t in enumerate(done)
            if not any(_dominates(signed[j], signed[i]) for j in range(len(done)) if j != i)
        )

    def hypervolume(self, ref_point: Sequence[float]) -> float:
        """The volume of objective space that the Pareto front dominates up to
        ``ref_point`` (given in the study's own directions and units, one value per
        direction: worse than the front in each). Points of the front not strictly better
        than ``ref_point`` in every value add nothing. Uses Optuna's exact WFG algorithm."""
        import numpy as np
        from optuna._hypervolume import compute_hypervolume

        try:
            ref = [float(v) for v in ref_point]
        except (TypeError, ValueError):
            raise InvalidOption(f"ref_point={ref_point!r} must be a sequence of numbers, "
                                f"one per direction {list(self.directions)}") from None
        if len(ref) != len(self.directions) or not all(math.isfinite(v) for v in ref):
            raise InvalidOption(f"ref_point={ref_point!r} must hold {len(self.directions)} "
                                f"finite number(s), one per direction {list(self.directions)}")
        signed_ref = np.array(self._signed(ref))
        front = [self._signed(t.values) for t in self.pareto_front]
        points = np.array([p for p in front if all(a < b for a, b in zip(p, signed_ref))])
        if len(points) == 0:
            return 0.0
        return float(compute_hypervolume(points, signed_ref, assume_pareto=True))

    def _state_counts(self) -> str:
        return ", ".join(f"{n} {s}" for s, n in state_counts(self.trials).items()) or "none"

    def to_dataframe(self) -> Any:
        """One row per trial: number, state, value(s) (named by ``metrics``),
        ``params_<name>``, duration (seconds), datetime_start, error (why it failed),
        backend, worker (host:pid of the process that ran it), and ``constraints``,
        ``feasible`` when a trial declared constraints. ``unitune export`` writes it."""
        import pandas as pd

        constrained = any(t.constraints is not None for t in self.trials)
        names = self.value_names()
        # every param a column, side by side; a trial without it (a conditional
        # parameter that was inactive) leaves it empty
        params = list(dict.fromkeys(k for t in self.trials for k in t.params))
        if self.space is not None:
            order = {k: i for i, k in enumerate(self.space.names)}
            params.sort(key=lambda k: order.get(k, len(order)))
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"number": t.number, "state": t.state.value}
            for i, name in enumerate(names):
                row[name] = t.values[i] if t.values is not None else math.nan
            for k in params:
                row[f"params_{k}"] = t.params.get(k)
            row.update(duration=t.duration, datetime_start=t.datetime_start, error=t.error,
                       backend=t.backend, worker=t.worker)
            if constrained:
                row["constraints"] = list(t.constraints) if t.constraints is not None else None
                row["feasible"] = t.feasible
            rows.append(row)
        return pd.DataFrame(rows)

    def value_names(self) -> tuple[str, ...]:
        """The name of each objective value: its metric, else ``value`` (one objective) or
        ``values_0``, ``values_1``... (Optuna's column names)."""
        return self.metrics or (
            ("value",) if len(self.directions) == 1
            else tuple(f"values_{i}" for i in range(len(self.directions))))

    def plot(self, kind: str, **kw: Any) -> Any:
        """A matplotlib Figure of the study, drawn by ``optuna.visualization``: ``kind`` is
        history, importance, parallel, slice, contour, pareto, intermediate, timeline or
        edf; ``params=[...]`` picks params, ``target=`` a metric of a multi-objective
        study. The same as ``ut.plot(result, kind, **kw)`` (``unitune/plots.py``)."""
        if _plotter is None:  # unitune/__init__ sets it: unreachable once unitune is loaded
            raise RuntimeError("import unitune to plot")
        return _plotter(self, kind, **kw)

    def __repr__(self) -> str:
        head = f"Result(study={self.study_name!r}, backend={self.backend!r}, "
        head += f"trials={len(self.trials)} [{self._state_counts()}]"
        if len(self.directions) == 1 and self.completed:
            head += f", best_value={self.best_value!r}, best_params={self.best_params!r}"
        elif self.completed:
            head += f", pareto_front={len(self.pareto_front)} trials"
        return head + ")"
