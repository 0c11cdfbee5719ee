"""unitune's space as Optuna distributions: how the ledger stores params, whichever
backend proposed them (Optuna's own samplers read them back the same way)."""

from __future__ import annotations

from typing import Any

from unitune.space._distributions import Categorical, Distribution, Float, Int
from unitune.space._space import Space

__all__ = ["optuna_distribution", "optuna_distributions", "suggest", "suggest_active",
           "union_distributions"]


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


def suggest(trial: Any, name: str, dist: Distribution, choice_indices: bool = False) -> Any:
    """``trial.suggest_*`` for a unitune distribution (Optuna's public API, so that a
    wrapper of the trial, e.g. Ray's, sees the call); ``choice_indices``: a categorical
    as the index of its choice."""
    if isinstance(dist, Categorical):
        if choice_indices:
            return dist.choices[trial.suggest_categorical(name, list(range(len(dist.choices))))]
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, Int):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    assert isinstance(dist, Float)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def suggest_active(trial: Any, space: Space, choice_indices: bool = False) -> dict[str, Any]:
    """Define-by-run: suggest a conditional space's active parameters, parents first."""
    values: dict[str, Any] = {}
    for name in space.order:
        if name in space.active(values):
            values[name] = suggest(trial, name, space[name], choice_indices)
    return space.prune(values)
