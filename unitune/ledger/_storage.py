"""Opening an Optuna storage from what the user gave: None (memory), a file path (the
embedded journal with group commit), a database URL (Optuna's RDB storage, with trial
heartbeats so that a dead machine's trials are found) or a storage object as it is;
and the view of it an engine's own ``optuna.Study`` writes through (``OwnedTrials``)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from unitune.errors import InvalidOption
from unitune.ledger._heartbeat import HEARTBEAT_GRACE, HEARTBEAT_INTERVAL

__all__ = ["OwnedTrials", "open_storage"]

# A holder of the journal file lock holds it for one append: a lock untouched for this
# long was left by a killed process, and is broken (Optuna's default is 30 s).
JOURNAL_LOCK_GRACE = 10


def open_storage(storage: Any) -> Any:
    """An Optuna storage from what the user gave (None, a path, a URL or a storage)."""
    import optuna

    _quiet_optuna()
    if storage is None:
        return optuna.storages.InMemoryStorage()
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if isinstance(storage, str) and not storage.strip():
        raise InvalidOption(f"storage={storage!r} is empty; give a journal file path or a "
                            "database URL (storage=None keeps the study in memory)")
    if isinstance(storage, os.PathLike) or (isinstance(storage, str) and "://" not in storage):
        path = Path(storage)
        if path.is_dir():
            raise InvalidOption(f"storage={str(path)!r} is a directory; give a file path")
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileSymlinkLock

        from unitune.ledger._journal import GroupCommitJournalFile

        # An absolute path: Optuna's lock is a symlink to the file, and a relative target
        # would resolve against the link's own folder, dangle, and hide a lock left by a
        # killed process from Optuna's stale-lock check (the next run would wait forever).
        file = str(path.absolute())
        return optuna.storages.JournalStorage(GroupCommitJournalFile(
            file, lock_obj=JournalFileSymlinkLock(file, grace_period=JOURNAL_LOCK_GRACE)))
    if isinstance(storage, str):
        scheme = storage.split("://", 1)[0].split("+", 1)[0]
        if scheme not in ("sqlite", "postgresql", "mysql"):
            raise InvalidOption(
                f"storage={storage!r}: unknown URL scheme {scheme!r}; use a file path, "
                "sqlite:///FILE, postgresql://... or mysql://..."
            )
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                rdb = optuna.storages.RDBStorage(storage, heartbeat_interval=HEARTBEAT_INTERVAL,
                                                 grace_period=HEARTBEAT_GRACE)
        except ImportError as exc:
            raise InvalidOption(f"storage={storage!r}: {exc}") from None
        # Optuna's cache of finished trials over the database, as optuna.create_study uses
        return optuna.storages.get_storage(rdb)
    raise InvalidOption(
        f"storage must be None, a file path, a database URL or an Optuna storage, got {storage!r}"
    )


class OwnedTrials:
    """The ledger's storage as an engine's own ``optuna.Study`` writes through: a trial
    the engine creates carries its owner (``attr``: backend and host:pid) in the very
    record that creates it, and a queued trial the engine takes gets its owner in the
    next write. A process killed while its engine samples therefore leaves a trial that
    names its dead owner, which the next run fails and re-runs, instead of an ownerless
    RUNNING trial that no one could tell from another process's live one.

    Everything else goes to the storage unchanged."""

    def __init__(self, storage: Any, attr: str, owner: Callable[[], dict[str, Any]]) -> None:
        self._storage = storage
        self._attr = attr
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def create_new_trial(self, study_id: int, template_trial: Any = None) -> int:
        if template_trial is None:  # what Study.ask creates: a bare RUNNING trial
            template_trial = self.running()
        return self._storage.create_new_trial(study_id, template_trial=template_trial)

    def running(self, params: dict[str, Any] | None = None,
                distributions: dict[str, Any] | None = None) -> Any:
        """A RUNNING trial started now, owned by this process, to create in one write."""
        from optuna.trial import FrozenTrial, TrialState

        return FrozenTrial(
            number=-1, state=TrialState.RUNNING, value=None, datetime_start=datetime.now(),
            datetime_complete=None, params=params or {}, distributions=distributions or {},
            user_attrs={}, system_attrs={self._attr: self._owner()}, intermediate_values={},
            trial_id=-1)

    def set_trial_state_values(self, trial_id: int, state: Any,
                               values: Any = None) -> bool:
        from optuna.trial import TrialState

        taken = self._storage.set_trial_state_values(trial_id, state, values)
        if taken and state is TrialState.RUNNING:  # Study.ask took a queued trial
            self._storage.set_trial_system_attr(trial_id, self._attr, self._owner())
        return taken


_quieted = False


def _quiet_optuna() -> None:
    """Optuna logs every study and trial at INFO; unitune reports on its own terms. Done
    once, so a user's later ``optuna.logging.set_verbosity`` still wins."""
    global _quieted
    if not _quieted:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        _quieted = True
