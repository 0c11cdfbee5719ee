"""Opening an Optuna storage from what the user gave: None (memory), a file path (the
embedded journal with group commit), a database URL (Optuna's RDB storage, with trial
heartbeats so that a dead machine's trials are found) or a storage object as it is."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from unitune._heartbeat import HEARTBEAT_GRACE, HEARTBEAT_INTERVAL
from unitune.errors import InvalidOption

__all__ = ["open_storage"]


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


_quieted = False


def _quiet_optuna() -> None:
    """Optuna logs every study and trial at INFO; unitune reports on its own terms. Done
    once, so a user's later ``optuna.logging.set_verbosity`` still wins."""
    global _quieted
    if not _quieted:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        _quieted = True
