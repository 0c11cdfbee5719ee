"""What ``SearchCV`` searches, read from its scikit-learn / scikit-optimize parameters.

- the space comes from exactly one of ``space``, ``param_grid``, ``param_distributions``
  or ``search_spaces`` (the names of ``SearchCV``, ``GridSearchCV``,
  ``RandomizedSearchCV`` and ``BayesSearchCV``);
- a list of ``(space, n_iter)`` tuples, or a list of spaces on a ``skopt:*`` backend (as
  ``BayesSearchCV`` reads it), is a list of searches, each with its own budget;
- on a random backend a space whose values are all lists is sampled without replacement
  and capped at the grid size, with ``RandomizedSearchCV``'s warning;
- ``random_state`` (int, ``RandomState`` or None; ``seed`` is its alias) gives the seed;
- parameter names are checked as ``set_params`` checks them, with its message.
"""

from __future__ import annotations

import difflib
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from unitune.errors import InvalidOption, InvalidSpace, SpaceTypeError, UnsupportedFeature
from unitune.space import Categorical, Distribution, Space

__all__ = ["Piece", "SPACE_PARAMS", "ScalarValue", "budget", "check_names", "checked_backend",
           "pieces", "seed_of", "total_iterations"]

SPACE_PARAMS = ("space", "param_grid", "param_distributions", "search_spaces")
DEFAULT_N_TRIALS = 10  # RandomizedSearchCV's n_iter; a grid backend runs the whole grid
# backends that sample independently: an all-list space is sampled without replacement
_RANDOM_BACKENDS = ("optuna:random",)
_GRID_BACKEND = "optuna:grid"


# Options that choose how trials are stopped early: meaningless without pruning=True.
# name -> the value that means "no pruning" (None: any value chooses pruning)
_PRUNING_OPTIONS = {"pruner": "none", "pruner_options": None, "scheduler": "fifo"}


def checked_backend(backend: str, pruning: bool, options: Mapping[str, Any] | None) -> Any:
    """The backend's adapter class, installed, and able to prune if ``pruning``; no
    option that chooses a pruner without it."""
    from unitune import adapters

    adapter_cls = adapters.get(backend)
    adapter_cls.ensure_installed()
    if pruning and not adapter_cls.capabilities.pruning:
        pruners = [b.name for b in adapters.backends() if b.capabilities.pruning]
        raise UnsupportedFeature(
            f"pruning=True, but backend {adapter_cls.name!r} does not prune; use "
            f"pruning=False or one of {', '.join(pruners)}")
    if not pruning:
        for name, off in _PRUNING_OPTIONS.items():
            value = (options or {}).get(name, off)
            if value != off:
                raise InvalidOption(
                    f"option {name}={value!r} chooses a pruner, but pruning=False: no "
                    "score is reported before the last fold, so nothing would be "
                    "pruned; set pruning=True or drop the option")
    return adapter_cls


@dataclass(frozen=True)
class Piece:
    """One search of a fit: its space (None: an empty grid, whose one candidate is the
    estimator's defaults), its budget (None: the whole grid), its backend."""

    space: Space | None
    n_trials: int | None
    backend: str
    without_replacement: bool = False
    in_grid_order: bool = False  # a sample of the whole grid lists it in grid order

    @property
    def names(self) -> list[str]:
        if self.space is None:
            return []
        return sorted({n for b in self.space.branches or (self.space,) for n in b})


def chosen(search: Any) -> tuple[str, Any]:
    """The one space parameter that is set, by name."""
    given = [(n, getattr(search, n)) for n in SPACE_PARAMS if getattr(search, n) is not None]
    if len(given) != 1:
        got = " and ".join(f"{n}=" for n, _ in given) or "none of them"
        raise InvalidOption(f"SearchCV needs exactly one of space=, param_grid=, "
                            f"param_distributions=, search_spaces=; got {got}")
    return given[0]


def _is_budgeted(item: Any) -> bool:
    return (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], numbers.Integral)
            and not isinstance(item[1], bool) and isinstance(item[0], (Mapping, Space)))


def _raw_pieces(spec: Any, backend: str) -> list[tuple[Any, int | None]]:
    """``spec`` as (space, own budget or None) searches."""
    if isinstance(spec, list) and spec and (
            any(_is_budgeted(item) for item in spec)
            or (backend.startswith("skopt:") and all(isinstance(i, Mapping) for i in spec))):
        out: list[tuple[Any, int | None]] = []
        for k, item in enumerate(spec):
            if _is_budgeted(item):
                if int(item[1]) < 1:
                    raise InvalidOption(f"search_spaces[{k}]: n_iter={item[1]!r} must be >= 1")
                out.append((item[0], int(item[1])))
            else:
                out.append((item, None))
        return out
    return [(spec, None)]


def _all_lists(spec: Any) -> bool:
    """True when every value is a list of choices (no distribution): sklearn's test."""
    if isinstance(spec, Space):
        branches = spec.branches or (spec,)
        return all(isinstance(d, Categorical) for b in branches for d in b.values())
    dicts = [spec] if isinstance(spec, Mapping) else spec if isinstance(spec, list) else None
    if not dicts or not all(isinstance(d, Mapping) for d in dicts):
        return False
    return all(not hasattr(v, "rvs") and not hasattr(v, "rvs_") for d in dicts
               for v in d.values()) and not any(_is_skopt(v) for d in dicts for v in d.values())


class ScalarValue(SpaceTypeError, ValueError):
    """A single value where a list belongs: GridSearchCV raises a TypeError for it and
    BayesSearchCV a ValueError, so code written for either catches this one."""


def _is_scalar(value: Any) -> bool:
    if isinstance(value, (str, bytes)):
        return True
    return not (hasattr(value, "rvs") or isinstance(value, (np.ndarray, Sequence, Mapping,
                                                             Distribution))
                or _is_skopt(value))


