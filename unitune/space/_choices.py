"""Values that are not plain data, and how they travel: engines and the ledger see a
*stored form* of the space, the objective and the user see the original values.

- A ``Categorical`` whose choices are not all distinct plain values (None, bool, int,
  float, str), e.g. estimators, tuples, dicts, arrays, callables, nan, or a value given
  twice (kept, as scikit-learn keeps it), is stored as a categorical of *labels*: the
  index and a readable, stable ``repr`` of each choice (``"0: LogisticRegression()"``;
  memory addresses dropped, functions by module and name). Equality is by index, so
  duplicates stay distinct. The ledger holds the labels, never a pickle; resuming maps
  each stored label back to the object of the space given again.
- A scipy.stats distribution sampled through its quantile (``Quantile``, ``_scipy.py``)
  is stored as the quantile, a Float in (0, 1) every engine can search; the objective
  and the records get ``ppf(q)``.
- A space without parameters (scikit-learn's empty grid ``{}``: one candidate, the
  defaults) is stored with one fixed parameter, ``"(defaults)"``, that the objective and
  the records do not have: every engine can propose its one point.

A space with neither has no ``Codec`` (``codec_for`` returns None): plain values go
through as they always did, at no cost.
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Mapping
from typing import Any

from unitune.space._distributions import Categorical, Distribution, Float, Int
from unitune.space._scipy import Quantile
from unitune.space._space import Space

__all__ = ["Codec", "DecodingCallback", "codec_for", "decode_record", "decode_result", "label",
           "labelled", "needs_labels", "shown"]

_PLAIN = (type(None), bool, int, float, str)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_LABEL_CHARS = 200
DEFAULTS = "(defaults)"  # the one stored parameter of a space without any


def _plain(value: Any) -> bool:
    return type(value) in _PLAIN and value == value  # nan is not itself: by index


def needs_labels(dist: Distribution) -> bool:
    """Must this categorical be stored as labels (not plain, or a value given twice)?"""
    if not isinstance(dist, Categorical):
        return False
    choices = dist.choices
    if not all(_plain(c) for c in choices):
        return True
    # Python equality, as Optuna's index lookup uses: 1, 1.0 and True are the same to it.
    return any(a == b for i, a in enumerate(choices) for b in choices[:i])


def _stable_repr(value: Any) -> str:
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        return f"{getattr(value, '__module__', None) or ''}.{value.__qualname__}".lstrip(".")
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ still gets a label
        text = f"<{type(value).__qualname__}>"
    text = " ".join(_ADDRESS.sub("", text).split())
    return text if len(text) <= _LABEL_CHARS else text[:_LABEL_CHARS - 1] + "\u2026"


def label(index: int, value: Any) -> str:
    """How the ledger and the engines name choice ``index``: unique by its index, and the
    same in every process (no memory address), so a resumed study finds it again."""
    return f"{index}: {_stable_repr(value)}"


def _stored_branch(space: Space) -> tuple[Space, dict[str, dict[str, Any]],
                                          dict[str, Quantile]]:
    params: dict[str, Distribution] = {}
    objects: dict[str, dict[str, Any]] = {}
    quantiles: dict[str, Quantile] = {}
    if not space:  # no parameters (sklearn's {}): one fixed one, which the user never sees
        params[DEFAULTS] = Categorical([DEFAULTS])
    for name, dist in space.items():
        if dist.when:  # a condition on a parent stored as labels names its labels
            dist = dataclasses.replace(dist, when=_labelled_when(space, dist.when))  # type: ignore[type-var]  # every Distribution is a dataclass
        if needs_labels(dist):
            assert isinstance(dist, Categorical)
            labels = [label(i, c) for i, c in enumerate(dist.choices)]
            objects[name] = dict(zip(labels, dist.choices))
            params[name] = Categorical(labels, when=dist.when)
        else:
            if isinstance(dist, Quantile):
                quantiles[name] = dist
            params[name] = dist
    return Space(params), objects, quantiles


def _labelled_when(space: Space, when: tuple[Any, ...]) -> tuple[Any, ...]:
    """A condition's values on a parent whose choices are stored as labels, as labels."""
    out = []
    for parent, op, values in when:
        dist = space[parent]
        if needs_labels(dist) and op in ("in", "==", "!="):
            assert isinstance(dist, Categorical)
            values = tuple(label(dist.index(v), v) for v in values)
        out.append((parent, op, values))
    return tuple(out)


