"""Heartbeats for the trials this process runs, so that a trial whose machine died is
found by the processes that carry on the study.

A trial's owner on the same host is known dead by its pid (``Ledger.recover_stale``).
A trial run by another machine against a shared database ledger can only be known
dead by its silence. Optuna's RDB storage keeps a heartbeat table for exactly this
(``heartbeat_interval``, ``grace_period``), and ``study.optimize`` feeds it for its own
trials; unitune owns its loop, so this thread feeds it for the trials of this process.
Storages without heartbeats (the journal file, memory) make every call here a no-op.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["HEARTBEAT_GRACE", "HEARTBEAT_INTERVAL", "Heartbeat"]

logger = logging.getLogger("unitune")

# For the database URLs unitune opens itself. A trial silent for HEARTBEAT_GRACE seconds
# is failed and re-run by the next process that opens or works on the study. Pass an
# ``optuna.storages.RDBStorage(url, heartbeat_interval=..., grace_period=...)`` as
# ``storage`` to choose others.
HEARTBEAT_INTERVAL = 30
HEARTBEAT_GRACE = 120


class Heartbeat:
    """Records a heartbeat for each trial this process runs, every interval, from one
    daemon thread (started with the first trial, stopped by ``close``)."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        get_interval = getattr(storage, "get_heartbeat_interval", None)
        self.interval: int | None = get_interval() if callable(get_interval) else None
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.interval is not None

    @property
    def grace(self) -> float | None:
        if self.interval is None:
            return None
        grace = getattr(self.storage, "grace_period", None)
        backend = getattr(self.storage, "_backend", None)  # Optuna's cache over RDBStorage
        grace = grace if grace is not None else getattr(backend, "grace_period", None)
        return grace if grace is not None else 2 * self.interval  # Optuna's own default

    def add(self, trial_id: int) -> None:
        """Beat now for a trial that starts, and every interval until it ends."""
        if self.interval is None:
            return
        self.storage.record_heartbeat(trial_id)
        with self._lock:
            self._ids.add(trial_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="unitune-heartbeat",
                                                daemon=True)
                self._thread.start()

    def remove(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    def stale_trial_ids(self, study_id: int) -> set[int]:
        """The RUNNING trials whose last heartbeat is older than the grace period."""
        if self.interval is None:
            return set()
        return set(self.storage._get_stale_trial_ids(study_id))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                ids = list(self._ids)
            for trial_id in ids:
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception:  # noqa: BLE001 - a missed beat must not kill the trial
                    logger.warning("could not record the heartbeat of trial id %s", trial_id,
                                   exc_info=True)
