"""The ledger: where every trial of every backend is kept, in an Optuna storage.

``storage=None`` keeps trials in memory; a file path gives the embedded durable
store (Optuna's journal file: an append-only log, safe for several processes);
``sqlite:///...``, ``postgresql://...`` and ``mysql://...`` URLs give Optuna's
RDB storage. One schema whichever backend ran the trials, so a study can be
resumed, continued with another backend, listed and plotted (optuna-dashboard
and ``optuna.visualization`` read it as they read any Optuna study).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from unitune._heartbeat import Heartbeat
from unitune._optuna_space import optuna_distributions, union_distributions
from unitune._storage import OwnedTrials, open_storage
from unitune.errors import InvalidOption, StudyMismatch
from unitune.records import Result, TrialRecord, TrialState
from unitune.space import Space

__all__ = ["Ledger", "load", "open_storage", "optuna_distributions"]

SPACE_ATTR = "unitune:space"
RUN_ATTR = "unitune"  # per trial: {"backend": ..., "owner": "host:pid"}
SETTINGS_ATTR = "unitune:run"  # per study: how the last optimize() (not a worker) ran it
ERROR_ATTR = "unitune:error"
INTERRUPTED_ATTR = "unitune:interrupted"
CONSTRAINTS_ATTR = "constraints"  # Optuna's own key: its samplers read it (<= 0 feasible)

_HOST = socket.gethostname()

logger = logging.getLogger("unitune")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


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
        self.storage = storage
        self.study_name = study_name
        self.study_id = study_id
        self.space = space
        self.directions = directions
        self.metrics = metrics
        self.backend: str | None = None
        self.heartbeat = Heartbeat(storage)
        self._settled = (0, 0)  # (finished trials at the start of the study, interrupted)
        if space is not None and space.branches:
            self._dists = union_distributions(space)
        elif space is not None:
            self._dists = [optuna_distributions(space)]
        else:
            self._dists = []

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
        storage = open_storage(storage)
        directions = tuple(directions)
        metrics = tuple(metrics) if metrics else None
        space_spec = space.to_dict()
        try:
            study_id = storage.get_study_id_from_name(study_name)
        except KeyError:
            study_id = None
        if study_id is None:
            dirs = [StudyDirection.MINIMIZE if d == "minimize" else StudyDirection.MAXIMIZE
                    for d in directions]
            try:
                study_id = storage.create_new_study(dirs, study_name)
            except optuna.exceptions.DuplicatedStudyError:  # created by a concurrent worker
                study_id = storage.get_study_id_from_name(study_name)
            else:
                storage.set_study_user_attr(study_id, SPACE_ATTR, space_spec)
                if metrics:
                    storage.set_study_system_attr(study_id, "study:metric_names", list(metrics))
                return cls(storage, study_name, study_id, space, directions, metrics)
        stored_dirs = tuple(d.name.lower() for d in storage.get_study_directions(study_id))
        if stored_dirs != directions:
            raise StudyMismatch(
                f"study {study_name!r} was created with directions={list(stored_dirs)}, "
                f"not {list(directions)}; use the same direction(s) or another study name"
            )
        stored_space = storage.get_study_user_attrs(study_id).get(SPACE_ATTR)
        if stored_space is None:
            storage.set_study_user_attr(study_id, SPACE_ATTR, space_spec)
        elif _canonical(stored_space) != _canonical(json.loads(_canonical(space_spec))):
            stored = Space.from_dict(stored_space)
            diff = sorted(set(stored.names) ^ set(space.names)) or [
                n for n in space.names
                if n in stored and n in space and stored[n] != space[n]]
            raise StudyMismatch(
                f"study {study_name!r} was created with a different space "
                f"(differs in {diff or 'structure'}): stored {stored_space}; "
                "use the same space or another study name"
            )
        stored_metrics = storage.get_study_system_attrs(study_id).get("study:metric_names")
        if metrics and stored_metrics and tuple(stored_metrics) != metrics:
            raise StudyMismatch(
                f"study {study_name!r} was created with metrics={stored_metrics}, not "
                f"{list(metrics)}"
            )
        return cls(storage, study_name, study_id, space, directions,
                   metrics or (tuple(stored_metrics) if stored_metrics else None))

    # -- trials -----------------------------------------------------------------------------
    def distributions_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The Optuna distributions to store ``params`` under (its branch's, for a union)."""
        if len(self._dists) == 1:
            return self._dists[0]
        for branch, dists in zip(self.space.branches, self._dists):  # type: ignore[union-attr]
            if branch.contains(params):
                return dists
        raise ValueError(f"params {dict(params)!r} are outside the space")

    def run_attr(self) -> dict[str, Any]:
        return {"backend": self.backend, "owner": f"{_HOST}:{os.getpid()}"}

    def start(self, params: Mapping[str, Any]) -> tuple[int, int]:
        """Write a RUNNING trial with ``params``; return (trial_id, number)."""
        template = self.engine_storage().running(dict(params), self.distributions_for(params))
        trial_id = self.storage.create_new_trial(self.study_id, template_trial=template)
        self.heartbeat.add(trial_id)
        return trial_id, self.storage.get_trial_number_from_id(trial_id)

    def engine_storage(self) -> OwnedTrials:
        """The storage for an engine that creates its trials itself (Optuna's
        ``Study.ask``): each trial it creates or takes from the queue names its owner from
        its first write, so a process killed mid-ask leaves a trial the next run fails."""
        return OwnedTrials(self.storage, RUN_ATTR, self.run_attr)

    def mark_started(self, trial_id: int) -> None:
        """Keep the heartbeat of a trial an engine created through ``engine_storage``
        (which already wrote its owner)."""
        self.heartbeat.add(trial_id)

    def claim_waiting(self) -> tuple[int, int, dict[str, Any]] | None:
        """Take an enqueued (WAITING) trial, make it RUNNING and ours, set its params."""
        from optuna.trial import TrialState as OTS

        storage = self.engine_storage()  # the owner is written right as the trial is taken
        for frozen in self.storage.get_all_trials(self.study_id, deepcopy=False,
                                                  states=(OTS.WAITING,)):
            if not storage.set_trial_state_values(frozen._trial_id, state=OTS.RUNNING):
                continue
            self.heartbeat.add(frozen._trial_id)
            params = dict(frozen.system_attrs.get("fixed_params", {}))
            dists = self.distributions_for(params)
            for name, value in params.items():
                d = dists[name]
                self.storage.set_trial_param(frozen._trial_id, name, d.to_internal_repr(value), d)
            return frozen._trial_id, frozen.number, params
        return None

    def enqueue(self, params: Mapping[str, Any]) -> None:
        from optuna.trial import FrozenTrial
        from optuna.trial import TrialState as OTS

        template = FrozenTrial(
            number=-1, state=OTS.WAITING, value=None, datetime_start=None,
            datetime_complete=None, params={}, distributions={}, user_attrs={},
            system_attrs={"fixed_params": dict(params)}, intermediate_values={}, trial_id=-1,
        )
        self.storage.create_new_trial(self.study_id, template_trial=template)

    def report(self, trial_id: int, step: int, value: float) -> None:
        with self._unless_taken_over(trial_id):
            self.storage.set_trial_intermediate_value(trial_id, step, value)

    def set_constraints(self, trial_id: int, values: Sequence[float]) -> None:
        self.storage.set_trial_system_attr(trial_id, CONSTRAINTS_ATTR, list(values))

    def set_error(self, trial_id: int, error: str, interrupted: bool = False) -> None:
        with self._unless_taken_over(trial_id):
            self._set_error(trial_id, error, interrupted)

    def _set_error(self, trial_id: int, error: str, interrupted: bool) -> None:
        self.storage.set_trial_system_attr(trial_id, ERROR_ATTR, error)
        if interrupted:
            self.storage.set_trial_system_attr(trial_id, INTERRUPTED_ATTR, True)

    def finish(self, trial_id: int, state: TrialState,
               values: Sequence[float] | None = None) -> None:
        from optuna.trial import TrialState as OTS

        with self._unless_taken_over(trial_id):
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
            self._warn_taken_over(trial_id)

    def taken_over(self, trial_id: int) -> bool:
        """Did another worker fail this RUNNING trial of ours (its heartbeats were late)?
        Only a ledger with heartbeats can tell; its engine (Optuna) leaves it as it is."""
        if not self.heartbeat.enabled or not self.storage.get_trial(trial_id).state.is_finished():
            return False
        self._warn_taken_over(trial_id)
        return True

    def _warn_taken_over(self, trial_id: int) -> None:
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
            params = dict(frozen.params) or dict(frozen.system_attrs.get("fixed_params", {}))
            recovered.append(params)
            if params:
                self.enqueue(params)
        return recovered

    def used_budget(self) -> tuple[int, int, bool]:
        """(trials that count toward ``n_trials``, RUNNING trials of other processes, any
        WAITING trial?): what several processes working on one study share. Finished trials never change,
        so the finished prefix of the study is counted once, not at every call."""
        from optuna.trial import TrialState as OTS

        trials = self.storage.get_all_trials(self.study_id, deepcopy=False)
        settled, lost = self._settled if len(trials) >= self._settled[0] else (0, 0)
        while settled < len(trials) and trials[settled].state.is_finished():
            lost += bool(trials[settled].system_attrs.get(INTERRUPTED_ATTR))
            settled += 1
        self._settled = (settled, lost)
        counted, others, waiting, me = settled - lost, 0, False, self.run_attr()["owner"]
        for frozen in trials[settled:]:
            if frozen.state is OTS.RUNNING:
                counted += 1
                others += (frozen.system_attrs.get(RUN_ATTR) or {}).get("owner") != me
            elif frozen.state.is_finished():
                counted += not frozen.system_attrs.get(INTERRUPTED_ATTR, False)
            else:
                waiting = True
        return counted, others, waiting

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
        backend = getattr(self.storage, "_backend", None)
        if hasattr(backend, "sync"):
            backend.sync()

    # -- reading ----------------------------------------------------------------------------
    def records(self) -> list[TrialRecord]:
        return [to_record(t) for t in self.storage.get_all_trials(self.study_id, deepcopy=False)]

    def result(self, backend: str | None = None, interrupted: bool = False) -> Result:
        return Result(
            study_name=self.study_name, directions=self.directions,
            trials=tuple(r for r in self.records() if r.state is not TrialState.WAITING),
            metrics=self.metrics, backend=backend, interrupted=interrupted,
        )


