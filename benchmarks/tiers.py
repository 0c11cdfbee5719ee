"""The tiers of the benchmark suite: which problems, backends, budgets and seeds.

- **t0**: a few problems, 3 seeds, small budgets; under 5 minutes on 2 cores. CI runs it
  twice and checks that ``results.json`` repeats byte for byte.
- **t1**: every family, 10 seeds; at most 90 minutes on 2 cores (``--jobs 2``). Its report
  is committed under ``benchmarks/results/t1/``.
- **t2**: t1's problems with 25 seeds and twice the budgets, meant for a Ray cluster
  (``--ray-address``, ``--storage`` a database every node reaches).

A backend that a family's problems cannot take is left out of that family (``optuna:grid``
needs a grid; single-objective backends sit out the multi-objective family).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["TIERS", "Entry"]

BASELINE = "optuna:random"


@dataclass(frozen=True)
class Entry:
    """One problem of a tier: the backends (names or (label, backend, options)), the
    budget, the seeds and the workers of each study."""

    problem_name: str
    family: str
    backends: tuple[Any, ...]
    n_trials: int
    seeds: int
    n_workers: int = 1
    suffix: str = ""  # two entries of one problem (the parallel family's 1 and 2 workers)

    @property
    def key(self) -> str:
        return self.problem_name + self.suffix

    def problem(self) -> Any:
        from benchmarks.catalogue import problem

        return problem(self.problem_name)

    def only(self, wanted: Sequence[str]) -> Entry:
        """The entry with the backends named in ``wanted`` (by label or backend), and the
        baseline when any is left."""
        keep = tuple(b for b in self.backends if _label(b) in wanted or _backend(b) in wanted)
        if keep and BASELINE in self.backends and BASELINE not in keep:
            keep = (*keep, BASELINE)
        return replace(self, backends=keep)


def _label(b: Any) -> str:
    return b if isinstance(b, str) else b[0]


def _backend(b: Any) -> str:
    return b if isinstance(b, str) else b[1]


SYNTHETIC = ("optuna:tpe", "optuna:gp", "optuna:cmaes", "optuna:qmc", "skopt:gp", "skopt:rf",
             "pymoo:ga", "pymoo:de", BASELINE)
CHEAP_SYNTHETIC = ("optuna:tpe", "optuna:cmaes", "optuna:qmc", "skopt:rf", "pymoo:ga",
                   "pymoo:de", BASELINE)


def _family(family: str, names: Sequence[str], backends: Sequence[Any], n_trials: int,
            seeds: int, **kw: Any) -> list[Entry]:
    return [Entry(name, family, tuple(backends), n_trials, seeds, **kw) for name in names]


T0 = [
    *_family("synthetic", ["branin"], ("optuna:tpe", "skopt:rf", "pymoo:ga", BASELINE), 20, 3),
]

T1 = [
    *_family("synthetic", ["branin", "hartmann6"], SYNTHETIC, 100, 10),
]

T2 = [replace(e, n_trials=e.n_trials * 2, seeds=25) for e in T1]

TIERS: dict[str, list[Entry]] = {"t0": T0, "t1": T1, "t2": T2}
