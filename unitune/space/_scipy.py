"""A scipy.stats frozen distribution that has no native unitune type (``expon``,
``norm``, ``gamma``, ``poisson``...), sampled faithfully through its quantile function.

``Quantile(scipy.stats.expon(scale=2))`` is a ``Float`` over the quantile q in
(1e-12, 1 - 1e-12): every engine searches q (a random backend draws q uniformly, so
``ppf(q)`` follows the distribution exactly; a model-based one models the objective
over q, a monotone map of the value whose prior is the distribution itself), and the
objective gets ``ppf(q)`` (an ``int`` for a discrete distribution). The study's space
records the distribution by name and arguments (``{"type": "scipy", "dist": "expon",
"args": [], "kwds": {"scale": 2.0}}``), so it is data and reads back.
Bounded ones with a native type (uniform, loguniform, randint) map to Float/Int instead
(``_convert.py``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from unitune.errors import InvalidSpace, SpaceTypeError
from unitune.space._distributions import Float, plain

__all__ = ["EPS", "Quantile", "quantile_from_dict"]

EPS = 1e-12  # the quantile's range is [EPS, 1 - EPS]: ppf(0) and ppf(1) may be infinite


def _number(value: Any) -> bool:
    value = plain(value)
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(
        value)


class Quantile(Float):
    """A Float on the quantile of ``frozen``; ``value(q)`` is what the objective gets."""

    frozen: Any

    def __init__(self, frozen: Any) -> None:
        if not (callable(getattr(frozen, "ppf", None)) and hasattr(frozen, "dist")):
            raise SpaceTypeError(f"expected a frozen scipy.stats distribution (with ppf), "
                                 f"got {frozen!r}")
        object.__setattr__(self, "frozen", frozen)
        super().__init__(EPS, 1.0 - EPS)

    @property
    def discrete(self) -> bool:
        return hasattr(self.frozen.dist, "pmf")

    def value(self, q: float) -> float | int:
        """The value at quantile ``q``: a Python float, or int for a discrete distribution."""
        v = float(self.frozen.ppf(q))
        return int(v) if self.discrete and math.isfinite(v) else v

    def spec(self) -> dict[str, Any] | None:
        """The distribution as data (name, args, kwds), or None if an argument is not a
        number."""
        args = [plain(a) for a in getattr(self.frozen, "args", ())]
        kwds = {k: plain(v) for k, v in getattr(self.frozen, "kwds", {}).items()}
        if not all(_number(a) for a in [*args, *kwds.values()]):
            return None
        return {"dist": self.frozen.dist.name, "args": args, "kwds": kwds}

    def to_dict(self) -> dict[str, Any]:
        spec = self.spec()
        if spec is None:
            raise SpaceTypeError(f"scipy.stats.{self.frozen.dist.name} with non-numeric "
                                 "arguments cannot be written as data")
        return {"type": "scipy", **spec}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantile):
            return NotImplemented
        spec = self.spec()
        return self.frozen is other.frozen or (spec is not None and spec == other.spec())

    def __hash__(self) -> int:
        return hash(("scipy", self.frozen.dist.name))

    def __repr__(self) -> str:
        spec = self.spec() or {"dist": self.frozen.dist.name, "args": [], "kwds": {}}
        inner = ", ".join([*map(repr, spec["args"]),
                           *(f"{k}={v!r}" for k, v in spec["kwds"].items())])
        return f"Quantile({spec['dist']}({inner}))"


def quantile_from_dict(spec: dict[str, Any]) -> Quantile:
    """``{"dist": name, "args": [...], "kwds": {...}}`` (``Quantile.to_dict``) read back."""
    import scipy.stats

    unknown = set(spec) - {"dist", "args", "kwds"}
    if unknown:
        raise InvalidSpace(f"unknown key(s) {sorted(unknown)} for type 'scipy'; allowed: "
                           "['args', 'dist', 'kwds']")
    name, args, kwds = spec.get("dist"), spec.get("args", []), spec.get("kwds", {})
    gen = getattr(scipy.stats, name, None) if isinstance(name, str) else None
    if not isinstance(gen, (scipy.stats.rv_continuous, scipy.stats.rv_discrete)):
        raise InvalidSpace(f"dist={name!r} is not a scipy.stats distribution")
    if not isinstance(args, list) or not isinstance(kwds, dict) or not all(
            _number(a) for a in [*args, *kwds.values()]):
        raise InvalidSpace(f"scipy.stats.{name}: args must be a list and kwds a mapping of "
                           f"numbers, got args={args!r}, kwds={kwds!r}")
    try:
        return Quantile(gen(*args, **kwds))
    except TypeError as exc:
        raise InvalidSpace(f"scipy.stats.{name}: {exc}") from None
