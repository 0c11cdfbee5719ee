"""A unitune space as Ray Tune sees it, and Ray's configs back as unitune params.

Ray's own domains do not all mean what unitune's do: ``quniform``/``qrandint``
round to multiples of ``q`` counted from 0 (not from ``low``), ``randint``
excludes its upper end, ``choice`` turns mixed choices into numpy values, and
PBT's explore step multiplies a value by 0.8 or 1.2 without clipping it. So the
config Ray handles is an encoding: numbers stay numbers, a categorical becomes
the index of its choice, and ``decode`` snaps whatever Ray hands back (a
perturbed or numpy value) onto the space with the user's types.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from unitune.errors import InvalidOption
from unitune.space import Categorical, Distribution, Float, Int, Space
from unitune.space._distributions import fixed_value, is_fixed
from unitune.space._optuna import optuna_distributions, suggest_active

__all__ = ["Codec"]

_MAX_LISTED = 10_000  # grids up to this size are sampled (and mutated) as explicit lists


def _grid(dist: Distribution) -> list[Any] | None:
    """The points of a stepped Float/Int, if few enough to list."""
    if isinstance(dist, Float) and dist.step is None:
        return None
    if isinstance(dist, Int) and dist.step == 1 and not dist.log:
        return None
    if isinstance(dist, Int) and dist.log:
        return None
    assert isinstance(dist, (Float, Int)) and dist.step is not None
    size = round((dist.high - dist.low) / dist.step) + 1
    return dist.grid() if size <= _MAX_LISTED else None


@dataclass(frozen=True)
class Codec:
    """Encode/decode between a unitune ``Space`` and Ray Tune configs. Picklable: the
    trainable carries it to the workers."""

    space: Space

    # -- to Ray ---------------------------------------------------------------------------
    def ray_domain(self, name: str) -> Any:
        """The Ray Tune domain Ray's random search samples ``name`` from."""
        from ray import tune

        dist = self.space[name]
        if isinstance(dist, Categorical):
            return tune.randint(0, len(dist.choices))
        if is_fixed(dist):
            return fixed_value(dist)
        grid = _grid(dist)
        if grid is not None:
            return tune.choice(grid)
        if isinstance(dist, Int):
            sampler = tune.lograndint if dist.log else tune.randint
            return sampler(dist.low, dist.high + 1)  # Ray excludes the upper end
        assert isinstance(dist, Float)
        if dist.log:
            return tune.loguniform(dist.low, dist.high)
        return tune.uniform(dist.low, dist.high)  # decode() snaps to a step, if any

    def ray_space(self) -> dict[str, Any]:
        return {name: self.ray_domain(name) for name in self.space}

    def optuna_space(self) -> dict[str, Any]:
        """Optuna distributions for Ray's OptunaSearch (categoricals as indices)."""
        return optuna_distributions(self.space, choice_indices=True)

    def mutations(self, spec: Any = None) -> dict[str, Any]:
        """PBT's ``hyperparam_mutations``: ``None`` mutates every parameter, a list of
        names mutates those, a dict gives each parameter its values (in the user's
        terms: a list of values, a Ray domain or a callable)."""
        if spec is None:
            spec = list(self.space)
        if isinstance(spec, (list, tuple)):
            unknown = [n for n in spec if n not in self.space]
            if unknown:
                raise InvalidOption(
                    f"option hyperparam_mutations names {unknown[0]!r}, which is not a "
                    f"parameter of the space ({', '.join(self.space)})")
            return {name: self._default_mutation(name) for name in spec
                    if not is_fixed(self.space[name])}
        if not isinstance(spec, Mapping):
            raise InvalidOption(
                f"option hyperparam_mutations={spec!r} must be a list of parameter names or "
                "a dict {name: list of values | Ray domain | callable}")
        out = {}
        for name, values in spec.items():
            if name not in self.space:
                raise InvalidOption(
                    f"option hyperparam_mutations names {name!r}, which is not a parameter "
                    f"of the space ({', '.join(self.space)})")
            dist = self.space[name]
            if isinstance(values, (list, tuple)):
                bad = [v for v in values if not dist.contains(v)]
                if bad or not values:
                    raise InvalidOption(
                        f"option hyperparam_mutations[{name!r}]: {bad[0] if bad else values!r} "
                        f"is not in the space of {name!r} ({dist!r})")
                if isinstance(dist, Categorical):
                    values = [dist.index(v) for v in values]
                out[name] = list(values)
            elif callable(values) or hasattr(values, "sample"):
                out[name] = values
            else:
                raise InvalidOption(
                    f"option hyperparam_mutations[{name!r}]={values!r} must be a list of "
                    "values, a Ray domain or a callable")
        return out

    def _default_mutation(self, name: str) -> Any:
        dist = self.space[name]
        if isinstance(dist, Categorical):
            return list(range(len(dist.choices)))  # PBT shifts to a neighbouring choice
        grid = _grid(dist)
        if grid is None and isinstance(dist, Int) and dist.high - dist.low < _MAX_LISTED \
                and not dist.log:
            grid = dist.grid()
        return grid if grid is not None else self.ray_domain(name)

    def encode(self, params: Mapping[str, Any], full: bool = True) -> dict[str, Any]:
        """A config for ``params`` (warm-start points for Ray's searchers): with ``full``,
        a conditional space's inactive parameters at their filler (a flat config)."""
        params = self.space.fill(params) if full else params
        return {name: (dist.index(params[name]) if isinstance(dist, Categorical)
                       else params[name]) for name, dist in self.space.items() if name in params}

    # -- from Ray ---------------------------------------------------------------------------
    def decode(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The params a config stands for, inside the space, with the user's types; for a
        conditional space, only the active ones."""
        if not self.space.conditional:
            return {name: _decode(dist, config[name]) for name, dist in self.space.items()}
        return self.space.prune({name: _decode(dist, config[name])
                                 for name, dist in self.space.items() if name in config})

    def define_by_run(self) -> DefineByRun:
        """Ray's OptunaSearch space for a conditional space: a define-by-run function
        that suggests the active parameters only, parents first."""
        return DefineByRun(self)


@dataclass(frozen=True)
class DefineByRun:
    """Suggests a conditional space's active parameters on an Optuna trial (categoricals
    as indices, as ``Codec.optuna_space``); a class, so that Tune can pickle it."""

    codec: Codec

    def __call__(self, trial: Any) -> None:
        suggest_active(trial, self.codec.space, choice_indices=True)


def _decode(dist: Distribution, raw: Any) -> Any:
    if isinstance(dist, Categorical):
        k = min(max(int(round(float(raw))), 0), len(dist.choices) - 1)
        return dist.choices[k]
    assert isinstance(dist, (Float, Int))
    value = float(raw)
    if math.isnan(value):
        value = dist.low
    value = min(max(value, dist.low), dist.high)
    step = dist.step
    if step is not None and step != 0:
        k = round((value - dist.low) / step)
        value = min(dist.low + k * step, dist.high)
    if isinstance(dist, Int):
        return int(round(value))
    return float(value)
