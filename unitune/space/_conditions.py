"""Conditional parameters: ``when=`` on ``Float``/``Int``/``Categorical``.

``ut.Float(1e-3, 1e3, log=True, when={"model": "svm"})``: the parameter exists only
when its parent ``model`` is ``"svm"``. A condition maps parent names to a value
(``"svm"``), a value set (``["svm", "knn"]``) or a comparison (``(">=", 3)``); every
key must hold, and the parent itself must be active (nested conditions). A parent is a
``Categorical`` or an ``Int``. A space's conditions are checked when it is built
(``check``): an unknown parent, a value the parent cannot take, a cycle, or a
condition that can never hold is refused, naming the parameter.

A condition is stored as a tuple of clauses ``(parent, op, values)``; ``op`` is
``"in"`` (values: the set) or a comparison (values: the one bound).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from unitune.errors import InvalidSpace, SpaceTypeError

__all__ = ["Clause", "active", "check", "grid", "holds", "normalize", "to_dict", "union"]

Clause = tuple[str, str, tuple[Any, ...]]
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_MAX_NODES = 200_000  # the "can it ever hold" search gives up beyond this many nodes


def _number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kind (True is no 1; 3 and 3.0 are the same number; an
    object whose ``==`` is no truth value, e.g. an array, is equal to itself only)."""
    if a is b:
        return True
    if _number(a) and _number(b):
        return bool(a == b)
    return type(a) is type(b) and _equal(a, b)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - e.g. numpy arrays: ambiguous truth value
        return False


def normalize(when: Any) -> tuple[Clause, ...] | None:
    """``when=`` as clauses (None: unconditional); its shape is checked here, its
    parents when the space is built."""
    if when is None:
        return None
    if isinstance(when, tuple) and all(isinstance(c, tuple) and len(c) == 3 for c in when):
        return when or None  # already normalized (a copy of a distribution)
    if not isinstance(when, Mapping) or not when:
        raise SpaceTypeError(f"when={when!r} must be a non-empty dict parent -> value, "
                             "list of values or (op, value), e.g. {'model': 'svm'}")
    clauses = []
    for parent, cond in when.items():
        if not isinstance(parent, str) or not parent:
            raise SpaceTypeError(f"when={dict(when)!r}: parent names must be strings")
        clauses.append(_clause(parent, cond))
    return tuple(clauses)


def plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if item is not None and type(value).__module__ == "numpy" else value


def _clause(parent: str, cond: Any) -> Clause:
    if isinstance(cond, (list, tuple)) and len(cond) == 2 and cond[0] in _COMPARISONS:
        op, bound = cond[0], plain(cond[1])
        if op in ("==", "!="):
            return (parent, op, (bound,))
        if not _number(bound) or not math.isfinite(bound):
            raise SpaceTypeError(f"when={{{parent!r}: {tuple(cond)!r}}}: {op} needs a "
                                 f"finite number, got {bound!r}")
        return (parent, op, (bound,))
    values = tuple(plain(v) for v in cond) if isinstance(cond, (list, tuple)) else (plain(cond),)
    if not values:
        raise InvalidSpace(f"when={{{parent!r}: {cond!r}}}: the value list is empty; "
                           "give at least one value of the parent")
    return (parent, "in", values)


def to_dict(clauses: tuple[Clause, ...]) -> dict[str, Any]:
    """The JSON/YAML form, which ``normalize`` reads back."""
    out: dict[str, Any] = {}
    for parent, op, values in clauses:
        if op == "in":
            out[parent] = values[0] if len(values) == 1 else list(values)
        else:
            out[parent] = [op, values[0]]
    return out


def holds(clause: Clause, value: Any) -> bool:
    _, op, values = clause
    if op == "in":
        return any(_same(value, v) for v in values)
    if op == "==":
        return _same(value, values[0])
    if op == "!=":
        return not _same(value, values[0])
    if not _number(value):
        return False
    bound = values[0]
    return bool({"<": value < bound, "<=": value <= bound, ">": value > bound,
                 ">=": value >= bound}[op])


def _describe(clause: Clause) -> str:
    parent, op, values = clause
    return f"{parent!r}: {to_dict((clause,))[parent]!r}"


# -- checks ----------------------------------------------------------------------------
def _parent_values(dist: Any, clauses: list[Clause]) -> list[Any]:
    """The values of a parent that tell its children's conditions apart: every choice
    of a Categorical; an Int's ends and the values next to each bound."""
    if dist.kind == "categorical":
        return list(dist.choices)
    marks = {dist.low, dist.high}
    for _, _, values in clauses:
        for v in values:
            if _number(v):
                base = dist.low + math.floor((v - dist.low) / dist.step) * dist.step
                marks.update((base - dist.step, base, base + dist.step, base + 2 * dist.step))
    return sorted(v for v in marks if dist.contains(v))


def _check_clause(name: str, clause: Clause, params: Mapping[str, Any]) -> None:
    parent, op, values = clause
    where = f"parameter {name!r}: when={{{_describe(clause)}}}"
    if parent == name:
        raise InvalidSpace(f"{where} makes {name!r} its own parent (a cycle)")
    if parent not in params:
        raise InvalidSpace(f"{where} names {parent!r}, which is not a parameter of the space "
                           f"({', '.join(params)})")
    dist = params[parent]
    if dist.kind not in ("categorical", "int"):
        raise InvalidSpace(f"{where}: parent {parent!r} is a {type(dist).__name__}; a parent "
                           "must be a Categorical or an Int")
    if op in ("in", "=="):
        bad = [v for v in values if not any(_same(v, c) for c in _parent_values(dist, [clause]))]
        if bad:
            raise InvalidSpace(f"{where}: {bad[0]!r} is not a value {parent!r} can take "
                               f"({dist!r})")
    if not any(holds(clause, v) for v in _parent_values(dist, [clause])):
        raise InvalidSpace(f"{where} can never hold: no value of {parent!r} ({dist!r}) "
                           "satisfies it")


