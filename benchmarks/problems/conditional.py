"""A conditional problem with a known optimum in one branch, declared once with ``when=``
and once flattened by hand (every parameter always there), to compare engines that see
the hierarchy with engines that search it flat.

``model`` picks one of three branches, each with its own parameters; branch ``b`` has a
second level (``z`` exists only when ``kind == "q"``):

- ``a``: ``1 + ((x1 - 1)^2 + (x2 + 2)^2) / 10`` over ``x1, x2 in [-5, 5]``: minimum 1.0;
- ``b``: ``0.5 + 2 (log10(y) + 2)^2`` plus 0.5 if ``kind == "p"``, else
  ``0.05 |z - 7|`` (``z`` in 1..10): minimum 0.5 at ``y = 0.01, kind = q, z = 7``;
- ``c``: ``2 + w^2`` over ``w in [-3, 3]``: minimum 2.0.

The flat problem's objective is the same function (it reads the active parameters
only), over a space where every parameter is always drawn: what a user of an engine
without conditionals writes by hand.
"""

from __future__ import annotations

import math
from typing import Any

import unitune as ut

from ._base import Problem


def branches(params: dict[str, Any]) -> float:
    model = params["model"]
    if model == "a":
        return 1.0 + ((params["x1"] - 1.0) ** 2 + (params["x2"] + 2.0) ** 2) / 10.0
    if model == "b":
        level2 = 0.5 if params["kind"] == "p" else 0.05 * abs(params["z"] - 7)
        return 0.5 + 2.0 * (math.log10(params["y"]) + 2.0) ** 2 + level2
    return 2.0 + params["w"] ** 2


def _space(conditional: bool) -> ut.Space:
    def when(**cond: Any) -> dict[str, Any]:
        return {"when": cond} if conditional else {}

    return ut.Space(
        model=ut.Categorical(["a", "b", "c"]),
        x1=ut.Float(-5.0, 5.0, **when(model="a")),
        x2=ut.Float(-5.0, 5.0, **when(model="a")),
        y=ut.Float(1e-4, 1.0, log=True, **when(model="b")),
        kind=ut.Categorical(["p", "q"], **when(model="b")),
        z=ut.Int(1, 10, **when(kind="q")),
        w=ut.Float(-3.0, 3.0, **when(model="c")),
    )


_SOURCE = "by construction: 0.5 at model=b, y=0.01, kind=q, z=7"
CONDITIONAL_BRANCHES = Problem("cond-branches", _space(True), branches, optimum=0.5,
                               family="conditional", source=_SOURCE)
FLAT_BRANCHES = Problem("cond-branches-flat", _space(False), branches, optimum=0.5,
                        family="conditional", source=_SOURCE + " (flattened by hand)")
CONDITIONAL = [CONDITIONAL_BRANCHES, FLAT_BRANCHES]
