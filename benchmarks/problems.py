"""Benchmark problems shared by the overhead scripts and the backend comparison suite.

Each problem is a unitune space, an objective on plain dicts, its direction and its
known optimum, so every backend (and every engine called directly) sees the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import unitune as ut


@dataclass(frozen=True)
class Problem:
    name: str
    space: ut.Space
    objective: Callable[[dict[str, Any]], float]
    direction: str = "minimize"
    optimum: float | None = None


def branin(params: dict[str, Any]) -> float:
    x1, x2 = params["x1"], params["x2"]
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


BRANIN = Problem(
    "branin",
    ut.Space(x1=ut.Float(-5.0, 10.0), x2=ut.Float(0.0, 15.0)),
    branin,
    optimum=0.397887,
)


def hartmann6(params: dict[str, Any]) -> float:
    alpha = (1.0, 1.2, 3.0, 3.2)
    A = ((10, 3, 17, 3.5, 1.7, 8), (0.05, 10, 17, 0.1, 8, 14),
         (3, 3.5, 1.7, 10, 17, 8), (17, 8, 0.05, 10, 0.1, 14))
    P = ((1312, 1696, 5569, 124, 8283, 5886), (2329, 4135, 8307, 3736, 1004, 9991),
         (2348, 1451, 3522, 2883, 3047, 6650), (4047, 8828, 8732, 5743, 1091, 381))
    x = [params[f"x{i}"] for i in range(6)]
    total = 0.0
    for i in range(4):
        inner = sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6))
        total -= alpha[i] * math.exp(-inner)
    return total


HARTMANN6 = Problem(
    "hartmann6",
    ut.Space({f"x{i}": ut.Float(0.0, 1.0) for i in range(6)}),
    hartmann6,
    optimum=-3.32237,
)

PROBLEMS = {p.name: p for p in (BRANIN, HARTMANN6)}