def _order(params: Mapping[str, Any]) -> list[str]:
    """The names, parents before children, otherwise in the space's order."""
    parents = {n: [c[0] for c in (d.when or ())] for n, d in params.items()}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(params):
        ready = [n for n in params if n not in done and all(p in done for p in parents[n])]
        if not ready:
            stuck = [n for n in params if n not in done]
            cycle = _cycle(stuck[0], parents, set(stuck))
            raise InvalidSpace(f"parameter {cycle[0]!r}: when= makes a cycle "
                               f"({' -> '.join(cycle)})")
        order.extend(ready)
        done.update(ready)
    return order


def _cycle(start: str, parents: Mapping[str, list[str]], stuck: set[str]) -> list[str]:
    """A cycle among the names no order can place (each has a parent among them)."""
    path = [start]
    while True:
        nxt = next(p for p in parents[path[-1]] if p in stuck)
        if nxt in path:
            return path[path.index(nxt):] + [nxt]
        path.append(nxt)


def check(params: Mapping[str, Any]) -> list[str] | None:
    """Check the conditions of a space's ``params``; return the names in an order where
    each parent comes before its children (None for a space without conditions)."""
    if not any(d.when for d in params.values()):
        return None
    for name, dist in params.items():
        for clause in dist.when or ():
            _check_clause(name, clause, params)
    order = _order(params)
    _check_reachable(params, order)
    return order


def _check_reachable(params: Mapping[str, Any], order: list[str]) -> None:
    """Refuse a parameter that no assignment of the parents makes active (its clauses
    need parents that are never active together)."""
    parents = {c[0] for d in params.values() for c in (d.when or ())}
    clauses: dict[str, list[Clause]] = {p: [] for p in parents}
    for d in params.values():
        for c in d.when or ():
            clauses[c[0]].append(c)
    values = {p: _parent_values(params[p], clauses[p]) for p in parents}
    seen: set[str] = set()
    nodes = 0

    def walk(i: int, point: dict[str, Any]) -> bool:
        nonlocal nodes
        nodes += 1
        if nodes > _MAX_NODES:
            return False  # too many combinations to tell: the run will show it
        for j in range(i, len(order)):
            name = order[j]
            if not _active(params, name, point):
                continue
            seen.add(name)
            if name in parents:
                return all(walk(j + 1, {**point, name: v}) for v in values[name])
        return True

    if walk(0, {}):
        never = next((n for n in order if n not in seen), None)
        if never is not None:
            raise InvalidSpace(f"parameter {never!r}: its condition when="
                               f"{to_dict(params[never].when)!r} can never hold (its parents "
                               "are never active together with those values)")


def _active(params: Mapping[str, Any], name: str, point: Mapping[str, Any]) -> bool:
    return all(c[0] in point and holds(c, point[c[0]]) for c in params[name].when or ())


def active(params: Mapping[str, Any], order: Sequence[str], values: Mapping[str, Any]) -> list[str]:
    """The names active for ``values`` (parents decide their children), in ``order``."""
    out: list[str] = []
    point: dict[str, Any] = {}
    for name in order:
        if _active(params, name, point):
            out.append(name)
            if name in values:
                point[name] = values[name]
    return out


def grid(params: Mapping[str, Any], order: Sequence[str]) -> list[dict[str, Any]]:
    """Every point of a finite conditional space, each once, only its active params."""
    for name in order:
        if params[name].grid() is None:
            raise InvalidSpace(f"parameter {name!r} is a continuous Float and has no grid; "
                               "give it a step or make it Categorical")
    out: list[dict[str, Any]] = []

    def walk(i: int, point: dict[str, Any]) -> None:
        while i < len(order) and not _active(params, order[i], point):
            i += 1
        if i == len(order):
            out.append({n: point[n] for n in params if n in point})
            return
        for v in params[order[i]].grid():
            walk(i + 1, {**point, order[i]: v})

    walk(0, {})
    return out


# -- a union of sub-spaces as one conditional space -------------------------------------
def union(branches: Sequence[Mapping[str, Any]]) -> dict[str, Any] | str:
    """The conditional space with the same points as a union of plain sub-spaces (a
    list of param grids): a Categorical present in every branch with values no two
    branches share is the parent, and each other parameter is conditional on the
    branches it appears in. Returns why not when no such space exists."""
    if any(d.when for b in branches for d in b.values()):
        return "a branch has conditional parameters"
    parent = next((n for n in branches[0] if all(
        n in b and b[n].kind == "categorical" for b in branches) and not any(
        _equal(x, y) for b1, b2 in itertools.combinations(branches, 2)
        for x in b1[n].choices for y in b2[n].choices)), None)
    if parent is None:
        return ("no Categorical is in every branch with values no two branches share "
                "(e.g. kernel: [linear] in one, [rbf] in another)")
    names = list(dict.fromkeys(n for b in branches for n in b))
    out: dict[str, Any] = {}
    for name in names:
        holders = [b for b in branches if name in b]
        if name == parent:
            out[name] = type(branches[0][name])([c for b in branches for c in b[name].choices])
            continue
        if any(b[name] != holders[0][name] for b in holders):
            return f"parameter {name!r} has different values in different branches"
        if len(holders) == len(branches):
            out[name] = holders[0][name]
        else:
            when = {parent: [c for b in holders for c in b[parent].choices]}
            out[name] = type(holders[0][name])(**{**_fields(holders[0][name]), "when": when})
    return out


def _fields(dist: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(dist, f.name) for f in dataclasses.fields(dist)}