class Codec:
    """The stored form of a space (``stored``) and the way back (``decode``). Picklable
    when the choices are: it travels with the objective to worker processes."""

    def __init__(self, space: Space) -> None:
        self.space = space
        parts = [_stored_branch(b) for b in (space.branches or (space,))]
        self._branches = [(s, o, q) for s, o, q in parts]
        self.stored = (Space(branches=[s for s, _, _ in parts]) if space.branches
                       else parts[0][0])

    def decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Stored params (labels, quantiles) as the values the user gave (the same
        objects) and the values drawn (``ppf`` of the quantile)."""
        branch = self._branches[0]
        if len(self._branches) > 1:
            branch = next((b for b in self._branches if b[0].contains(params)), branch)
        _, objects, quantiles = branch
        out = dict(params)
        out.pop(DEFAULTS, None)
        for name, value in params.items():
            if name in objects:
                table = objects[name]
                out[name] = table[value] if value in table else value
            elif name in quantiles and isinstance(value, float):
                out[name] = quantiles[name].value(value)
        return out


def _value_range(name: str, q: Quantile) -> Distribution:
    """The values a quantile param takes, as a range (what a plot's axis spans)."""
    low, high = q.value(q.low), q.value(q.high)
    return Int(int(low), int(high)) if q.discrete else Float(float(low), float(high))


def shown(codec: Codec, result: Any) -> Any:
    """A ``Result`` as plots draw it: each object as its label (hashable, readable), each
    quantile param as its value over the value's range."""
    import dataclasses

    def branch(space: Space) -> Space:
        stored = _stored_branch(space)[0]
        return Space({n: (_value_range(n, d) if isinstance(d, Quantile) else d)
                      for n, d in stored.items()})

    def labels(params: Mapping[str, Any]) -> dict[str, Any]:
        src = codec.space
        if src.branches:
            src = next((b for b in src.branches if b.contains(params)), src.branches[0])
        out = dict(params)
        for n, v in params.items():
            dist = src.get(n)
            if isinstance(dist, Categorical) and needs_labels(dist) and dist.contains(v):
                out[n] = label(dist.index(v), v)
        return out

    space = codec.space
    view = (Space(branches=[branch(b) for b in space.branches]) if space.branches
            else branch(space))
    trials = tuple(dataclasses.replace(t, params=labels(t.params)) for t in result.trials)
    return dataclasses.replace(result, trials=trials, space=view)


def labelled(space: Space) -> list[str]:
    """The params of a stored space (read from a ledger) whose choices are labels of
    objects, which only the Python space they came from can give back."""
    return [name for branch in (space.branches or (space,)) for name, d in branch.items()
            if isinstance(d, Categorical) and all(
                isinstance(c, str) and c.startswith(f"{i}: ") for i, c in enumerate(d.choices))]


def codec_for(space: Space) -> Codec | None:
    """The codec of a space that needs one; None when every value is stored as given."""
    for branch in space.branches or (space,):
        if not branch or any(needs_labels(d) or isinstance(d, Quantile)
                             for d in branch.values()):
            return Codec(space)
    return None


def decode_record(codec: Codec, record: Any) -> Any:
    """A ``TrialRecord`` with its params as the user's values."""
    import dataclasses

    return dataclasses.replace(record, params=codec.decode(record.params))


def decode_result(codec: Codec, result: Any) -> Any:
    """A ``Result`` whose trials hold the user's values, over the user's space."""
    import dataclasses

    return dataclasses.replace(result, trials=tuple(decode_record(codec, t)
                                                    for t in result.trials), space=codec.space)


class DecodingCallback:
    """A user's callback, given records with the user's values; its ``on_study_start``
    and ``on_study_end`` (``_hooks.py``) are the callback's own."""

    def __init__(self, callback: Any, codec: Codec) -> None:
        self.callback = callback
        self.codec = codec

    def __call__(self, record: Any) -> Any:
        return self.callback(decode_record(self.codec, record))

    def __getattr__(self, name: str) -> Any:
        if name in ("callback", "codec"):
            raise AttributeError(name)
        return getattr(self.callback, name)

    def __repr__(self) -> str:
        return repr(self.callback)
