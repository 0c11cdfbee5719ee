"""The study's budget, shared by every process that works on it, kept exact.

``n_trials`` is the number of trials the study must end with. Several processes
(``unitune run`` and its ``unitune worker``s) each count what the study holds before
they start a trial; a count and the write that follows are two steps, and two
processes that both count 79 of 80 both start one: 81. Optuna's
``MaxTrialsCallback`` has the same race.

Here the count and the write of the new RUNNING trial happen under one lock that every
unitune process working on the study takes (``Budget.reserve``):

- the embedded journal: the journal's own file lock, held across both steps;
- SQLite: an advisory ``flock`` on the database file (SQLite's own locks are POSIX
  record locks, independent of it; SQLite is local to one host anyway);
- PostgreSQL: a session advisory lock (``pg_advisory_lock``) on a connection of its
  own, which the server frees if the process dies;
- memory: a thread lock (no other process can see the study);
- another storage (MySQL, a storage object): a thread lock, so the count is exact
  within a process but not across processes (said in the README).

A reservation that is refused writes nothing: no trial shows for it.

The count itself is incremental (``Count``): trials are numbered in the order they are
created, a finished trial never changes, so only the trials created since the last
count and those still unfinished then are read again. The embedded journal hands out
the trials after a given position without listing the whole study
(``trials_from``), Optuna's cache over a database refreshes what changed in one query
and is read by trial number; other storages are listed (Optuna's own loop lists them
too).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from typing import Any

from unitune.ledger._keys import INTERRUPTED_ATTR, RUN_ATTR
from unitune.ledger._stale import holds_budget

__all__ = ["Budget", "BudgetSpent", "Count", "TrialsRead"]

# The first key of the two-key advisory lock: "unitune budget", in a namespace of ours.
_PG_LOCK_CLASS = 0x756E7462


class BudgetSpent(Exception):
    """Raised through an engine's own ``Study.ask`` when the study's budget is spent."""


class TrialsRead:
    """A study's trials read incrementally: ``read()`` gives the trials that finished
    since the last read (created since, or unfinished at it) and those unfinished now.
    Not thread-safe: its caller holds a lock."""

    def __init__(self, storage: Any, study_id: int) -> None:
        self._storage = storage
        self._study_id = study_id
        self._seen = 0  # trials [0, seen) have been classified
        self._open: dict[int, int] = {}  # trial_id -> index, for unfinished seen trials

    def read(self) -> tuple[list[Any], list[Any]]:
        """(the trials finished since the last read, the unfinished ones)"""
        new, pending = self._fetch()
        finished = []
        for frozen in new:
            if frozen.state.is_finished():
                finished.append(frozen)
            else:
                self._open[frozen._trial_id] = self._seen
            self._seen += 1
        unfinished = []
        for frozen in pending:
            if frozen.state.is_finished():
                del self._open[frozen._trial_id]
                finished.append(frozen)
            else:
                unfinished.append(frozen)
        return finished, unfinished

    def _fetch(self) -> tuple[list[Any], list[Any]]:
        """(trials created since the last read, the unfinished ones, new ones included)."""
        trials_from = getattr(self._storage, "trials_from", None)
        cached = None if trials_from else _cached_trials(self._storage, self._study_id)
        if trials_from is not None:
            new = trials_from(self._study_id, self._seen)
            old = [self._storage.get_trial(trial_id) for trial_id in self._open]
        elif cached is not None:
            new = [cached[number] for number in range(self._seen, len(cached))]
            old = [cached[number] for number in self._open.values()]
        else:
            trials = self._storage.get_all_trials(self._study_id, deepcopy=False)
            new = trials[self._seen:]
            old = [trials[index] for index in self._open.values()]
        return new, old + [t for t in new if not t.state.is_finished()]


class Count:
    """How many trials of a study count toward ``n_trials``, read incrementally."""

    def __init__(self, storage: Any, study_id: int, me: str) -> None:
        self._trials = TrialsRead(storage, study_id)
        self._me = me
        self._done = 0  # finished trials read so far that count
        self._lock = threading.Lock()

    def __call__(self) -> tuple[int, int, bool]:
        """(trials that count, RUNNING trials of other processes, any WAITING trial?)"""
        from optuna.trial import TrialState as OTS

        with self._lock:
            finished, unfinished = self._trials.read()
            self._done += sum(not frozen.system_attrs.get(INTERRUPTED_ATTR, False)
                              for frozen in finished)
            running = others = 0
            waiting = False
            for frozen in unfinished:
                if frozen.state is OTS.RUNNING:
                    if not holds_budget(frozen):  # no unitune process runs it: _stale.py
                        continue
                    running += 1
                    others += (frozen.system_attrs.get(RUN_ATTR) or {}).get("owner") != self._me
                else:
                    waiting = True
            return self._done + running, others, waiting


def _cached_trials(storage: Any, study_id: int) -> dict[int, Any] | None:
    """The trials of a study by number, from Optuna's cache over a database
    (``_CachedStorage``) brought up to date in one query (the unfinished trials and
    those created since), without the sorted copy of the whole study that
    ``get_all_trials`` makes; None for another storage."""
    read = getattr(storage, "_read_trials_from_remote_storage", None)
    studies = getattr(storage, "_studies", None)
    if read is None or not isinstance(studies, dict):
        return None
    read(study_id)
    trials = getattr(studies.get(study_id), "trials", None)
    return trials if isinstance(trials, dict) else None


class Budget:
    """``n_trials`` of a shared study, and the lock under which a trial may take one."""

    def __init__(self, storage: Any, study_id: int, limit: int, count: Count) -> None:
        self.limit = limit
        self.count = count
        self._lock = _lock_for(storage, study_id)

    @contextlib.contextmanager
    def reserve(self) -> Iterator[bool]:
        """Yield True if one more trial may start; the caller writes it inside the block,
        and no other unitune process can count or start one until the block ends."""
        with self._lock():
            used, _, _ = self.count()
            yield used < self.limit


def _lock_for(storage: Any, study_id: int) -> Any:
    """A context manager factory: the cross-process lock of this storage."""
    backend = getattr(storage, "_backend", None)
    hold = getattr(backend, "hold", None)
    if callable(hold):  # unitune's embedded journal
        return hold
    engine: Any = getattr(backend, "engine", None)
    dialect = getattr(getattr(engine, "dialect", None), "name", None)
    if dialect == "postgresql":
        return _pg_lock(engine, study_id)
    if dialect == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return _flock(engine.url.database)
    thread_lock = threading.Lock()
    return lambda: thread_lock


def _pg_lock(engine: Any, study_id: int) -> Any:
    from sqlalchemy import text

    threads = threading.Lock()  # one connection per ledger: its threads take turns

    @contextlib.contextmanager
    def hold() -> Iterator[None]:
        with threads, engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:a, :b)"),
                         {"a": _PG_LOCK_CLASS, "b": study_id})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"),
                             {"a": _PG_LOCK_CLASS, "b": study_id})
                conn.commit()

    return hold


def _flock(path: str) -> Any:
    threads = threading.Lock()  # flock is per open file: threads of a process take turns

    @contextlib.contextmanager
    def hold() -> Iterator[None]:
        with threads:
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    return hold
