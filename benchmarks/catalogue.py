"""Every problem of the benchmark suite by name (the families' modules load lazily)."""

from __future__ import annotations

from typing import Any

__all__ = ["problem"]


def problem(name: str) -> Any:
    from benchmarks.problems import PROBLEMS

    if name not in PROBLEMS:
        raise KeyError(f"no problem {name!r}; known: {sorted(PROBLEMS)}")
    return PROBLEMS[name]
