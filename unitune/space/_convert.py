"""Converters from the search-space syntaxes users already have to the parameters of a
``ut.Space``: each returns ``Parts`` (a dict name -> distribution, or a list of such
dicts for a union), which ``Space`` wraps; so this module never needs ``Space`` itself.

None of them imports an engine: objects are recognised by their class's module
and attributes, so converting a Ray or skopt space does not load Ray or skopt
unless the object came from them in the first place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from unitune.errors import InvalidSpace, SpaceTypeError, UnsupportedFeature
from unitune.space import _conditions
from unitune.space._distributions import (
    Categorical,
    Distribution,
    Float,
    Int,
    Parts,
    build,
    params_from_dict,
    plain,
)

__all__ = [
    "coerce",
    "from_optuna",
    "from_ray",
    "from_sklearn_distributions",
    "from_sklearn_grid",
    "from_skopt",
]


def _module(obj: Any) -> str:
    return type(obj).__module__ or ""


def _is_list(obj: Any) -> bool:
    return isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)) or (
        _module(obj) == "numpy" and getattr(obj, "ndim", 0) == 1
    )


# -- scikit-learn ----------------------------------------------------------------------
def from_sklearn_grid(param_grid: Any) -> Parts:
    """``GridSearchCV``'s ``param_grid``: a dict of lists, or a list of such dicts (a union)."""
    if isinstance(param_grid, Mapping):
        params = {}
        for name, values in param_grid.items():
            if not _is_list(values):
                raise SpaceTypeError(
                    f"parameter {name!r}: a param_grid value must be a list of candidates, "
                    f"got {values!r}"
                )
            params[name] = build(name, Categorical, list(values))
        return params
    if _is_list(param_grid):
        return [from_sklearn_grid(g) for g in param_grid]
    raise SpaceTypeError(f"param_grid must be a dict or a list of dicts, got {param_grid!r}")


def _scipy_frozen(name: str, dist: Any) -> Distribution:
    """randint, uniform and loguniform (reciprocal) frozen distributions as Int/Float; any
    other as a ``Quantile`` (``_scipy.py``)."""
    dist_name = getattr(getattr(dist, "dist", None), "name", None)
    args, kwds = list(getattr(dist, "args", ())), dict(getattr(dist, "kwds", {}))
    loc = kwds.pop("loc", None)
    scale = kwds.pop("scale", None)
    if dist_name == "randint":
        low, high = (args + [kwds.get("low"), kwds.get("high")])[:2]
        loc = loc if loc is not None else (args[2] if len(args) > 2 else 0)
        # scipy's randint excludes `high`; unitune's Int includes both ends.
        return build(name, Int, int(low) + int(loc), int(high) - 1 + int(loc))
    if dist_name == "uniform":
        loc = loc if loc is not None else (args[0] if args else 0.0)
        scale = scale if scale is not None else (args[1] if len(args) > 1 else 1.0)
        return build(name, Float, float(loc), float(loc) + float(scale))
    if dist_name in ("loguniform", "reciprocal"):
        a, b = (args + [kwds.get("a"), kwds.get("b")])[:2]
        loc = loc if loc is not None else (args[2] if len(args) > 2 else 0.0)
        scale = scale if scale is not None else (args[3] if len(args) > 3 else 1.0)
        if loc != 0:
            raise UnsupportedFeature(
                f"parameter {name!r}: loguniform with loc={loc!r} is not a log-uniform range; "
                "use loc=0 (scale is fine)"
            )
        return build(name, Float, float(a) * scale, float(b) * scale, log=True)
    from unitune.space._scipy import Quantile

    # Any other one (expon, norm, gamma, poisson...): sampled through its quantile function.
    return build(name, Quantile, dist)


def from_sklearn_distributions(param_distributions: Any) -> Parts:
    """``RandomizedSearchCV``'s ``param_distributions``: scipy.stats frozen distributions
    (randint, uniform, loguniform) or lists, or a list of such dicts (a union)."""
    if _is_list(param_distributions):
        return [from_sklearn_distributions(d) for d in param_distributions]
    if not isinstance(param_distributions, Mapping):
        raise SpaceTypeError(
            f"param_distributions must be a dict or a list of dicts, got {param_distributions!r}"
        )
    params = {}
    for name, value in param_distributions.items():
        if _is_list(value):
            params[name] = build(name, Categorical, list(value))
        elif hasattr(value, "rvs") and hasattr(value, "dist"):
            params[name] = _scipy_frozen(name, value)
        else:
            raise SpaceTypeError(
                f"parameter {name!r}: expected a list or a scipy.stats frozen distribution, "
                f"got {value!r}"
            )
    return params