def counts_toward_budget(record: TrialRecord) -> bool:
    """Finished trials count toward ``n_trials``, except those cut short by a dead process
    or Ctrl-C: they are re-run when the study resumes."""
    return record.state.is_finished() and not record.user_attrs.get(INTERRUPTED_ATTR, False)


def to_record(frozen: Any) -> TrialRecord:
    state = TrialState(frozen.state.name)
    values = frozen.values if state is TrialState.COMPLETE else None
    duration = None
    if frozen.datetime_start is not None and frozen.datetime_complete is not None:
        duration = (frozen.datetime_complete - frozen.datetime_start).total_seconds()
    sysattrs = frozen.system_attrs
    run = sysattrs.get(RUN_ATTR) or {}
    user_attrs = dict(frozen.user_attrs)
    if sysattrs.get(INTERRUPTED_ATTR):
        user_attrs[INTERRUPTED_ATTR] = True
    params = frozen.params if state is not TrialState.WAITING else sysattrs.get("fixed_params", {})
    return TrialRecord(
        number=frozen.number, params=dict(params), state=state,
        values=tuple(values) if values is not None else None,
        intermediate={int(k): float(v) for k, v in frozen.intermediate_values.items()},
        duration=duration, error=sysattrs.get(ERROR_ATTR),
        backend=run.get("backend") if isinstance(run, Mapping) else None,
        datetime_start=frozen.datetime_start, user_attrs=user_attrs,
        constraints=_constraints(sysattrs),
    )


