"""The benchmark catalogue: problems shared by the overhead scripts, the backend comparison
and the suite.

Each problem is a unitune space, an objective on plain dicts, its direction(s), its family
and, where it is known, its optimum (for several objectives: the true front's hypervolume
against ``reference``), so every backend, and every engine called directly, sees the same
thing. Families: ``synthetic`` (known optima), ``tabular`` (exact optima from complete
tables), ``ml`` (live scikit-learn / XGBoost cross-validation, optimum unknown) and
``multi-objective`` (analytic or exact fronts) and ``conditional`` (a known optimum in
one branch of a conditional space, and the same problem flattened by hand).
"""

from __future__ import annotations

from .conditional import CONDITIONAL
from ._base import FAMILIES, Problem, hypervolume, minimised
from .ml import ML, SklearnObjective
from .multi import DTLZ2, PYMOO, ZDT1, ZDT2, ZDT3, PymooObjective
from .synthetic import (
    ACKLEY10,
    ACKLEY_MIXED,
    BRANIN,
    HARTMANN6,
    ROSENBROCK6,
    SYNTHETIC,
    ackley10,
    ackley_mixed,
    branin,
    hartmann6,
    rosenbrock6,
)
from .tabular import (
    HPOBENCH_MO,
    TABULAR,
    TabularObjective,
    expected_best_random,
    load_table,
    random_best_moments,
    true_front,
)

PROBLEMS: dict[str, Problem] = {p.name: p for p in (*SYNTHETIC, *TABULAR, *ML, *PYMOO, HPOBENCH_MO,
                                                 *CONDITIONAL)}


def family(name: str) -> str:
    """The family of the problem called ``name``."""
    return PROBLEMS[name].family


def names(family: str | None = None) -> list[str]:
    """The problems of one family (every problem when ``family`` is None), in catalogue order."""
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    return [n for n, p in PROBLEMS.items() if family is None or p.family == family]


__all__ = [
    "ACKLEY10", "ACKLEY_MIXED", "BRANIN", "CONDITIONAL", "DTLZ2", "FAMILIES", "HARTMANN6", "HPOBENCH_MO",
    "ML", "PROBLEMS", "PYMOO", "ROSENBROCK6", "SYNTHETIC", "TABULAR", "ZDT1", "ZDT2", "ZDT3",
    "Problem", "PymooObjective", "SklearnObjective", "TabularObjective", "ackley10",
    "ackley_mixed", "branin", "expected_best_random", "family", "hartmann6", "hypervolume",
    "load_table", "minimised", "names", "random_best_moments", "rosenbrock6", "true_front",
]
