"""Multi-objective test problems with analytic true fronts, evaluated by pymoo: ZDT1, ZDT2,
ZDT3 (2 objectives, 30 variables) and DTLZ2 (3 objectives, 12 variables).

Each reference point is the true front's nadir plus 10% of the front's range in every
objective (PlatEMO's convention: (1.1, 1.1) on ZDT1 and ZDT2, (1.1, 1.1, 1.1) on DTLZ2),
rounded outwards to 4 decimals. ``optimum`` is the hypervolume of the continuous true front
against it: in closed form for ZDT1, ZDT2 and DTLZ2, and for ZDT3 the integral over the
five arcs of pymoo's ``pareto_front()``: 0.87667, 0.54333, 1.09912 and 0.80740. (pymoo's
default fronts, 100 points and 136 on DTLZ2, give 0.87141, 0.53830, 1.09650 and 0.75677:
a finite front falls short of the curve, by 6% on DTLZ2's surface.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import unitune as ut

from ._base import Problem

_PYMOO: dict[tuple[str, int, int], Any] = {}


def pymoo_problem(name: str, n_var: int, n_obj: int) -> Any:
    """pymoo's problem, built once per process."""
    key = (name, n_var, n_obj)
    if key not in _PYMOO:
        from pymoo.problems import get_problem

        kwargs = {"n_obj": n_obj} if name.startswith("dtlz") else {}
        _PYMOO[key] = get_problem(name, n_var=n_var, **kwargs)
    return _PYMOO[key]


class PymooObjective:
    """pymoo's ``evaluate`` on x0..x{n_var-1}; a tuple of ``n_obj`` floats. Picklable (it
    holds the problem's name; pymoo builds the problem where it is called)."""

    def __init__(self, name: str, n_var: int, n_obj: int) -> None:
        self.name, self.n_var, self.n_obj = name, n_var, n_obj

    def __repr__(self) -> str:
        return f"PymooObjective({self.name!r}, {self.n_var}, {self.n_obj})"

    def __call__(self, params: dict[str, Any]) -> tuple[float, ...]:
        x = np.array([[params[f"x{i}"] for i in range(self.n_var)]], dtype=float)
        f = pymoo_problem(self.name, self.n_var, self.n_obj).evaluate(x, return_values_of=["F"])
        return tuple(float(v) for v in f[0])

    def pareto_front(self, n_points: int) -> np.ndarray:
        """pymoo's analytic front, sampled with about ``n_points`` points."""
        problem = pymoo_problem(self.name, self.n_var, self.n_obj)
        if self.name.startswith("dtlz"):
            from pymoo.util.ref_dirs import get_reference_directions

            parts = max(1, int(math.sqrt(2 * n_points)))
            dirs = get_reference_directions("das-dennis", self.n_obj, n_partitions=parts)
            return problem._calc_pareto_front(ref_dirs=dirs)
        return problem._calc_pareto_front(n_points)  # pareto_front() caches its first call


def _pymoo(name: str, n_var: int, n_obj: int, reference: tuple[float, ...], optimum: float,
           source: str) -> Problem:
    return Problem(
        name,
        ut.Space({f"x{i}": ut.Float(0.0, 1.0) for i in range(n_var)}),
        PymooObjective(name, n_var, n_obj),
        directions=("minimize",) * n_obj,
        metrics=tuple(f"f{i + 1}" for i in range(n_obj)),
        reference=reference,
        optimum=optimum,
        family="multi-objective",
        source=source,
    )


ZDT1 = _pymoo("zdt1", 30, 2, (1.1, 1.1), 0.1 + 2 / 3 + 0.11,
              "ZDT1, 30 variables: front f2 = 1 - sqrt(f1) on [0, 1]; HV against (1.1, 1.1) "
              "= 0.1 + 2/3 + 0.11")
ZDT2 = _pymoo("zdt2", 30, 2, (1.1, 1.1), 0.1 + 1 / 3 + 0.11,
              "ZDT2, 30 variables: front f2 = 1 - f1^2 on [0, 1]; HV against (1.1, 1.1) "
              "= 0.1 + 1/3 + 0.11")
ZDT3 = _pymoo("zdt3", 30, 2, (0.9371, 1.1774), 1.099122636549003,
              "ZDT3, 30 variables: front f2 = 1 - sqrt(f1) - f1 sin(10 pi f1) on pymoo's 5 "
              "arcs (f1 <= 0.85183, f2 in [-0.77337, 1]); HV against (0.9371, 1.1774) by "
              "quadrature")
DTLZ2 = _pymoo("dtlz2", 12, 3, (1.1, 1.1, 1.1), 1.1**3 - math.pi / 6,
               "DTLZ2, 12 variables, 3 objectives: front the unit sphere's positive octant; "
               "HV against (1.1, 1.1, 1.1) = 1.1^3 - pi/6")

PYMOO = (ZDT1, ZDT2, ZDT3, DTLZ2)
