"""Define-by-run objectives: the space as the objective's ``trial.suggest_*`` calls
declare it, one trial at a time.

What a ``Trial`` asks is kept as ``{name: (value, Distribution)}`` ("asked"), the
parameters of that trial and nothing else. Across trials the asked distributions make
the *discovered space*: the first declaration of a name fixes its distribution, and a
later trial that declares the same name otherwise fails with Optuna's message
(``redeclared``). Here, once:

- ``redeclared``: the check of a declaration against the one seen before;
- ``sample``: a random value of a distribution (a parameter the engine does not know yet);
- ``grow``: the discovered space with what a trial asked added;
- ``fill_inactive``: the values given to the parameters a past trial did not ask, to tell
  an engine that searches a full vector (skopt, pymoo) the trial as a point of it;
- ``asked_to_json`` / ``asked_from_json``: what a Ray worker sends back with the outcome.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from typing import Any

from unitune.space import Categorical, Distribution, Float, Int, Space
from unitune.space._distributions import distribution_from_dict

__all__ = ["Asked", "asked_from_json", "asked_to_json", "describe", "fill_inactive", "grow",
           "redeclared", "sample"]

Asked = dict[str, tuple[Any, Distribution]]


def redeclared(name: str, known: Distribution, new: Distribution) -> str | None:
    """Why declaring ``name`` as ``new`` after ``known`` is refused (Optuna's message, and
    both declarations), or None when it is the same declaration."""
    if known == new:
        return None
    from optuna.distributions import check_distribution_compatibility

    from unitune.space._optuna import optuna_distribution

    try:
        check_distribution_compatibility(optuna_distribution(known), optuna_distribution(new))
    except ValueError as exc:
        why = str(exc)
    else:  # Optuna lets a Float or Int change its bounds or step; one space cannot
        why = "Cannot set different bounds or step to the same parameter name."
    return (f"parameter {name!r}: {why} It was declared {describe(known)} before, and now "
            f"{describe(new)}; declare it the same way in every trial")


def describe(dist: Distribution) -> str:
    """``Float(low=0.001, high=1000.0, log=True)``: a declaration as the user writes it."""
    args = ", ".join(f"{k}={v!r}" for k, v in dist.to_dict().items() if k != "type")
    return f"{type(dist).__name__}({args})"


def sample(dist: Distribution, rng: random.Random) -> Any:
    """A random value of ``dist`` (log-uniform where ``log``; on its step lattice)."""
    if isinstance(dist, Categorical):
        return dist.choices[rng.randrange(len(dist.choices))]
    if isinstance(dist, Int):
        if dist.log:
            value = math.exp(rng.uniform(math.log(dist.low - 0.5), math.log(dist.high + 0.5)))
            return min(max(int(round(value)), dist.low), dist.high)
        return dist.low + dist.step * rng.randrange((dist.high - dist.low) // dist.step + 1)
    assert isinstance(dist, Float)
    if dist.step is not None:
        grid = dist.grid()
        assert grid is not None
        return grid[rng.randrange(len(grid))]
    if dist.log:
        return min(max(math.exp(rng.uniform(math.log(dist.low), math.log(dist.high))),
                       dist.low), dist.high)
    return rng.uniform(dist.low, dist.high)


def grow(space: Mapping[str, Distribution], asked: Asked) -> dict[str, Distribution]:
    """``space`` with the parameters ``asked`` declares that it does not have, in the
    order they were asked (a parameter already there keeps its declaration)."""
    out = dict(space)
    for name, (_, dist) in asked.items():
        out.setdefault(name, dist)
    return out


def fill_inactive(params: Mapping[str, Any], space: Space) -> dict[str, Any]:
    """``params`` as a point of ``space``: a parameter the trial did not ask gets a fixed
    value (a Categorical its first choice, a number its low end), the same every time, so
    that an engine searching the full vector sees "inactive" as one value of it."""
    out = {}
    for name, dist in space.items():
        if name in params and dist.contains(params[name]):
            out[name] = params[name]
        elif isinstance(dist, Categorical):
            out[name] = dist.choices[0]
        else:
            out[name] = dist.low  # type: ignore[attr-defined]  # Float or Int
    return out


def asked_to_json(asked: Asked) -> str:
    return json.dumps({name: [value, dist.to_dict()] for name, (value, dist) in asked.items()})


def asked_from_json(text: str) -> Asked:
    return {name: (value, distribution_from_dict(name, spec))
            for name, (value, spec) in json.loads(text).items()}
