"""The ledger: where every trial of every backend is kept, in an Optuna storage.

``storage=None`` keeps trials in memory; a file path gives the embedded durable
store (Optuna's journal file: an append-only log, safe for several processes);
``sqlite:///...``, ``postgresql://...`` and ``mysql://...`` URLs give Optuna's
RDB storage. One schema whichever backend ran the trials, so a study can be
resumed, continued with another backend, listed and plotted (optuna-dashboard
and ``optuna.visualization`` read it as they read any Optuna study).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from unitune.errors import InvalidOption, StudyMismatch
from unitune.records import Result, TrialRecord, TrialState
from unitune.space import Categorical, Distribution, Float, Int, Space

__all__ = ["Ledger", "load", "open_storage", "optuna_distributions"]

SPACE_ATTR = "unitune:space"
RUN_ATTR = "unitune"  # per trial: {"backend": ..., "owner": "host:pid"}
ERROR_ATTR = "unitune:error"
INTERRUPTED_ATTR = "unitune:interrupted"
CONSTRAINTS_ATTR = "constraints"  # Optuna's own key: its samplers read it (<= 0 feasible)

_HOST = socket.gethostname()


def open_storage(storage: Any) -> Any:
    """An Optuna storage from what the user gave (None, a path, a URL or a storage)."""
    import optuna

    _quiet_optuna()
    if storage is None:
        return optuna.storages.InMemoryStorage()
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if isinstance(storage, os.PathLike) or (isinstance(storage, str) and "://" not in storage):
        path = Path(storage)
        if path.is_dir():
            raise InvalidOption(f"storage={str(path)!r} is a directory; give a file path")
        path.parent.mkdir(parents=True, exist_ok=True)
        from unitune._journal import GroupCommitJournalFile

        return optuna.storages.JournalStorage(GroupCommitJournalFile(str(path)))
    if isinstance(storage, str):
        scheme = storage.split("://", 1)[0].split("+", 1)[0]
        if scheme not in ("sqlite", "postgresql", "mysql"):
            raise InvalidOption(
                f"storage={storage!r}: unknown URL scheme {scheme!r}; use a file path, "
                "sqlite:///FILE, postgresql://... or mysql://..."
            )
        try:
            return optuna.storages.RDBStorage(storage)
        except ImportError as exc:
            raise InvalidOption(f"storage={storage!r}: {exc}") from None
    raise InvalidOption(
        f"storage must be None, a file path, a database URL or an Optuna storage, got {storage!r}"
    )


_quieted = False


def _quiet_optuna() -> None:
    """Optuna logs every study and trial at INFO; unitune reports on its own terms. Done
    once, so a user's later ``optuna.logging.set_verbosity`` still wins."""
    global _quieted
    if not _quieted:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        _quieted = True


def optuna_distribution(dist: Distribution) -> Any:
    from optuna import distributions as od

    if isinstance(dist, Float):
        return od.FloatDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, Int):
        return od.IntDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, Categorical):
        return od.CategoricalDistribution(dist.choices)
    raise TypeError(f"not a unitune distribution: {dist!r}")


def optuna_distributions(space: Space) -> dict[str, Any]:
    return {name: optuna_distribution(d) for name, d in space.items()}


def union_distributions(space: Space) -> list[dict[str, Any]]:
    """Per branch of a union, its Optuna distributions. Optuna keeps one categorical value
    set per parameter name in a study, so a categorical that differs between branches
    (``kernel: [linear]`` here, ``[rbf]`` there) is stored over the union of its choices."""
    merged: dict[str, list[Any]] = {}
    for branch in space.branches:
        for name, dist in branch.items():
            if isinstance(dist, Categorical):
                merged[name] = merged.get(name, []) + list(dist.choices)
    out = []
    for branch in space.branches:
        dists = optuna_distributions(branch)
        for name, dist in branch.items():
            if isinstance(dist, Categorical):
                dists[name] = optuna_distribution(Categorical(_dedupe(merged[name])))
        out.append(dists)
    return out


