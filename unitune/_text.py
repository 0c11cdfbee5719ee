"""Plain-text output of the ``unitune`` command: numbers and tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["distinct_points", "fmt", "table", "trial_line"]


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def trial_line(record: Any) -> str:
    """One line per finished trial: number, state, value(s), params, and why it failed."""
    values = "" if record.values is None else " ".join(fmt(v) for v in record.values)
    why = f"  ({record.error.splitlines()[0]})" if record.error else ""
    params = ", ".join(f"{k}={fmt(v)}" for k, v in record.params.items())
    return f"trial {record.number:>4}  {record.state.value:<8} {values:>12}  {params}{why}"


def distinct_points(trials: Sequence[Any]) -> list[tuple[Any, int]]:
    """Each distinct (values, params) once, by values, with how many trials hit it (a
    genetic algorithm re-evaluates the same point many times)."""
    groups: dict[tuple[Any, str], list[Any]] = {}
    for t in sorted(trials, key=lambda t: (t.values, t.number)):
        groups.setdefault((tuple(t.values), repr(sorted(t.params.items()))), []).append(t)
    return [(same[0], len(same)) for same in groups.values()]
