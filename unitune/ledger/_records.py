"""Reading Optuna's trials as unitune's ``TrialRecord``: the one place a record is
built, for ``result.trials`` and for the callbacks alike."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from unitune.ledger._keys import (
    CONSTRAINTS_ATTR,
    ERROR_ATTR,
    FIXED_PARAMS_ATTR,
    INTERRUPTED_ATTR,
    RUN_ATTR,
    WORKER_ATTR,
)
from unitune.records import TrialRecord, TrialState

__all__ = ["counts_toward_budget", "pruned_values", "to_record"]


def counts_toward_budget(record: TrialRecord) -> bool:
    """Finished trials count toward ``n_trials``, except those cut short by a dead process
    or Ctrl-C: they are re-run when the study resumes."""
    return record.state.is_finished() and not record.user_attrs.get(INTERRUPTED_ATTR, False)


def pruned_values(frozen: Any, n_values: int) -> list[float] | None:
    """The values Optuna's ``study.tell`` stores for a pruned trial: its last
    intermediate value, unless it is NaN, none was reported or the study has several
    objectives (then none)."""
    step = frozen.last_step
    if n_values != 1 or step is None:
        return None
    value = float(frozen.intermediate_values[step])
    return None if math.isnan(value) else [value]


def to_record(frozen: Any) -> TrialRecord:
    """The record of an Optuna ``FrozenTrial``."""
    state = TrialState(frozen.state.name)
    # a pruned trial keeps the value the ledger holds: its last intermediate value, as
    # Optuna stores it (``pruned_values``); it is never a candidate for the best trial
    values = frozen.values if state in (TrialState.COMPLETE, TrialState.PRUNED) else None
    duration = None
    if frozen.datetime_start is not None and frozen.datetime_complete is not None:
        duration = (frozen.datetime_complete - frozen.datetime_start).total_seconds()
    sysattrs = frozen.system_attrs
    run = sysattrs.get(RUN_ATTR) or {}
    run = run if isinstance(run, Mapping) else {}
    user_attrs = dict(frozen.user_attrs)
    if sysattrs.get(INTERRUPTED_ATTR):
        user_attrs[INTERRUPTED_ATTR] = True
    params = (frozen.params if state is not TrialState.WAITING
              else sysattrs.get(FIXED_PARAMS_ATTR, {}))
    return TrialRecord(
        number=frozen.number, params=dict(params), state=state,
        values=tuple(values) if values is not None else None,
        intermediate={int(k): float(v) for k, v in frozen.intermediate_values.items()},
        duration=duration, error=sysattrs.get(ERROR_ATTR),
        backend=run.get("backend"), datetime_start=frozen.datetime_start,
        user_attrs=user_attrs, constraints=_constraints(sysattrs),
        worker=sysattrs.get(WORKER_ATTR) or run.get("owner"),
    )


def _constraints(sysattrs: Mapping[str, Any]) -> tuple[float, ...] | None:
    """The trial's constraint values: unitune's (and Optuna's) list under ``constraints``,
    or Optuna 5's per-key ``constraints:<key>`` attributes."""
    listed = sysattrs.get(CONSTRAINTS_ATTR)
    if listed is not None:
        return tuple(float(v) for v in listed)
    keyed = [(k, v) for k, v in sysattrs.items() if k.startswith(f"{CONSTRAINTS_ATTR}:")]
    return tuple(float(v) for _, v in sorted(keyed)) if keyed else None