# -- scikit-optimize -------------------------------------------------------------------
def _skopt_dimension(name: str, dim: Any) -> Distribution:
    kind = type(dim).__name__
    if kind == "Real":
        # The log base does not change a log-uniform distribution over [low, high].
        prior = getattr(dim, "prior", "uniform")
        return build(name, Float, plain(dim.low), plain(dim.high), log=prior == "log-uniform")
    if kind == "Integer":
        prior = getattr(dim, "prior", "uniform")
        return build(name, Int, plain(dim.low), plain(dim.high), log=prior == "log-uniform")
    if kind == "Categorical":
        return build(name, Categorical, list(dim.categories))
    raise SpaceTypeError(f"parameter {name!r}: {kind} is not an skopt Real/Integer/Categorical")


def from_skopt(dimensions: Any) -> Parts:
    """skopt ``Real``/``Integer``/``Categorical``: a dict name -> dimension, or a list of
    dimensions that carry a ``name``."""
    if isinstance(dimensions, Mapping):
        items = list(dimensions.items())
    elif _is_list(dimensions):
        items = []
        for i, dim in enumerate(dimensions):
            name = getattr(dim, "name", None)
            if not name:
                raise InvalidSpace(
                    f"skopt dimension #{i} ({dim!r}) has no name; give name=... or pass a dict"
                )
            items.append((name, dim))
    else:
        raise SpaceTypeError(f"expected a dict or list of skopt dimensions, got {dimensions!r}")
    return {name: _skopt_dimension(name, dim) for name, dim in items}


# -- Ray Tune --------------------------------------------------------------------------
def _ray_domain(name: str, dom: Any) -> Distribution:
    kind = type(dom).__name__
    if isinstance(dom, Mapping) and set(dom) == {"grid_search"}:
        return build(name, Categorical, list(dom["grid_search"]))
    sampler = getattr(dom, "sampler", None)
    sampler_kind = type(sampler).__name__ if sampler is not None else ""
    q = getattr(sampler, "q", None)
    inner = type(getattr(sampler, "sampler", None)).__name__ if q is not None else sampler_kind
    if sampler_kind not in ("_Uniform", "_LogUniform", "Quantized", "") or inner not in (
        "_Uniform", "_LogUniform", "NoneType"
    ):
        raise UnsupportedFeature(
            f"parameter {name!r}: Ray Tune sampler {sampler_kind or inner} has no unitune "
            "equivalent; use uniform, loguniform, randint, lograndint, q* or choice"
        )
    log = inner == "_LogUniform" or sampler_kind == "_LogUniform"
    if kind == "Float":
        if q is not None:
            if log:
                raise UnsupportedFeature(
                    f"parameter {name!r}: qloguniform (a step on a log scale) has no unitune "
                    "equivalent"
                )
            # Ray rounds to multiples of q inside [lower, upper]; both ends are reachable.
            return build(name, Float, dom.lower, dom.upper, step=q)
        return build(name, Float, dom.lower, dom.upper, log=log)
    if kind == "Integer":
        if q is not None:
            # qrandint/qlograndint include `upper`.
            if log:
                raise UnsupportedFeature(
                    f"parameter {name!r}: qlograndint (a step on a log scale) has no unitune "
                    "equivalent"
                )
            return build(name, Int, dom.lower, dom.upper, step=q)
        # randint/lograndint exclude `upper`.
        return build(name, Int, dom.lower, dom.upper - 1, log=log)
    if kind == "Categorical":
        return build(name, Categorical, list(dom.categories))
    raise SpaceTypeError(f"parameter {name!r}: {dom!r} is not a Ray Tune search domain")


def from_ray(config: Mapping[str, Any]) -> Parts:
    """A Ray Tune ``param_space``: ``tune.uniform``, ``loguniform``, ``quniform``,
    ``randint`` (upper excluded), ``qrandint`` (upper included), ``choice``,
    ``grid_search``; a nested ``tune.choice([{...}, {...}])`` of dicts is a conditional
    space (``_ray_nested``)."""
    if not isinstance(config, Mapping):
        raise SpaceTypeError(f"a Ray Tune config must be a dict, got {config!r}")
    params: dict[str, Distribution] = {}
    for name, dom in config.items():
        categories = getattr(dom, "categories", None)
        if type(dom).__name__ == "Categorical" and categories and all(
                isinstance(c, Mapping) for c in categories):
            params.update(_ray_nested(name, list(categories)))
        else:
            params[name] = _ray_domain(name, dom)
    return params


