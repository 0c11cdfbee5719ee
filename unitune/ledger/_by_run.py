"""The ledger of a define-by-run study (``optimize(objective, space=None)``): its space is
the one the trials declared with ``trial.suggest_*``, recorded where a declared space
is (the study's ``unitune:space`` user attribute, so ``unitune show`` and a resume read
it), and marked define-by-run. Each trial stores the params it asked, no others.

- ``open_by_run``: create the study, or resume it from its recorded discovered space (a
  plain Optuna study without one: the union of its trials' distributions);
- ``ByRunLedger``: a ``Ledger`` whose trials store a subset of the space;
- ``take_asked``: what a finished trial asked, checked against the space discovered so
  far, written to the trial, and added to the space.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from unitune._discover import Asked, describe, grow, redeclared
from unitune.errors import StudyMismatch
from unitune.ledger._keys import BY_RUN_ATTR, METRICS_ATTR, SPACE_ATTR
from unitune.ledger._ledger import Ledger
from unitune.ledger._resume import check_same_study
from unitune.ledger._storage import open_storage
from unitune.ledger._writable import check_writable
from unitune.space import Space
from unitune.space._optuna import optuna_distribution

__all__ = ["ByRunLedger", "describe_by_run", "is_by_run", "open_by_run", "take_asked"]


class ByRunLedger(Ledger):
    """A define-by-run study: ``space`` is None until a trial declares a parameter."""

    def distributions_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        space: Mapping[str, Any] = self.space or {}
        return {n: optuna_distribution(space[n]) for n in params if n in space}


def open_by_run(storage: Any, study_name: str | None, directions: Sequence[str],
                metrics: Sequence[str] | None) -> ByRunLedger:
    """The define-by-run study ``study_name``: created, or resumed with the space its
    trials declared so far."""
    import optuna
    from optuna.study import StudyDirection

    if study_name is None:  # as Ledger.open names one
        study_name = ("unitune" if storage is None
                      else f"unitune-{os.getpid()}-{os.urandom(4).hex()}")
    check_writable(storage)
    storage = open_storage(storage)
    dirs, names = tuple(directions), tuple(metrics) if metrics else None
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        try:
            study_id = storage.create_new_study(
                [StudyDirection.MINIMIZE if d == "minimize" else StudyDirection.MAXIMIZE
                 for d in dirs], study_name)
        except optuna.exceptions.DuplicatedStudyError:  # created by a concurrent worker
            study_id = storage.get_study_id_from_name(study_name)
        else:
            storage.set_study_system_attr(study_id, BY_RUN_ATTR, True)
            if names:
                storage.set_study_system_attr(study_id, METRICS_ATTR, list(names))
            return ByRunLedger(storage, study_name, study_id, None, dirs, names)
    space = _recorded_space(storage, study_id)
    if space is None:
        stored = tuple(d.name.lower() for d in storage.get_study_directions(study_id))
        if stored != dirs:
            raise StudyMismatch(f"study {study_name!r} was created with directions="
                                f"{list(stored)}, not {list(dirs)}; use the same direction(s) "
                                "or another study name")
        stored_metrics = storage.get_study_system_attrs(study_id).get(METRICS_ATTR)
    else:
        stored_metrics = check_same_study(storage, study_id, study_name, space, dirs, names)
    return ByRunLedger(storage, study_name, study_id, space, dirs,
                       names or (tuple(stored_metrics) if stored_metrics else None))


def _recorded_space(storage: Any, study_id: int) -> Space | None:
    """The space recorded for the study; else the union of its trials' distributions
    (a study Optuna ran), in the order they appear; None when it has none."""
    recorded = storage.get_study_user_attrs(study_id).get(SPACE_ATTR)
    if recorded is not None:
        return Space.from_dict(recorded)
    seen: dict[str, Any] = {}
    for trial in storage.get_all_trials(study_id, deepcopy=False):
        for name, dist in trial.distributions.items():
            seen.setdefault(name, dist)
    return Space.from_optuna(seen) if seen else None


def take_asked(ledger: Ledger, trial_id: int, asked: Asked) -> tuple[str | None, bool]:
    """A define-by-run trial ended having asked ``asked``: check it against the space
    discovered so far (another trial may have declared a name otherwise meanwhile), store
    the params the trial does not hold yet (Optuna's trial stores its own), and record the
    grown space. Returns (why the trial fails, or None; whether the space grew)."""
    known: Mapping[str, Any] = ledger.space or {}
    for name, (_, dist) in asked.items():
        why = None if name not in known else redeclared(name, known[name], dist)
        if why is not None:
            return why, False
    held = ledger.storage.get_trial(trial_id).params if asked else {}
    for name, (value, dist) in asked.items():
        if name not in held:
            optuna_dist = optuna_distribution(dist)
            ledger.storage.set_trial_param(trial_id, name, optuna_dist.to_internal_repr(value),
                                           optuna_dist)
    grown = grow(known, asked)
    if len(grown) == len(known):
        return None, False
    ledger.space = Space(grown)
    ledger.storage.set_study_user_attr(ledger.study_id, SPACE_ATTR, ledger.space.to_dict())
    return None, True


def is_by_run(ledger: Ledger) -> bool:
    """Was the study started define-by-run (``optimize(objective, space=None)``)?"""
    return bool(ledger.storage.get_study_system_attrs(ledger.study_id).get(BY_RUN_ATTR))


def describe_by_run(ledger: Ledger) -> str | None:
    """For ``unitune show``: the space a define-by-run study's trials declared, one
    parameter a line (None for a study whose space was declared up front)."""
    if not is_by_run(ledger):
        return None
    if ledger.space is None:
        return "define-by-run space: no parameter declared yet\n"
    lines = [f"  {name}: {describe(dist)}" for name, dist in ledger.space.items()]
    return "define-by-run space (as the trials declared it):\n" + "\n".join(lines) + "\n"
