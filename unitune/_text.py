"""Plain-text output of the ``unitune`` command: numbers and tables."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

__all__ = ["distinct_points", "fmt", "table", "trial_line"]


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


_SHORT = 24


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
          width: int | None = None) -> str:
    """``rows`` under ``headers`` (``rich``): numbers right-aligned, and on a terminal
    fitted to its width, the widest text columns (params, errors) shortened with an
    ellipsis; piped (a file, ``grep``), every cell is whole."""
    import shutil
    import sys

    from rich import box
    from rich.console import Console
    from rich.table import Table

    if width is None:
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 100_000
    text = [[fmt(c) for c in row] for row in rows]
    widest = [max([len(h), *(len(row[i]) for row in text)]) for i, h in enumerate(headers)]
    limits = _fitted(widest, width - 3 * (len(headers) - 1))
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, highlight=False)
    for i, header in enumerate(headers):
        cells = [row[i] for row in rows if row[i] not in ("", None)]
        numeric = bool(cells) and all(_is_number(c) for c in cells)
        grid.add_column(header, justify="right" if numeric else "left",
                        overflow="ellipsis", no_wrap=True, max_width=limits[i],
                        min_width=limits[i] if widest[i] <= _SHORT else None)
    for row in text:
        grid.add_row(*row)
    console = Console(width=width, color_system=None, force_terminal=False,
                      record=True, file=io.StringIO())
    console.print(grid)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()
                     if line.strip())


def _fitted(widest: list[int], room: int) -> list[int]:
    """Each column's width within ``room``: short columns (numbers, states: at most
    ``_SHORT``) whole, the long ones (params, errors) cut in proportion to their width."""
    if sum(widest) <= room:
        return widest
    long = [i for i, w in enumerate(widest) if w > _SHORT]
    left = room - sum(w for i, w in enumerate(widest) if i not in long)
    total = sum(widest[i] for i in long)
    out = list(widest)
    for i in long:
        out[i] = max(4, left * widest[i] // total)
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
