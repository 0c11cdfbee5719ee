"""The value an objective received for a parameter stored as a quantile (a scipy.stats
distribution without a native type, ``space/_scipy.py``). The trial's param is the
quantile, which every engine resumes from; ``DRAWN_ATTR`` keeps ``ppf(q)``, the value
itself, so that the ledger says what was run without recomputing it."""

from __future__ import annotations

from typing import Any

from unitune.ledger._keys import DRAWN_ATTR
from unitune.space import Space
from unitune.space._scipy import Quantile

__all__ = ["quantiles", "record_drawn"]


def quantiles(space: Space | None) -> dict[str, Quantile]:
    """The parameters of ``space`` (of any branch) stored as a quantile."""
    if space is None:
        return {}
    return {name: dist for branch in (space.branches or (space,))
            for name, dist in branch.items() if isinstance(dist, Quantile)}


def record_drawn(storage: Any, trial_id: int, quantile_params: dict[str, Quantile]) -> None:
    """Keep in the trial the values its objective got for its quantile params (a trial
    another worker has failed meanwhile stays as it is)."""
    from optuna.exceptions import UpdateFinishedTrialError

    params = storage.get_trial(trial_id).params
    drawn = {name: q.value(params[name]) for name, q in quantile_params.items()
             if isinstance(params.get(name), float)}
    if drawn:
        try:
            storage.set_trial_system_attr(trial_id, DRAWN_ATTR, drawn)
        except UpdateFinishedTrialError:
            pass
