"""unitune's space as Optuna distributions: how the ledger stores params, whichever
backend proposed them (Optuna's own samplers read them back the same way)."""

from __future__ import annotations

from typing import Any

from unitune.space._distributions import Categorical, Distribution, Float, Int
from unitune.space._space import Space

__all__ = ["optuna_distribution", "optuna_distributions", "union_distributions"]


def optuna_distribution(dist: Distribution) -> Any:
    from optuna import distributions as od

    if isinstance(dist, Float):
        return od.FloatDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, Int):
        return od.IntDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, Categorical):
        return od.CategoricalDistribution(dist.choices)
    raise TypeError(f"not a unitune distribution: {dist!r}")


def optuna_distributions(space: Space, *, choice_indices: bool = False) -> dict[str, Any]:
    """Name -> Optuna distribution. ``choice_indices``: each categorical as the indices
    of its choices (what an engine that cannot hold the user's objects samples)."""
    return {name: optuna_distribution(Categorical(tuple(range(len(d.choices))))
                                      if choice_indices and isinstance(d, Categorical) else d)
            for name, d in space.items()}


def union_distributions(space: Space) -> list[dict[str, Any]]:
    """Per branch of a union, its Optuna distributions. Optuna keeps one categorical value
    set per parameter name in a study, so a categorical that differs between branches
    (``kernel: [linear]`` here, ``[rbf]`` there) is stored over the union of its choices."""
    merged: dict[str, list[Any]] = {}
    for branch in space.branches:
        for name, dist in branch.items():
            if isinstance(dist, Categorical):
                merged[name] = merged.get(name, []) + list(dist.choices)
    out = []
    for branch in space.branches:
        dists = optuna_distributions(branch)
        for name, dist in branch.items():
            if isinstance(dist, Categorical):
                dists[name] = optuna_distribution(Categorical(_dedupe(merged[name])))
        out.append(dists)
    return out


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(v == o and type(v) is type(o) for o in out):
            out.append(v)
    return out