def _ray_nested(name: str, options: list[Mapping[str, Any]]) -> dict[str, Distribution]:
    """``name: tune.choice([{...}, {...}])``: ``name`` becomes a Categorical parent and
    each option's entries ``name/key`` parameters conditional on it (Ray's own flat
    names). The parent's values are a key every option fixes to a distinct constant
    (``{"type": "svm", ...}``), else the options' indices."""
    label_key = next((k for k in options[0] if all(
        k in o and isinstance(o[k], (str, int, bool)) for o in options)
        and len({repr(o[k]) for o in options}) == len(options)), None)
    branches = []
    for i, option in enumerate(options):
        label = option[label_key] if label_key is not None else i
        branch: dict[str, Distribution] = {name: Categorical([label])}
        for key, value in option.items():
            if key == label_key:
                continue
            sub = f"{name}/{key}"
            if isinstance(value, (str, int, float, bool, type(None))):
                branch[sub] = build(sub, Categorical, [value])
            else:
                branch[sub] = _ray_domain(sub, value)
        branches.append(branch)
    parts = _conditions.union(branches)
    if isinstance(parts, str):
        raise UnsupportedFeature(f"parameter {name!r}: this nested tune.choice is no "
                                 f"conditional space: {parts}")
    return parts


# -- Optuna ----------------------------------------------------------------------------
def _optuna_distribution(name: str, dist: Any) -> Distribution:
    kind = type(dist).__name__
    if kind in ("FloatDistribution", "UniformDistribution", "LogUniformDistribution",
                "DiscreteUniformDistribution"):
        step = getattr(dist, "step", None) or getattr(dist, "q", None)
        return build(name, Float, dist.low, dist.high, log=getattr(dist, "log", False),
                     step=step)
    if kind in ("IntDistribution", "IntUniformDistribution", "IntLogUniformDistribution"):
        return build(name, Int, dist.low, dist.high, log=getattr(dist, "log", False),
                     step=getattr(dist, "step", 1) or 1)
    if kind == "CategoricalDistribution":
        return build(name, Categorical, list(dist.choices))
    raise SpaceTypeError(f"parameter {name!r}: {dist!r} is not an Optuna distribution")


def from_optuna(distributions: Mapping[str, Any]) -> Parts:
    """Optuna ``FloatDistribution``/``IntDistribution``/``CategoricalDistribution``."""
    if not isinstance(distributions, Mapping):
        raise SpaceTypeError(f"expected a dict of Optuna distributions, got {distributions!r}")
    return {n: _optuna_distribution(n, d) for n, d in distributions.items()}


# -- dispatch --------------------------------------------------------------------------
def _family(value: Any) -> str:
    mod = _module(value)
    if isinstance(value, Distribution):
        return "unitune"
    if mod.startswith("skopt"):
        return "skopt"
    if mod.startswith("ray.tune") or (isinstance(value, Mapping) and set(value) == {"grid_search"}):
        return "ray"
    if mod.startswith("optuna"):
        return "optuna"
    if hasattr(value, "rvs"):
        return "scipy"
    if _is_list(value):
        return "list"
    if isinstance(value, Mapping):
        return "spec"
    return "unknown"


def coerce(obj: Any) -> Parts:
    """Recognise the syntax of ``obj`` and convert it (see ``Space.coerce``); a plain
    ``Space`` is a mapping of unitune distributions, read as such."""
    if _is_list(obj):
        if obj and all(type(d).__name__ in ("Real", "Integer", "Categorical")
                       and _module(d).startswith("skopt") for d in obj):
            return from_skopt(obj)
        return [coerce(item) for item in obj]
    if not isinstance(obj, Mapping):
        raise SpaceTypeError(
            f"cannot make a search space from {type(obj).__name__}: give a ut.Space, a dict "
            "(ut types, specs, param_grid lists, scipy.stats, skopt, Ray Tune or Optuna "
            "distributions) or a list of such dicts"
        )
    families = {name: _family(v) for name, v in obj.items()}
    kinds = set(families.values())
    if kinds <= {"unitune", "spec", "list"}:
        return params_from_dict(obj)
    if kinds <= {"list", "scipy"}:
        return from_sklearn_distributions(obj) if "scipy" in kinds else from_sklearn_grid(obj)
    if kinds <= {"skopt"}:
        return from_skopt(obj)
    if kinds <= {"ray", "list"} and "ray" in kinds:
        return from_ray({k: ({"grid_search": v} if families[k] == "list" else v)
                         for k, v in obj.items()})
    if kinds <= {"optuna"}:
        return from_optuna(obj)
    bad = {n: f for n, f in families.items() if f == "unknown"}
    if bad:
        name = next(iter(bad))
        raise SpaceTypeError(f"parameter {name!r}: cannot convert {obj[name]!r} to a distribution")
    raise SpaceTypeError(
        f"the space mixes syntaxes ({', '.join(sorted(kinds))}); convert each part with the "
        "matching Space.from_* method and combine the results"
    )
