"""Every problem of the benchmark suite by name: the catalogue (``benchmarks/problems/``),
the multi-fidelity objective and the parallel family's delayed problem."""

from __future__ import annotations

from typing import Any

__all__ = ["problem"]


def problem(name: str) -> Any:
    from benchmarks.problems import PROBLEMS

    if name in PROBLEMS:
        return PROBLEMS[name]
    from benchmarks import multifidelity, parallel

    extra = {multifidelity.PROBLEM.name: multifidelity.PROBLEM, **parallel.PROBLEMS}
    if name not in extra:
        raise KeyError(f"no problem {name!r}; known: {sorted({*PROBLEMS, *extra})}")
    return extra[name]