def _check_values(raw: Any, is_grid: bool) -> None:
    """A single value where a list belongs: scikit-learn's own message and type."""
    for spec in [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []:
        if not isinstance(spec, Mapping) or "type" in spec:
            continue
        for key, value in spec.items():
            if isinstance(value, np.ndarray) and value.ndim > 1:
                shown = " ".join(repr(value).split())
                raise InvalidSpace(f"Parameter array for {key!r} should be one-dimensional, "
                                   f"got: {shown} with shape {value.shape}")
            if isinstance(value, (Sequence, np.ndarray)) and not isinstance(
                    value, (str, bytes)) and len(value) == 0:
                raise InvalidSpace(f"Parameter grid for parameter {key!r} need to be a "
                                   f"non-empty sequence, got: {value!r}")
            if not _is_scalar(value):
                continue
            if is_grid:
                raise ScalarValue(
                    f"Parameter grid for parameter {key!r} needs to be a list or a numpy "
                    f"array, but got {value!r} (of type {type(value).__name__}) instead. "
                    "Single values need to be wrapped in a list with one element.")
            raise ScalarValue(f"Parameter grid for parameter {key!r} is not iterable or "
                                 f"a distribution (value={value})")


def _is_skopt(value: Any) -> bool:
    return type(value).__module__.startswith("skopt")


def _coerced(raw: Any) -> Space:
    """``Space.coerce``, and a dict that mixes skopt dimensions with plain lists of
    choices (which BayesSearchCV takes) read one parameter at a time."""
    if isinstance(raw, Mapping) and any(map(_is_skopt, raw.values())) and not all(
            map(_is_skopt, raw.values())):
        raw = {name: Space.from_skopt({name: v})[name] if _is_skopt(v) else v
               for name, v in raw.items()}
    return Space.coerce(raw)


def _piece(raw: Any, n_trials: int | None, backend: str) -> Piece:
    if isinstance(raw, Mapping) and not raw:  # scikit-learn runs the defaults, once
        return Piece(None, 1, backend)
    space = _coerced(raw)
    if backend not in _RANDOM_BACKENDS or not _all_lists(raw):
        return Piece(space, n_trials, backend)
    size = len(space.grid())
    if n_trials is not None and size < n_trials:
        warnings.warn(
            f"The total space of parameters {size} is smaller than n_iter={n_trials}. "
            f"Running {size} iterations. For exhaustive searches, use GridSearchCV.",
            UserWarning, stacklevel=5)
        n_trials = size
    # Optuna's grid sampler draws the unvisited points at random: sampling without
    # replacement, as ParameterSampler does
    return Piece(space, n_trials, _GRID_BACKEND, without_replacement=True,
                 in_grid_order=n_trials is None or n_trials >= size)


def pieces(search: Any, is_grid: bool) -> list[Piece]:
    """The searches one ``fit`` runs, in order."""
    _, spec = chosen(search)
    default = search.n_trials if search.n_trials is not None else (
        None if is_grid else DEFAULT_N_TRIALS)
    out = []
    for raw, own in _raw_pieces(spec, search.backend):
        _check_values(raw, is_grid)
        out.append(_piece(raw, own if own is not None else default, search.backend))
    return out


def total_iterations(search: Any) -> int:
    """skopt's ``total_iterations``: the sum of the budgets of the searches (a grid
    backend's is its grid size)."""
    from unitune import adapters

    is_grid = not adapters.get(search.backend).capabilities.continuous
    return sum(budget(p) for p in pieces(search, is_grid))


def budget(piece: Piece) -> int:
    """The number of candidates of ``piece``."""
    if piece.n_trials is not None:
        return piece.n_trials
    return 1 if piece.space is None else len(piece.space.grid())


def seed_of(random_state: Any, seed: Any) -> int | None:
    """The engine's seed from ``random_state`` (int, ``RandomState`` or None) or ``seed``,
    its alias. A ``RandomState`` gives a new seed at each fit, as it would to sklearn."""
    if random_state is not None and seed is not None and random_state != seed:
        raise InvalidOption(f"random_state={random_state!r} and seed={seed!r} disagree; "
                            "give one of them (seed is random_state's alias)")
    value = random_state if random_state is not None else seed
    if value is None:
        return None
    if isinstance(value, np.random.RandomState):
        return int(value.randint(np.iinfo(np.int32).max))
    return int(value)


def _probe(dist: Distribution) -> Any:
    """One value of ``dist``: the first of its grid, else its lower bound."""
    grid = dist.grid()
    return grid[0] if grid else getattr(dist, "low", None)


def check_names(estimator: Any, space: Space | None) -> None:
    """Every name is one the estimator's ``set_params`` accepts, checked by calling it
    on a clone with one point of each sub-space (as the first fit would), so the
    message is ``set_params``'s own, before any fit."""
    from sklearn.base import clone

    if space is None:
        return
    for branch in space.branches or (space,):
        point = {name: _probe(dist) for name, dist in branch.items()}
        try:
            clone(estimator).set_params(**clone(point, safe=False))
        except ValueError as exc:
            if "Invalid parameter" not in str(exc):
                raise
            raise InvalidSpace(_invalid_name(estimator, list(point), exc)) from None


def _invalid_name(estimator: Any, names: list[str], exc: ValueError) -> str:
    """set_params's message, after the space's name it is about (and the closest valid
    name, if one is close)."""
    valid = sorted(estimator.get_params(deep=True))
    wrong = [n for n in names if n not in valid]
    about = f"parameter {wrong[0]!r}: " if wrong else ""
    close = difflib.get_close_matches(wrong[0], valid, n=1) if wrong else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{about}{' '.join(str(exc).split())}{hint}"
