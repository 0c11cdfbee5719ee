"""What a benchmark problem is: a space, an objective on plain dicts, its direction(s) and,
where it is known, its optimum."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import unitune as ut

FAMILIES = ("synthetic", "tabular", "ml", "multi-objective", "conditional")


@dataclass(frozen=True)
class Problem:
    """One problem of the catalogue.

    ``objective(params)`` returns one number, or for several objectives a tuple in the
    order of ``directions``. It is picklable by plain pickle (a module-level function, or
    an instance of a module-level class that loads its data on first call), so a cell can
    run in another process or on a Ray worker.

    ``optimum``: single objective, the best value the objective can return (``None`` when
    unknown); several objectives, the hypervolume of the true front against
    ``reference`` (see :func:`hypervolume` for the convention).
    """

    name: str
    space: ut.Space
    objective: Callable[[dict[str, Any]], Any]
    direction: str = "minimize"
    optimum: float | None = None
    family: str = "synthetic"
    directions: tuple[str, ...] | None = None  # several objectives; then `direction` is unused
    reference: tuple[float, ...] | None = None  # several objectives: the hypervolume's point
    metrics: tuple[str, ...] | None = None  # several objectives: a name for each
    source: str = ""  # where the optimum (and the reference) come from

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        if self.directions is None:
            if self.reference is not None:
                raise ValueError(f"{self.name}: reference is for several objectives only")
            return
        if len(self.directions) < 2:
            raise ValueError(f"{self.name}: directions needs 2 or more; use direction")
        if self.reference is None or len(self.reference) != len(self.directions):
            raise ValueError(f"{self.name}: reference needs one value per direction")
        if self.metrics is not None and len(self.metrics) != len(self.directions):
            raise ValueError(f"{self.name}: metrics needs one name per direction")

    @property
    def n_objectives(self) -> int:
        return 1 if self.directions is None else len(self.directions)

    @property
    def all_directions(self) -> tuple[str, ...]:
        """The direction of every objective: ``(direction,)`` for one."""
        return (self.direction,) if self.directions is None else self.directions

    def direction_kwargs(self) -> dict[str, Any]:
        """``direction=`` or ``directions=``, as ``ut.optimize`` and ``ut.compare`` take them."""
        if self.directions is None:
            return {"direction": self.direction}
        return {"directions": list(self.directions)}


def minimised(points: Any, directions: Sequence[str]) -> np.ndarray:
    """Points (one row each) with every maximised column negated: all minimised."""
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return np.atleast_2d(np.asarray(points, dtype=float)) * signs


def hypervolume(points: Any, directions: Sequence[str], reference: Sequence[float]) -> float:
    """The hypervolume the points dominate up to ``reference``, both in the objectives'
    own units: maximised objectives are negated (points and reference) and the volume is
    pymoo's HV of the minimisation problem. Points not better than the reference in every
    objective add nothing."""
    from pymoo.indicators.hv import HV

    ref = minimised(reference, directions)[0]
    pts = minimised(points, directions)
    pts = pts[np.all(pts < ref, axis=1)]
    return 0.0 if len(pts) == 0 else float(HV(ref_point=ref)(pts))
