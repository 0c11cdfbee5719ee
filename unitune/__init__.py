"""unitune: one search space, one objective, every established HPO engine behind it.

    import unitune as ut
    space = ut.Space(x=ut.Float(-5, 10), n=ut.Int(1, 8), kind=ut.Categorical(["a", "b"]))
    result = ut.optimize(objective, space, backend="optuna:tpe", n_trials=50, seed=0)

Importing unitune loads no engine: Optuna, skopt, Ray and pymoo load when a
backend that needs them runs (and matplotlib or plotly when a study is drawn).
"""

from __future__ import annotations

from unitune import integrations
from unitune._script import ScriptParser
from unitune.adapters import backends
from unitune.compare import Comparison, compare
from unitune.errors import (
    BackendNotInstalled,
    InvalidOption,
    InvalidSpace,
    ObjectiveError,
    SpaceTypeError,
    StopStudy,
    StorageError,
    StudyMismatch,
    TrialPruned,
    UnituneError,
    UnknownBackend,
    UnsupportedFeature,
)
from unitune.ledger import load
from unitune.optimize import optimize
from unitune.plots import plot
from unitune.records import Result, TrialRecord, TrialState
from unitune.space import Categorical, Float, Int, Space
from unitune.trial import Trial

__version__ = "0.1.0"

__all__ = [
    "BackendNotInstalled",
    "Categorical",
    "Comparison",
    "Float",
    "Int",
    "InvalidOption",
    "InvalidSpace",
    "ObjectiveError",
    "Result",
    "ScriptParser",
    "Space",
    "SpaceTypeError",
    "StopStudy",
    "StorageError",
    "StudyMismatch",
    "Trial",
    "TrialPruned",
    "TrialRecord",
    "TrialState",
    "UnituneError",
    "UnknownBackend",
    "UnsupportedFeature",
    "__version__",
    "backends",
    "compare",
    "integrations",
    "load",
    "optimize",
    "plot",
]
