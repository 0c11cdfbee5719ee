"""The checks made before any trial, and the reading of what an objective returns:
arguments (directions, metrics, the objective's signature, counts), backend option
values (``check_number``, ``check_choice``, ``check_bool``: one wording everywhere),
and the values an objective returns."""

from __future__ import annotations

import inspect
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from unitune.errors import InvalidOption

__all__ = ["BadValue", "by_run_arity", "check_bool", "check_choice", "check_directions", "check_metrics",
           "check_number", "is_number", "objective_arity", "objective_ref", "parse_values",
           "positive_int"]

_DIRECTIONS = {"minimize": "minimize", "min": "minimize", "maximize": "maximize",
               "max": "maximize"}


def check_directions(direction: Any, directions: Any, metrics: Any) -> tuple[str, ...]:
    if direction is not None and directions is not None:
        raise InvalidOption("give direction= or directions=, not both")
    if directions is None:
        raw = [direction if direction is not None else "minimize"]
    elif isinstance(directions, str):
        raw = [directions]
    elif not isinstance(directions, Iterable):
        raise InvalidOption(f"directions={directions!r} must be a list of 'minimize' or "
                            "'maximize', one per value the objective returns")
    else:
        raw = list(directions)
        if not raw:
            raise InvalidOption("directions= is empty; give 'minimize' or 'maximize' per value")
    out = []
    for d in raw:
        key = d.lower() if isinstance(d, str) else d
        if key not in _DIRECTIONS:
            raise InvalidOption(
                f"direction {d!r} is not valid; use 'minimize' or 'maximize'"
            )
        out.append(_DIRECTIONS[key])
    if metrics is not None:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        if len(names) != len(out):
            raise InvalidOption(
                f"metrics={names!r} names {len(names)} value(s) but there are {len(out)} "
                "direction(s); give one direction per metric"
            )
    return tuple(out)


def check_metrics(metrics: Any) -> tuple[str, ...] | None:
    if metrics is None:
        return None
    if not isinstance(metrics, (str, Iterable)):
        raise InvalidOption(f"metrics={metrics!r} must be a list of names, one per value")
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise InvalidOption(f"metrics={list(names)!r} must be distinct non-empty strings")
    return names


def objective_arity(objective: Callable[..., Any]) -> int:
    if not callable(objective):
        raise InvalidOption(f"objective must be callable, got {objective!r}")
    try:
        sig = inspect.signature(objective)
    except (TypeError, ValueError):
        return 1
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) > 2 or not positional:
        raise InvalidOption(
            f"objective {getattr(objective, '__name__', objective)!r} must take (params) or "
            f"(params, trial); its signature is {sig}"
        )
    return 2 if len(required) == 2 or (len(required) < 2 and len(positional) >= 2
                                        and positional[1].name == "trial") else 1


def by_run_arity(objective: Callable[..., Any]) -> int:
    """0 (``Objective``'s define-by-run call, ``objective(trial)``) once ``objective`` can be
    one: a function of ``(params)`` or ``(params, trial)`` given no space is refused."""
    n_args = objective_arity(objective)
    try:
        first = next(iter(inspect.signature(objective).parameters))
    except (TypeError, ValueError, StopIteration):
        first = "trial"
    if n_args == 2 or first == "params":
        raise InvalidOption(
            f"space=None, but objective {getattr(objective, '__name__', objective)!r} takes "
            f"{'(params, trial)' if n_args == 2 else '(params)'}: give its search space (a "
            "ut.Space or a dict), or write it define-by-run, def objective(trial) calling "
            "trial.suggest_float/int/categorical")
    return 0


def objective_ref(objective: Callable[..., Any]) -> str | None:
    """``/abs/path/file.py:function`` for a function defined at the top level of a file
    (what ``unitune worker`` needs to load it again), else None (a lambda, a closure, a
    callable object, a function typed into a notebook)."""
    func = inspect.unwrap(objective) if inspect.isfunction(objective) else None
    qualname = getattr(func, "__qualname__", "")
    if func is None or not qualname.isidentifier():
        return None
    try:
        path = inspect.getsourcefile(func)
    except TypeError:
        return None
    if path is None or not os.path.isfile(path):
        return None
    return f"{os.path.abspath(path)}:{qualname}"


