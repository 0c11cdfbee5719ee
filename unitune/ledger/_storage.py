"""Opening an Optuna storage from what the user gave: None (memory), a file path (the
embedded journal with group commit), a database URL (Optuna's RDB storage, with trial
heartbeats so that a dead machine's trials are found) or a storage object as it is;
and the view of it an engine's own ``optuna.Study`` writes through (``OwnedTrials``)."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from unitune._secrets import scrub, storage_name
from unitune.errors import InvalidOption, StorageError
from unitune.ledger._budget import BudgetSpent
from unitune.ledger._heartbeat import HEARTBEAT_GRACE, HEARTBEAT_INTERVAL
from unitune.ledger._writable import create_private

__all__ = ["OwnedTrials", "open_storage"]

# A holder of the journal file lock holds it for one append. A lock whose owner is gone
# from this host is broken at once; one of another host (or of a plain Optuna writer,
# which names no owner) untouched for this long was left by a killed process, and is
# broken then (Optuna's default is 30 s).
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
        from unitune.ledger._journal import journal_storage
        from unitune.ledger._lock import OwnedFileLock

        # An absolute path: the lock is FILE.lock, next to the file wherever the process
        # runs (and a plain Optuna writer's lock symlink to it must not dangle).
        file = str(path.absolute())
        _create_private(file)
        return journal_storage(file, OwnedFileLock(file, grace_period=JOURNAL_LOCK_GRACE))
    if isinstance(storage, str):
        return _open_database(storage)
    raise InvalidOption(
        "storage must be None, a file path, a database URL or an Optuna storage, got "
        f"{scrub(repr(storage))}"
    )


def _open_database(url: str) -> Any:
    """Optuna's RDB storage of ``url``, with heartbeats; a URL that cannot be opened is
    one line naming it (password masked) and why."""
    import optuna
    import sqlalchemy.exc

    name = storage_name(url)
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    if scheme not in ("sqlite", "postgresql", "mysql"):
        raise InvalidOption(
            f"storage={name!r}: unknown URL scheme {scheme!r}; use a file path, "
            "sqlite:///FILE, postgresql://... or mysql://..."
        )
    try:
        _check_sqlite_folder(url, name)
        _create_sqlite_file(url)
        rdb = _rdb_storage(url)
    except ImportError as exc:
        raise InvalidOption(f"storage={name!r}: {scrub(str(exc))}") from None
    except sqlalchemy.exc.ArgumentError as exc:
        raise InvalidOption(f"storage={name!r} is not a database URL SQLAlchemy can open: "
                            f"{_first_line(exc)}") from None
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise StorageError(f"storage {name}: cannot connect: {_first_line(exc)}") from None
    # Optuna's cache of finished trials over the database, as optuna.create_study uses
    return optuna.storages.get_storage(rdb)


def _rdb_storage(url: str) -> Any:
    """Optuna's RDB storage, with heartbeats. Several processes that open a new database
    at once (a run and its workers) race to create Optuna's tables: the losers see a
    duplicate table or schema version, and the tables are there when they try again."""
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    attempts = 10  # a loser can lose again while the winner's transaction is open
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_INTERVAL,
                                                  grace_period=HEARTBEAT_GRACE)
        except (IntegrityError, OperationalError, ProgrammingError) as exc:
            created_by_another = isinstance(exc, IntegrityError) or "already exists" in str(exc)
            if not created_by_another or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))  # let the winner commit (~1 s in all at most)
    raise AssertionError("unreachable")


def _check_sqlite_folder(url: str, name: str) -> None:
    """SQLite creates its file, not the folders above it: say so before it fails to."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:") or parsed.query.get("uri"):
        return
    folder = Path(database).parent
    if not folder.is_dir():
        raise StorageError(f"storage {name}: folder {str(folder)!r} does not exist; create "
                           "it, or give a path in an existing folder")


def _first_line(exc: BaseException) -> str:
    """The cause of a database error in one line: the driver's own message (not
    SQLAlchemy's wrapping of it), its last "...failed: " part, without the password."""
    cause = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(cause).splitlines() if ln.strip()]
    text = lines[0] if lines else type(cause).__name__
    text = text.rpartition("failed: ")[2] or text
    text = text.removeprefix("FATAL:").strip()
    return scrub(" ".join(text.split()))


def _create_private(file: str) -> None:
    """``create_private``, its failure in one line naming the file."""
    try:
        create_private(file)
    except OSError as exc:
        raise InvalidOption(f"storage {file!r} cannot be created: {exc.strerror}") from None


def _create_sqlite_file(url: str) -> None:
    """The database file of a ``sqlite:///FILE`` URL created as ``_create_private`` does
    before SQLAlchemy creates it (with the umask's mode); SQLite gives its journal and
    WAL files the mode of the database file."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url.startswith("sqlite"):
        return
    try:
        database = make_url(url).database
    except ArgumentError:  # refused with its reason by RDBStorage next
        return
    if database and database != ":memory:" and not database.startswith("file:"):
        _create_private(database)


class OwnedTrials:
    """The ledger's storage as an engine's own ``optuna.Study`` writes through: a trial
    the engine creates carries its owner (``attr``: backend and host:pid) in the very
    record that creates it, and a queued trial the engine takes gets its owner in the
    next write. A process killed while its engine samples therefore leaves a trial that
    names its dead owner, which the next run fails and re-runs, instead of an ownerless
    RUNNING trial that no one could tell from another process's live one.

    Everything else goes to the storage unchanged."""

    def __init__(self, storage: Any, attr: str, owner: Callable[[], dict[str, Any]],
                 reserve: Callable[[], AbstractContextManager[bool]]) -> None:
        self._storage = storage
        self._attr = attr
        self._owner = owner
        self._reserve = reserve

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def create_new_trial(self, study_id: int, template_trial: Any = None) -> int:
        if template_trial is None:  # what Study.ask creates: a bare RUNNING trial
            template_trial = self.running()
        with self._reserve() as granted:
            if not granted:
                raise BudgetSpent("the study's n_trials are all taken")
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

        if state is not TrialState.RUNNING:
            return self._storage.set_trial_state_values(trial_id, state, values)
        with self._reserve() as granted:  # a queued trial taken: it counts from now on
            if not granted:
                return False
            taken = self._storage.set_trial_state_values(trial_id, state, values)
            if taken:
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
