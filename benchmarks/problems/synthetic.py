"""Synthetic functions with known optima: Branin, Hartmann6, Ackley, Rosenbrock, and a mixed
Ackley with Int and Categorical dimensions."""

from __future__ import annotations

import math
from typing import Any

import unitune as ut

from ._base import Problem


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
    source="Branin-Hoo, minimum 0.397887 at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475)",
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
    source="Hartmann 6-D, minimum -3.32237 at "
           "(0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)",
)


def ackley_value(z: list[float]) -> float:
    """Ackley's function (a=20, b=0.2, c=2 pi): 0 at the origin, many local minima."""
    n = len(z)
    square = math.sqrt(sum(v * v for v in z) / n)
    cosine = sum(math.cos(2 * math.pi * v) for v in z) / n
    return -20.0 * math.exp(-0.2 * square) - math.exp(cosine) + 20.0 + math.e


# The usual box [-32.768, 32.768] puts Ackley's minimum at its centre, where CMA-ES
# starts its search and where a grid or a symmetric design lands first: the box is moved
# so that the minimum (the origin) lies a third of the way along every axis.
ACKLEY_LOW, ACKLEY_HIGH = -15.0, 30.0


def ackley10(params: dict[str, Any]) -> float:
    return ackley_value([params[f"x{i}"] for i in range(10)])


ACKLEY10 = Problem(
    "ackley10",
    ut.Space({f"x{i}": ut.Float(ACKLEY_LOW, ACKLEY_HIGH) for i in range(10)}),
    ackley10,
    optimum=0.0,
    source="Ackley, 10-D, on [-15, 30]^10 (moved off-centre); minimum 0 at the origin",
)


def rosenbrock6(params: dict[str, Any]) -> float:
    x = [params[f"x{i}"] for i in range(6)]
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(5))


ROSENBROCK6 = Problem(
    "rosenbrock6",
    ut.Space({f"x{i}": ut.Float(-5.0, 10.0) for i in range(6)}),
    rosenbrock6,
    optimum=0.0,
    source="Rosenbrock, 6-D, on [-5, 10]^6; minimum 0 at (1, ..., 1)",
)

# The categorical "basin" moves the continuous coordinates' minimum and adds a floor:
# only basin "b" reaches 0; "a" and "c" are decoys whose best is 0.5 and 1.0.
MIXED_BASINS = {"a": (0.0, 0.5), "b": (2.5, 0.0), "c": (-4.0, 1.0)}  # basin: (shift, floor)


def ackley_mixed(params: dict[str, Any]) -> float:
    shift, floor = MIXED_BASINS[params["basin"]]
    z = [params[f"x{i}"] - shift for i in range(4)] + [float(params[f"k{i}"]) for i in range(3)]
    return ackley_value(z) + floor


ACKLEY_MIXED = Problem(
    "ackley-mixed",
    ut.Space({
        **{f"x{i}": ut.Float(ACKLEY_LOW, ACKLEY_HIGH) for i in range(4)},
        **{f"k{i}": ut.Int(-10, 20) for i in range(3)},
        "basin": ut.Categorical(["a", "b", "c"]),
    }),
    ackley_mixed,
    optimum=0.0,
    source="Ackley on 4 Floats in [-15, 30] and 3 Ints in [-10, 20], with a Categorical "
           "basin that shifts the Floats' minimum and adds a floor (a: 0, +0.5; b: 2.5, +0; "
           "c: -4, +1); minimum 0 at basin=b, x=2.5, k=0",
)

SYNTHETIC = (BRANIN, HARTMANN6, ACKLEY10, ROSENBROCK6, ACKLEY_MIXED)