def is_number(value: Any, integer: bool = False) -> bool:
    """A real (or integral) number, not a bool."""
    return not isinstance(value, bool) and isinstance(
        value, numbers.Integral if integer else numbers.Real)


def positive_int(value: Any, name: str) -> int:
    if not is_number(value, integer=True) or value < 1:
        raise InvalidOption(f"{name}={value!r} must be a positive integer")
    return int(value)


def _option(name: str, value: Any, backend: str | None) -> str:
    return f"{'backend ' + repr(backend) + ': ' if backend else ''}option {name}={value!r}"


def check_number(value: Any, name: str, *, integer: bool = False, low: float | None = None,
                 high: float | None = None, backend: str | None = None) -> None:
    """Refuse an option value that is not a number (an integer) in [low, high]."""
    if is_number(value, integer) and (low is None or value >= low) and (
            high is None or value <= high):
        return
    span = ("" if low is None and high is None else f" >= {low}" if high is None
            else f" <= {high}" if low is None else f" in [{low}, {high}]")
    raise InvalidOption(f"{_option(name, value, backend)} must be "
                        f"{'an integer' if integer else 'a number'}{span}")


def check_choice(value: Any, name: str, allowed: Sequence[str],
                 backend: str | None = None) -> None:
    if value not in allowed:
        raise InvalidOption(f"{_option(name, value, backend)} is not one of "
                            f"{', '.join(allowed)}")


def check_bool(value: Any, name: str, backend: str | None = None) -> None:
    if not isinstance(value, bool):
        raise InvalidOption(f"{_option(name, value, backend)} must be True or False")


class BadValue(Exception):
    def __init__(self, reason: str, wrong_count: bool = False) -> None:
        super().__init__(reason)
        self.wrong_count = wrong_count


def parse_values(out: Any, n_values: int, metrics: Sequence[str] | None) -> tuple[float, ...]:
    """The objective's return as a tuple of finite floats, or ``BadValue`` saying what is
    wrong. NaN, inf and -inf fail the trial with that reason: an engine cannot rank them
    (skopt's model fit raises on them) and -inf would become the best value of a study
    that minimises. There is no option to record them as values: return a large finite
    number (or raise) where a point is merely very bad."""
    if isinstance(out, Mapping):
        if metrics is None:
            raise BadValue(f"objective returned a dict {dict(out)!r}, but no metrics= "
                            "were given to say which keys are the objective values",
                            wrong_count=True)
        missing = [m for m in metrics if m not in out]
        if missing:
            raise BadValue(f"objective returned {dict(out)!r} without metric(s) "
                            f"{missing}", wrong_count=True)
        out = [out[m] for m in metrics]
    elif isinstance(out, (str, bytes)) or not isinstance(out, (Sequence, numbers.Real)):
        if hasattr(out, "__float__") and not isinstance(out, (str, bytes)):
            try:
                out = float(out)  # numpy / torch scalars and 0-d arrays
            except (TypeError, ValueError):
                pass
        if hasattr(out, "tolist") and not isinstance(out, float):
            out = out.tolist()
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        out = (out,)
    if not isinstance(out, Sequence) or isinstance(out, (str, bytes)):
        raise BadValue(f"objective returned {out!r} ({type(out).__name__}); expected a "
                        "number" + ("" if n_values == 1 else
                                    f" sequence of {n_values} numbers"))
    if len(out) != n_values:
        raise BadValue(
            f"objective returned {len(out)} value(s) {list(out)!r} but the study has "
            f"{n_values} direction(s); return one value per direction",
            wrong_count=True)
    values: list[float] = []
    for v in out:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise BadValue(f"objective returned {v!r} ({type(v).__name__}); expected "
                                "a number") from None
        v = float(v)
        if not math.isfinite(v):  # nan, inf, -inf: no engine can rank it, no best it can be
            raise BadValue(f"objective returned {v}" + (
                "" if n_values == 1 else f" as value {len(values)} of {list(out)!r}"))
        values.append(v)
    return tuple(values)
