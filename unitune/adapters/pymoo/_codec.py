"""The space as pymoo sees it, and back: unitune's pymoo adapter's codec.

A coordinate per searched parameter: continuous Floats as reals (log Floats and log
Ints in log coordinates), Ints and stepped Floats as an index on their lattice,
Categoricals as an index into their choices (mapped back to the user's own
objects). Parameters with one value are not searched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from unitune.space import Categorical, Float, Space
from unitune.space._distributions import fixed_value, is_fixed

__all__ = ["Codec"]


@dataclass(frozen=True)
class _Coord:
    """One searched parameter: its coordinate kind and range, and the way back."""

    name: str
    kind: str  # "real" | "int" (lattice index 0..high) | "choice" (category index)
    low: float
    high: float
    decode: Callable[[float], Any]
    encode: Callable[[Any], float]


def _coord(name: str, dist: Any) -> _Coord:
    if isinstance(dist, Categorical):
        choices = dist.choices
        return _Coord(name, "choice", 0, len(choices) - 1,
                      lambda k: choices[int(k)], dist.index)
    if dist.log and (isinstance(dist, Float) or dist.step == 1):
        lo, hi = dist.low, dist.high
        if isinstance(dist, Float):
            return _Coord(name, "real", math.log(lo), math.log(hi),
                          lambda x: float(min(max(math.exp(x), lo), hi)), math.log)
        # Log Ints as Optuna samples them: log-uniform on [low - .5, high + .5], rounded.
        return _Coord(name, "real", math.log(lo - 0.5), math.log(hi + 0.5),
                      lambda x: int(min(max(round(math.exp(x)), lo), hi)),
                      lambda v: math.log(v))
    if isinstance(dist, Float) and dist.step is None:
        lo, hi = dist.low, dist.high
        return _Coord(name, "real", lo, hi, lambda x: float(min(max(x, lo), hi)), float)
    # a stepped Float or an Int: an index k on its lattice low + k * step (as its grid())
    lo, hi, step = dist.low, dist.high, dist.step
    n = round((hi - lo) / step)
    if isinstance(dist, Float):
        return _Coord(name, "int", 0, n, lambda k: min(lo + int(k) * step, hi),
                      lambda v: round((v - lo) / step))
    return _Coord(name, "int", 0, n, lambda k: lo + int(k) * step, lambda v: (v - lo) // step)


class Codec:
    """The space as pymoo variables and back. Fixed parameters (one value) are not
    searched. ``box``: every coordinate is a real in a box (integer kinds rounded);
    otherwise a pymoo mixed-variable problem unless every coordinate is already real."""

    def __init__(self, space: Space, box: bool) -> None:
        self.space = space  # a conditional space is flattened: every parameter a coordinate
        self.names = list(space)
        self.fixed = {n: fixed_value(d) for n, d in space.items() if is_fixed(d)}
        self.coords = [_coord(n, d) for n, d in space.items() if n not in self.fixed]
        self.mixed = not box and any(c.kind != "real" for c in self.coords)

    def bounds(self) -> tuple[list[float], list[float]]:
        pad = [0.0 if c.kind == "real" else 0.5 for c in self.coords]
        return ([c.low - p for c, p in zip(self.coords, pad)],
                [c.high + p for c, p in zip(self.coords, pad)])

    def variables(self) -> dict[str, Any]:
        from pymoo.core.variable import Choice, Integer, Real

        out: dict[str, Any] = {}
        for c in self.coords:
            if c.kind == "real":
                out[c.name] = Real(bounds=(c.low, c.high))
            elif c.kind == "int":
                out[c.name] = Integer(bounds=(int(c.low), int(c.high)))
            else:
                out[c.name] = Choice(options=list(range(int(c.high) + 1)))
        return out

    def decode(self, x: Any) -> dict[str, Any]:
        params = dict(self.fixed)
        for i, c in enumerate(self.coords):
            v = float(x[c.name] if self.mixed else x[i])
            if c.kind != "real":
                v = min(max(math.floor(v + 0.5), c.low), c.high)
            params[c.name] = c.decode(v)
        return self.space.prune({name: params[name] for name in self.names})

    def encode(self, params: Mapping[str, Any]) -> Any:
        """pymoo's point for ``params``; an inactive parameter at its filler."""
        import numpy as np

        params = self.space.fill(params)
        if self.mixed:
            return {c.name: (c.encode(params[c.name]) if c.kind == "real"
                             else int(c.encode(params[c.name]))) for c in self.coords}
        return np.array([float(c.encode(params[c.name])) for c in self.coords])