def _constraints(sysattrs: Mapping[str, Any]) -> tuple[float, ...] | None:
    """The trial's constraint values: unitune's (and Optuna's) list under ``constraints``,
    or Optuna 5's per-key ``constraints:<key>`` attributes."""
    listed = sysattrs.get(CONSTRAINTS_ATTR)
    if listed is not None:
        return tuple(float(v) for v in listed)
    keyed = [(k, v) for k, v in sysattrs.items() if k.startswith(f"{CONSTRAINTS_ATTR}:")]
    return tuple(float(v) for _, v in sorted(keyed)) if keyed else None


def open_existing(study_name: str, storage: Any) -> Ledger:
    """The ledger of a study that is already stored (whichever backend ran it)."""
    storage_obj = open_storage(storage)
    try:
        study_id = storage_obj.get_study_id_from_name(study_name)
    except KeyError:
        names = [s.study_name for s in storage_obj.get_all_studies()]
        raise InvalidOption(
            f"study {study_name!r} is not in storage {storage!r}; studies there: "
            f"{names or 'none'}"
        ) from None
    directions = tuple(d.name.lower() for d in storage_obj.get_study_directions(study_id))
    attrs = storage_obj.get_study_user_attrs(study_id)
    space = Space.from_dict(attrs[SPACE_ATTR]) if SPACE_ATTR in attrs else None
    metrics = storage_obj.get_study_system_attrs(study_id).get("study:metric_names")
    return Ledger(storage_obj, study_name, study_id, space, directions,
                  tuple(metrics) if metrics else None)


def load(study_name: str, storage: Any) -> Result:
    """Read a stored study (whichever backend ran it) as a ``Result``."""
    return open_existing(study_name, storage).result()
