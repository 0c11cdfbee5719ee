"""The parameter types ``Float``, ``Int`` and ``Categorical``, and their checks.

Bounds are inclusive on every type. ``log`` samples uniformly in log space;
``step`` restricts values to ``low + k * step``. Every check happens here, when
the value is born, and the message names the parameter and the bad value.
``unitune.space`` re-exports the public names; import them from there.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

from unitune.errors import InvalidSpace, SpaceTypeError
from unitune.space import _conditions

__all__ = ["Categorical", "Distribution", "Float", "Int", "Numeric", "Parts", "build",
           "distribution_from_dict", "fixed_value", "is_fixed", "named", "params_from_dict",
           "plain"]

_STORABLE = (type(None), bool, int, float, str)


def _real(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpaceTypeError(f"{what} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidSpace(f"{what} must be finite, got {value!r}")
    return value


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpaceTypeError(f"{what} must be an integer, got {value!r} ({type(value).__name__})")
    if isinstance(value, numbers.Integral):
        return int(value)
    if not math.isfinite(value) or not float(value).is_integer():
        raise InvalidSpace(f"{what} must be an integer, got {value!r}")
    return int(float(value))


def plain(value: Any) -> Any:
    """Return a numpy scalar as the Python scalar it holds; other values unchanged."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        return item()
    return value


class Distribution:
    """Base of the three parameter types. Subclasses are frozen dataclasses."""

    kind: ClassVar[str]
    when: Any  # the condition under which the parameter exists (see _conditions.py)

    def _set_when(self) -> None:
        object.__setattr__(self, "when", _conditions.normalize(self.when))

    def _with_when(self, out: dict[str, Any]) -> dict[str, Any]:
        if self.when:
            out["when"] = _conditions.to_dict(self.when)
        return out

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def grid(self) -> list[Any] | None:
        """Every value, in order, if the set is finite; None for a continuous range."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Float(Distribution):
    """A real number in ``[low, high]``, optionally on a log scale or a ``step`` lattice."""

    low: float
    high: float
    log: bool = False
    step: float | None = None
    when: Any = field(default=None, repr=False)
    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        self._set_when()
        low, high = _real(self.low, "low"), _real(self.high, "high")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", bool(self.log))
        if low > high:
            raise InvalidSpace(f"low={low!r} is greater than high={high!r}")
        if self.log and low <= 0:
            raise InvalidSpace(f"log=True needs low > 0, got low={low!r}")
        if self.step is not None:
            step = _real(self.step, "step")
            object.__setattr__(self, "step", step)
            if step <= 0:
                raise InvalidSpace(f"step must be > 0, got step={step!r}")
            if self.log:
                raise InvalidSpace(f"step={step!r} cannot be combined with log=True")
            n = (high - low) / step
            if abs(n - round(n)) > 1e-8 * max(1.0, abs(n)):
                raise InvalidSpace(
                    f"step={step!r} does not divide the range [{low!r}, {high!r}]: "
                    f"high would never be reached; use high={float(f'{low + math.floor(n) * step:.12g}')!r} "
                    "or a step that divides high - low"
                )

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        value = float(value)
        tol = 1e-12 * max(1.0, abs(self.low), abs(self.high))
        if not self.low - tol <= value <= self.high + tol:
            return False
        if self.step is not None:
            k = (value - self.low) / self.step
            return abs(k - round(k)) <= 1e-6
        return True

    def grid(self) -> list[float] | None:
        if self.step is None:
            return [self.low] if self.low == self.high else None
        n = round((self.high - self.low) / self.step)
        return [min(self.low + k * self.step, self.high) for k in range(n + 1)]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "float", "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return self._with_when(out)


@dataclass(frozen=True)
class Int(Distribution):
    """An integer in ``[low, high]`` (both ends included), optionally log-scaled or stepped."""

    low: int
    high: int
    log: bool = False
    step: int = 1
    when: Any = field(default=None, repr=False)
    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        self._set_when()
        low, high = _integer(self.low, "low"), _integer(self.high, "high")
        step = _integer(self.step, "step")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "log", bool(self.log))
        if low > high:
            raise InvalidSpace(f"low={low!r} is greater than high={high!r}")
        if step <= 0:
            raise InvalidSpace(f"step must be >= 1, got step={step!r}")
        if self.log and low < 1:
            raise InvalidSpace(f"log=True needs low >= 1, got low={low!r}")
        if self.log and step != 1:
            raise InvalidSpace(f"step={step!r} cannot be combined with log=True")
        if (high - low) % step:
            raise InvalidSpace(
                f"step={step!r} does not divide the range [{low!r}, {high!r}]: "
                f"high would never be reached; use high={high - (high - low) % step!r}"
            )

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return False
        value = int(value)
        return self.low <= value <= self.high and (value - self.low) % self.step == 0

    def grid(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "int", "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step != 1:
            out["step"] = self.step
        return self._with_when(out)


def _same(a: Any, b: Any) -> bool:
    """The same choice: the same object, or an equal one of the same type (an array or
    an object whose ``==`` is not a truth value is equal to itself only)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - e.g. numpy arrays: ambiguous truth value
        return False


def _as_list(choices: Any) -> list[Any] | None:
    """A list of choices from a list, tuple, range or 1-d numpy array; None otherwise."""
    if isinstance(choices, Sequence) and not isinstance(choices, (str, bytes)):
        return list(choices)
    if type(choices).__module__ == "numpy" and getattr(choices, "ndim", None) == 1:
        return list(choices)
    return None