def _dedupe(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(v == o and type(v) is type(o) for o in out):
            out.append(v)
    return out


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
        from datetime import datetime

        from optuna.trial import FrozenTrial
        from optuna.trial import TrialState as OTS

        dists = self.distributions_for(params)
        template = FrozenTrial(
            number=-1, state=OTS.RUNNING, value=None, datetime_start=datetime.now(),
            datetime_complete=None, params=dict(params), distributions=dists, user_attrs={},
            system_attrs={RUN_ATTR: self.run_attr()}, intermediate_values={}, trial_id=-1,
        )
        trial_id = self.storage.create_new_trial(self.study_id, template_trial=template)
        return trial_id, self.storage.get_trial_number_from_id(trial_id)

    def mark_started(self, trial_id: int) -> None:
        """Tag a trial that an engine created itself (Optuna's ask) with its backend and
        owner (a resumed study fails the RUNNING trials of a dead owner)."""
        self.storage.set_trial_system_attr(trial_id, RUN_ATTR, self.run_attr())

    def claim_waiting(self) -> tuple[int, int, dict[str, Any]] | None:
        """Take an enqueued (WAITING) trial, set its params and make it RUNNING."""
        from optuna.trial import TrialState as OTS

        for frozen in self.storage.get_all_trials(self.study_id, deepcopy=False,
                                                  states=(OTS.WAITING,)):
            if not self.storage.set_trial_state_values(frozen._trial_id, state=OTS.RUNNING):
                continue
            params = dict(frozen.system_attrs.get("fixed_params", {}))
            dists = self.distributions_for(params)
            for name, value in params.items():
                d = dists[name]
                self.storage.set_trial_param(frozen._trial_id, name, d.to_internal_repr(value), d)
            self.mark_started(frozen._trial_id)
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
        self.storage.set_trial_intermediate_value(trial_id, step, value)

    def set_constraints(self, trial_id: int, values: Sequence[float]) -> None:
        self.storage.set_trial_system_attr(trial_id, CONSTRAINTS_ATTR, list(values))

    def set_error(self, trial_id: int, error: str, interrupted: bool = False) -> None:
        self.storage.set_trial_system_attr(trial_id, ERROR_ATTR, error)
        if interrupted:
            self.storage.set_trial_system_attr(trial_id, INTERRUPTED_ATTR, True)

    def finish(self, trial_id: int, state: TrialState,
               values: Sequence[float] | None = None) -> None:
        from optuna.trial import TrialState as OTS

        self.storage.set_trial_state_values(trial_id, OTS[state.value],
                                            list(values) if values is not None else None)

    def recover_stale(self) -> list[dict[str, Any]]:
        """Fail the RUNNING trials whose process on this host has died, and enqueue their
        params again so that the resumed study re-runs them. Returns those params."""
        from optuna.trial import TrialState as OTS

        recovered = []
        for frozen in self.storage.get_all_trials(self.study_id, deepcopy=False,
                                                  states=(OTS.RUNNING,)):
            run = frozen.system_attrs.get(RUN_ATTR) or {}
            host, _, pid = str(run.get("owner", "")).rpartition(":")
            if host != _HOST or not pid.isdigit() or _pid_alive(int(pid)):
                continue
            self.set_error(frozen._trial_id,
                           f"interrupted: process {pid} ended while the trial ran",
                           interrupted=True)
            self.storage.set_trial_state_values(frozen._trial_id, OTS.FAIL)
            recovered.append(dict(frozen.params))
            if frozen.params:
                self.enqueue(frozen.params)
        return recovered

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


def load(study_name: str, storage: Any) -> Result:
    """Read a stored study (whichever backend ran it) as a ``Result``."""
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
    ledger = Ledger(storage_obj, study_name, study_id, space, directions,
                    tuple(metrics) if metrics else None)
    return ledger.result()
