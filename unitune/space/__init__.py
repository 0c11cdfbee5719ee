"""The search space: ``Space`` and the parameter types ``Float``, ``Int`` and
``Categorical``.

- ``_distributions.py``: the parameter types and their checks (bounds inclusive; ``log``
  and ``step`` mean the same on every backend);
- ``_space.py``: ``Space``, its grid and its dict/YAML/JSON forms;
- ``_convert.py``: sklearn, scipy.stats, skopt, Ray Tune and Optuna spaces read as ours;
- ``_optuna.py``: the space as Optuna distributions (how the ledger stores params);
- ``_choices.py``: objects as choices, quantiles, the empty grid: the stored form engines
  and the ledger see, and the user's values back;
- ``_scipy.py``: a scipy.stats distribution without a native type, as its quantile.
"""

from __future__ import annotations

from unitune.space._distributions import Categorical, Distribution, Float, Int
from unitune.space._space import Space

__all__ = ["Categorical", "Distribution", "Float", "Int", "Space"]

# Their public home: reprs, help() and pickles name unitune.space.
for _cls in (Distribution, Float, Int, Categorical, Space):
    _cls.__module__ = __name__
