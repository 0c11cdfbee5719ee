"""The timing loop shared by the overhead scripts: the engine called directly against the
same work through unitune, interleaved, repeated, compared by medians.

On a machine shared with other work, the absolute time of a run says little; runs of
both sides taken in turn see the same load, so the ratio of their medians (and the ratio
within each repeat) is what the scripts report.

    runs = interleave({"direct": lambda r: direct(n, seed=r),
                       "unitune": lambda r: ours(n, seed=r)},
                      repeats=5, warmup=[lambda: ours(20, 0), lambda: direct(20, 0)])
    ratio(runs["unitune"], runs["direct"]), ratios(runs["unitune"], runs["direct"])
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["interleave", "median", "ratio", "ratios", "timed"]


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of ``fn()`` and what it returned."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def interleave(sides: Mapping[str, Callable[[int], T]], repeats: int, *,
               warmup: Iterable[Callable[[], Any]] = (), alternate: bool = False,
               max_runs: Mapping[str, int] | None = None) -> dict[str, list[T]]:
    """Call every side once per repeat, in turn, and collect what each returns.

    ``sides`` maps a name to a function of the repeat index (0, 1, ...), which the
    scripts use as the seed. ``warmup`` functions run once first (imports, a runtime to
    start). ``alternate`` reverses the order of the sides on odd repeats, so that neither
    side always runs first. ``max_runs`` limits a slow side to its first repeats.
    """
    for fn in warmup:
        fn()
    limits = dict(max_runs or {})
    names = list(sides)
    runs: dict[str, list[T]] = {name: [] for name in names}
    for r in range(repeats):
        for name in (names[::-1] if alternate and r % 2 else names):
            if r < limits.get(name, repeats):
                runs[name].append(sides[name](r))
    return runs


def median(values: Iterable[float]) -> float:
    return statistics.median(values)


def ratio(num: Iterable[float], den: Iterable[float]) -> float:
    """The ratio of the medians: the headline figure of an overhead script."""
    return statistics.median(num) / statistics.median(den)


def ratios(num: Sequence[float], den: Sequence[float]) -> list[float]:
    """The ratio within each repeat (the runs taken in the same turn)."""
    return [n / d for n, d in zip(num, den)]


def write_json(path: str | Path, report: Any) -> None:
    """Write a benchmark's figures to ``path`` (its folder made if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