@dataclass(frozen=True, eq=False)
class Categorical(Distribution):
    """One of a fixed list of values, returned as given: plain values (None, bool, int,
    float, str) or any Python object (an estimator, a tuple, a dict, an array, a
    callable). Each choice is its own, by position: a value given twice is kept twice."""

    choices: Sequence[Any]  # kept as a tuple
    when: Any = field(default=None, repr=False)
    kind: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        self._set_when()
        choices = _as_list(self.choices)
        if choices is None:
            raise SpaceTypeError(
                f"choices must be a list of values, got {self.choices!r} "
                f"({type(self.choices).__name__})"
            )
        if not choices:
            raise InvalidSpace("choices is empty; give at least one value")
        object.__setattr__(self, "choices", tuple(plain(c) for c in choices))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categorical):
            return NotImplemented
        return len(self.choices) == len(other.choices) and all(
            _same(a, b) for a, b in zip(self.choices, other.choices)) and self.when == other.when

    def __hash__(self) -> int:
        return hash(("categorical", len(self.choices)))

    def contains(self, value: Any) -> bool:
        return any(_same(value, c) for c in self.choices)

    def index(self, value: Any) -> int:
        """The position of ``value``: the same object first, else an equal one."""
        for i, c in enumerate(self.choices):
            if value is c:
                return i
        for i, c in enumerate(self.choices):
            if _same(value, c):
                return i
        raise ValueError(f"{value!r} is not one of {list(self.choices)!r}")

    def grid(self) -> list[Any]:
        return list(self.choices)

    def to_dict(self) -> dict[str, Any]:
        for c in self.choices:
            if not isinstance(c, _STORABLE):
                raise SpaceTypeError(
                    f"choice {c!r} ({type(c).__name__}) cannot be written as data (only "
                    "None, bool, int, float and str can); keep this space in Python"
                )
        return self._with_when({"type": "categorical", "choices": list(self.choices)})


_TYPES: dict[str, type[Distribution]] = {"float": Float, "int": Int, "categorical": Categorical}


def distribution_from_dict(name: str, spec: Any) -> Distribution:
    if isinstance(spec, Distribution):
        return spec
    if _as_list(spec) is not None:
        return Categorical(spec)
    if not isinstance(spec, Mapping):
        raise SpaceTypeError(
            f"parameter {name!r}: expected a mapping with 'type', or a list of choices, "
            f"got {spec!r}"
        )
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in _TYPES:
        raise InvalidSpace(
            f"parameter {name!r}: type={kind!r} is not one of {sorted(_TYPES)}"
        )
    cls = _TYPES[kind]
    allowed = {"float": {"low", "high", "log", "step"}, "int": {"low", "high", "log", "step"},
               "categorical": {"choices"}}[kind] | {"when"}
    unknown = set(spec) - allowed
    if unknown:
        raise InvalidSpace(
            f"parameter {name!r}: unknown key(s) {sorted(unknown)} for type {kind!r}; "
            f"allowed: {sorted(allowed)}"
        )
    try:
        return cls(**spec)
    except TypeError as exc:
        if isinstance(exc, SpaceTypeError):
            raise
        raise InvalidSpace(f"parameter {name!r}: {exc}") from None


def named(exc: Exception, name: str) -> Exception:
    """The same error class with the parameter name in front of the message."""
    msg = str(exc)
    if msg.startswith(f"parameter {name!r}"):
        return exc
    return type(exc)(f"parameter {name!r}: {msg}")


def build(name: str, factory: type[Distribution], *args: Any, **kwargs: Any) -> Distribution:
    """Construct a distribution, naming the parameter in any error it raises."""
    try:
        return factory(*args, **kwargs)
    except (InvalidSpace, SpaceTypeError) as exc:
        raise named(exc, name) from None


# The numeric parameter types (those with low, high, log and step).
Numeric: TypeAlias = "Float | Int"

# The parameters of a space before it is built: a dict name -> distribution, or a list of
# such dicts for a union of sub-spaces (what the converters return; ``Space`` wraps it).
Parts: TypeAlias = "dict[str, Distribution] | list[Parts]"


def params_from_dict(spec: Any) -> Parts:
    """The parameters that a spec (``Space.to_dict``'s form, a YAML/JSON space file) gives:
    a mapping name -> spec, or a list of such mappings (a union)."""
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        return [params_from_dict(s) for s in spec]
    if not isinstance(spec, Mapping):
        raise SpaceTypeError(f"a space must be a mapping of parameter specs, got {spec!r}")
    params = {}
    for name, item in spec.items():
        try:
            params[name] = distribution_from_dict(name, item)
        except (InvalidSpace, SpaceTypeError) as exc:
            raise named(exc, name) from None
    return params


def is_fixed(dist: Distribution) -> bool:
    """Can the parameter take one value only (a single choice, or low == high)?"""
    if isinstance(dist, Categorical):
        return len(dist.choices) == 1
    assert isinstance(dist, (Float, Int))  # the three types are the only distributions
    return dist.low == dist.high


def fixed_value(dist: Distribution) -> Any:
    """The one value of a parameter for which ``is_fixed`` holds, of the user's type."""
    if isinstance(dist, Categorical):
        return dist.choices[0]
    assert isinstance(dist, (Float, Int)) and dist.low == dist.high
    return dist.low
