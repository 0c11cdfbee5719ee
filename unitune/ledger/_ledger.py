"""``Ledger``: one study in an Optuna storage, and the only writer of it.

Every write unitune makes to a study goes through a method here (a trial begun,
reported, finished, failed with its traceback, re-queued, its params replaced by
PBT); an engine that writes trials itself (Optuna's ``Study``) writes through
``engine_storage()``, which names the owner of each trial it creates.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from unitune._secrets import storage_name
from unitune.errors import InvalidOption
from unitune.ledger._budget import Budget, Count
from unitune.ledger._drawn import quantiles
from unitune.ledger._heartbeat import Heartbeat
from unitune.ledger._keys import (
    CONSTRAINTS_ATTR,
    ERROR_ATTR,
    FIXED_PARAMS_ATTR,
    HISTORY_ATTR,
    INTERRUPTED_ATTR,
    METRICS_ATTR,
    RUN_ATTR,
    SETTINGS_ATTR,
    SPACE_ATTR,
    TRACEBACK_ATTR,
    WORKER_ATTR,
)
from unitune.ledger._records import pruned_values, to_record
from unitune.ledger._resume import check_same_study
from unitune.ledger._stale import unowned_running
from unitune.ledger._storage import OwnedTrials, open_storage
from unitune.ledger._writable import check_writable
from unitune.records import Result, TrialRecord, TrialState
from unitune.space import Space
from unitune.space._optuna import optuna_distributions, union_distributions

__all__ = ["Ledger"]

_HOST = socket.gethostname()
_TRACEBACK_CHARS = 8000

logger = logging.getLogger("unitune")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    """One study in an Optuna storage, seen through unitune's records."""

    def __init__(self, storage: Any, study_name: str, study_id: int, space: Space | None,
                 directions: tuple[str, ...], metrics: tuple[str, ...] | None) -> None:
        import optuna

        self.storage = storage
        self.study_name = study_name
        self.study_id = study_id
        self.space = space
        self.directions = directions
        self.metrics = metrics
        self.backend: str | None = None
        self.heartbeat = Heartbeat(storage)
        # Other processes can work on this study (``unitune worker``): the budget is the
        # study's, and how it is run is recorded for them.
        self.shared = not isinstance(storage, optuna.storages.InMemoryStorage)
        self._count = Count(storage, study_id, self._owner()["owner"])
        self._budget: Budget | None = None
        if space is not None and space.branches:
            self._dists = union_distributions(space)
        elif space is not None:
            self._dists = [optuna_distributions(space)]
        else:
            self._dists = []
        self.quantiles = quantiles(space)  # params stored as a quantile (``_drawn.py``)

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, storage: Any, study_name: str | None, space: Space,
             directions: Sequence[str], metrics: Sequence[str] | None = None) -> Ledger:
        """Create the study, or resume it after checking it has the same space and
        directions."""
        import optuna
        from optuna.study import StudyDirection

        if study_name is None:
            # A private in-memory study gets a fixed name: Optuna derives things from the
            # name (HyperbandPruner's brackets hash it), so a seeded run must not depend on
            # a random one. A shared store gets a unique name instead of resuming by chance.
            study_name = ("unitune" if storage is None
                          else f"unitune-{os.getpid()}-{os.urandom(4).hex()}")
        check_writable(storage)
        storage = open_storage(storage)
        directions = tuple(directions)
        metrics = tuple(metrics) if metrics else None
        try:
            study_id = storage.get_study_id_from_name(study_name)
        except KeyError:
            dirs = [StudyDirection.MINIMIZE if d == "minimize" else StudyDirection.MAXIMIZE
                    for d in directions]
            try:
                study_id = storage.create_new_study(dirs, study_name)
            except optuna.exceptions.DuplicatedStudyError:  # created by a concurrent worker
                study_id = storage.get_study_id_from_name(study_name)
            else:
                storage.set_study_user_attr(study_id, SPACE_ATTR, space.to_dict())
                if metrics:
                    storage.set_study_system_attr(study_id, METRICS_ATTR, list(metrics))
                return cls(storage, study_name, study_id, space, directions, metrics)
        stored_metrics = check_same_study(storage, study_id, study_name, space, directions,
                                           metrics)
        return cls(storage, study_name, study_id, space, directions,
                   metrics or (tuple(stored_metrics) if stored_metrics else None))

    @classmethod
    def existing(cls, study_name: str, storage: Any) -> Ledger:
        """The ledger of a study that is already stored (whichever backend ran it)."""
        storage_obj = open_storage(storage)
        try:
            study_id = storage_obj.get_study_id_from_name(study_name)
        except KeyError:
            names = [s.study_name for s in storage_obj.get_all_studies()]
            raise InvalidOption(
                f"study {study_name!r} is not in storage {storage_name(storage)}; studies "
                f"there: {names or 'none'}"
            ) from None
        directions = tuple(d.name.lower() for d in storage_obj.get_study_directions(study_id))
        attrs = storage_obj.get_study_user_attrs(study_id)
        space = Space.from_dict(attrs[SPACE_ATTR]) if SPACE_ATTR in attrs else None
        metrics = storage_obj.get_study_system_attrs(study_id).get(METRICS_ATTR)
        return cls(storage_obj, study_name, study_id, space, directions,
                   tuple(metrics) if metrics else None)

    # -- a trial's life -------------------------------------------------------------------
    def distributions_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The Optuna distributions to store ``params`` under (its branch's, for a union)."""
        if len(self._dists) == 1:
            dists = self._dists[0]  # a conditional space: its active params only
            return dists if len(params) == len(dists) else {n: dists[n] for n in params}
        assert self.space is not None  # a ledger without a space stores no trial
        for branch, dists in zip(self.space.branches, self._dists):
            if branch.contains(params):
                return dists
        raise ValueError(f"params {dict(params)!r} are outside the space")

    def _owner(self) -> dict[str, Any]:
        return {"backend": self.backend, "owner": f"{_HOST}:{os.getpid()}"}

    def start(self, params: Mapping[str, Any]) -> tuple[int, int] | None:
        """Write a RUNNING trial with ``params``; return (trial_id, number), or None if
        the study's budget is spent (``limit_budget``)."""
        template = self.engine_storage().running(dict(params), self.distributions_for(params))
        with self.reserve() as granted:
            if not granted:
                return None
            trial_id = self.storage.create_new_trial(self.study_id, template_trial=template)
        self.heartbeat.add(trial_id)
        return trial_id, self.storage.get_trial_number_from_id(trial_id)

    def engine_storage(self) -> OwnedTrials:
        """The storage for an engine that creates its trials itself (Optuna's
        ``Study.ask``): each trial it creates or takes from the queue names its owner from
        its first write, so a process killed mid-ask leaves a trial the next run fails."""
        return OwnedTrials(self.storage, RUN_ATTR, self._owner, self.reserve)

    def start_heartbeat(self, trial_id: int) -> None:
        """Beat for a trial an engine created through ``engine_storage`` (``start`` and
        ``claim_waiting`` beat for theirs)."""
        self.heartbeat.add(trial_id)

    def end_heartbeat(self, trial_id: int) -> None:
        """This process runs the trial no more."""
        self.heartbeat.remove(trial_id)

    def claim_waiting(self) -> tuple[int, int, dict[str, Any]] | None:
        """Take an enqueued (WAITING) trial, make it RUNNING and ours, set its params;
        return (trial_id, number, params), or None if there is none left."""
        from optuna.trial import TrialState as OTS

        storage = self.engine_storage()  # the owner is written right as the trial is taken
        for frozen in self.storage.get_all_trials(self.study_id, deepcopy=False,
                                                  states=(OTS.WAITING,)):
            if not storage.set_trial_state_values(frozen._trial_id, state=OTS.RUNNING):
                continue
            self.heartbeat.add(frozen._trial_id)
            params = dict(frozen.system_attrs.get(FIXED_PARAMS_ATTR, {}))
            dists = self.distributions_for(params)
            for name, value in params.items():
                d = dists[name]
                self.storage.set_trial_param(frozen._trial_id, name, d.to_internal_repr(value), d)
            return frozen._trial_id, frozen.number, params
        return None

    def waiting(self) -> list[TrialRecord]:
        """The study's queued (WAITING) trials, in the order ``claim_waiting`` takes them."""
        from optuna.trial import TrialState as OTS

        return [to_record(t) for t in self.storage.get_all_trials(
            self.study_id, deepcopy=False, states=(OTS.WAITING,))]

    def enqueue(self, params: Mapping[str, Any]) -> None:
        """Queue ``params`` to be run (again) as a new trial."""
        from optuna.trial import FrozenTrial
        from optuna.trial import TrialState as OTS

        template = FrozenTrial(
            number=-1, state=OTS.WAITING, value=None, datetime_start=None,
            datetime_complete=None, params={}, distributions={}, user_attrs={},
            system_attrs={FIXED_PARAMS_ATTR: dict(params)}, intermediate_values={},
            trial_id=-1,
        )
        self.storage.create_new_trial(self.study_id, template_trial=template)

    def report(self, trial_id: int, step: int, value: float) -> None:
        with self._unless_taken_over(trial_id):
            self.storage.set_trial_intermediate_value(trial_id, step, value)

    def set_constraints(self, trial_id: int, values: Sequence[float]) -> None:
        self.storage.set_trial_system_attr(trial_id, CONSTRAINTS_ATTR, list(values))

    def set_error(self, trial_id: int, error: str, *, traceback: str | None = None,
                  interrupted: bool = False) -> None:
        """Why the trial failed (one line), and the objective's traceback if any."""
        with self._unless_taken_over(trial_id):
            self._set_error(trial_id, error, interrupted)
            if traceback is not None:
                self.storage.set_trial_system_attr(trial_id, TRACEBACK_ATTR,
                                                   traceback[-_TRACEBACK_CHARS:])

    def _set_error(self, trial_id: int, error: str, interrupted: bool) -> None:
        self.storage.set_trial_system_attr(trial_id, ERROR_ATTR, error)
        if interrupted:
            self.storage.set_trial_system_attr(trial_id, INTERRUPTED_ATTR, True)

    def set_worker(self, trial_id: int, worker: str) -> None:
        """Where the objective runs when not in the trial's owner (a Ray worker's host:pid)."""
        self.storage.set_trial_system_attr(trial_id, WORKER_ATTR, worker)

    def replace_params(self, trial_id: int, old: Mapping[str, Any], new: Mapping[str, Any],
                       history: list[dict[str, Any]]) -> None:
        """A running trial continues with ``new`` params (PBT copied another trial's state
        into it): store the params that changed and the history of such changes."""
        dists = self.distributions_for(new)
        for name, value in new.items():
            if value != old.get(name) or type(value) is not type(old.get(name)):
                dist = dists[name]
                self.storage.set_trial_param(trial_id, name, dist.to_internal_repr(value), dist)
        self.storage.set_trial_user_attr(trial_id, HISTORY_ATTR, history)

    def finish(self, trial_id: int, state: TrialState,
               values: Sequence[float] | None = None) -> None:
        from optuna.trial import TrialState as OTS

        with self._unless_taken_over(trial_id):
            if state is TrialState.PRUNED and values is None:  # what Optuna's tell stores
                values = pruned_values(self.storage.get_trial(trial_id), len(self.directions))
            self.storage.set_trial_state_values(trial_id, OTS[state.value],
                                                list(values) if values is not None else None)

    @contextlib.contextmanager
    def _unless_taken_over(self, trial_id: int) -> Iterator[None]:
        """A trial of this process that another worker failed (its heartbeat was late
        past the grace period) stays failed and was queued again: keep going without it."""
        from optuna.exceptions import UpdateFinishedTrialError

        try:
            yield
        except UpdateFinishedTrialError:
            self._drop_taken_over(trial_id)

    def drop_if_taken_over(self, trial_id: int) -> bool:
        """If another worker failed this RUNNING trial of ours (its heartbeats were late),
        stop beating for it, warn, and return True. Only a ledger with heartbeats can tell;
        an engine writing the trial itself (Optuna) leaves such a trial as it is."""
        if not self.heartbeat.enabled or not self.storage.get_trial(trial_id).state.is_finished():
            return False
        self._drop_taken_over(trial_id)
        return True

    def _drop_taken_over(self, trial_id: int) -> None:
        self.heartbeat.remove(trial_id)
        logger.warning("trial id %s was failed by another worker (no heartbeat for the grace "
                       "period) and queued again; what this process found for it is dropped",
                       trial_id)

    def close(self) -> None:
        """Stop the heartbeats (this process runs no more trials) and sync to disk."""
        self.heartbeat.close()
        self.sync()

    def recover_stale(self) -> list[dict[str, Any]]:
        """Fail the RUNNING trials whose owner is gone (a dead process on this host, or
        no heartbeat for the grace period from any host), and enqueue their params again
        so that the study re-runs them. Returns those params."""
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState as OTS

        silent = self.heartbeat.stale_trial_ids(self.study_id)
        recovered = []
        for frozen in self.storage.get_all_trials(self.study_id, deepcopy=False,
                                                  states=(OTS.RUNNING,)):
            owner = str((frozen.system_attrs.get(RUN_ATTR) or {}).get("owner", ""))
            host, _, pid = owner.rpartition(":")
            if host == _HOST and pid.isdigit() and not _pid_alive(int(pid)):
                why = f"interrupted: process {pid} ended while the trial ran"
            elif frozen._trial_id in silent:
                why = (f"interrupted: no heartbeat from {owner or 'its process'} for "
                       f"{self.heartbeat.grace:g} s")
            else:
                continue
            try:
                self._set_error(frozen._trial_id, why, interrupted=True)
                self.storage.set_trial_state_values(frozen._trial_id, OTS.FAIL)
            except UpdateFinishedTrialError:  # its owner or another worker got there first
                continue
            # A queued trial taken just before the kill may not have its params yet.
            params = dict(frozen.params) or dict(frozen.system_attrs.get(FIXED_PARAMS_ATTR, {}))
            recovered.append(params)
            if params:
                self.enqueue(params)
        return recovered

    # -- the study --------------------------------------------------------------------------
    def used_budget(self) -> tuple[int, int, bool]:
        """(trials that count toward ``n_trials``, RUNNING trials of other processes, any
        WAITING trial?): what several processes working on one study share. Read
        incrementally: only trials new or unfinished since the last call are read."""
        return self._count()

    def limit_budget(self, n_trials: int) -> None:
        """From now on a trial starts only if the study's count is under ``n_trials``,
        decided under a lock every unitune process on the study takes (``reserve``)."""
        self._budget = Budget(self.storage, self.study_id, n_trials, self._count)

    @contextlib.contextmanager
    def reserve(self) -> Iterator[bool]:
        """Yield whether one more trial may start; write it inside the block."""
        if self._budget is None:
            yield True
        else:
            with self._budget.reserve() as granted:
                yield granted

    def trial_count(self) -> int:
        """How many trials the study holds (of any state): the next new trial's number."""
        return len(self.storage.get_all_trials(self.study_id, deepcopy=False))

    def record_settings(self, settings: Mapping[str, Any]) -> None:
        """Keep how this study is being run, so that ``unitune worker`` can join it."""
        try:
            json.dumps(settings)
        except (TypeError, ValueError):
            settings = {**settings, "options": None, "options_not_stored": True}
        self.storage.set_study_system_attr(self.study_id, SETTINGS_ATTR, dict(settings))

    def settings(self) -> dict[str, Any] | None:
        return self.storage.get_study_system_attrs(self.study_id).get(SETTINGS_ATTR)

    def sync(self) -> None:
        """Make every write durable on disk (the embedded journal fsyncs in groups)."""
        sync = getattr(getattr(self.storage, "_backend", None), "sync", None)
        if callable(sync):
            sync()

    # -- reading ----------------------------------------------------------------------------
    def record(self, trial_id: int) -> TrialRecord:
        """One trial as the ledger holds it."""
        return to_record(self.storage.get_trial(trial_id))

    def unowned_running(self) -> list[TrialRecord]:
        """The RUNNING trials no unitune process started (a plain Optuna ``study.ask()``
        never told): they do not count toward ``n_trials`` (``_stale.py``)."""
        trials = self.storage.get_all_trials(self.study_id, deepcopy=False)
        return [to_record(t) for t in unowned_running(trials)]

    def records(self) -> list[TrialRecord]:
        return [to_record(t) for t in self.storage.get_all_trials(self.study_id, deepcopy=False)]

    def result(self, backend: str | None = None, interrupted: bool = False) -> Result:
        return Result(
            study_name=self.study_name, directions=self.directions,
            trials=tuple(r for r in self.records() if r.state is not TrialState.WAITING),
            metrics=self.metrics, backend=backend, interrupted=interrupted, space=self.space,
        )
