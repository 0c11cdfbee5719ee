"""The embedded durable store: Optuna's journal file with group commit.

Optuna's ``JournalFileBackend`` fsyncs every append, and an Optuna trial is four or
five appends (create, each param, state): on this project's disks an fsync costs
about 3 ms, so ~15 ms a trial. Here each append is still written and flushed to the
operating system at once, under Optuna's file lock, in Optuna's format (a process
that is killed loses nothing, other processes see it immediately, and Optuna's own
tools read the file), while the fsync to the disk happens at most once every
``sync_interval`` seconds and when the study ends, so only a power cut can lose the
trials of that last interval: the trade-off databases call group commit.

A line left half-written by a writer killed mid-append is cut before the next append
(Optuna would otherwise refuse the file once another line follows it).

Reading is cheaper too: Optuna re-reads the log before every storage read, opening
the file each time; here a ``stat`` that shows nothing new was appended skips that.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
import time
import weakref
from collections.abc import Generator, Iterator
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial

__all__ = ["GroupCommitJournalFile", "Journal"]

_open: weakref.WeakSet[GroupCommitJournalFile] = weakref.WeakSet()


class GroupCommitJournalFile(JournalFileBackend):
    def __init__(self, file_path: str, sync_interval: float = 1.0,
                 lock_obj: Any = None) -> None:
        super().__init__(file_path, lock_obj=lock_obj)
        self._sync_interval = sync_interval
        self._last_sync = time.monotonic()
        self._dirty = False
        self._sync_lock = threading.Lock()
        self._holder = threading.local()
        _open.add(self)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the file lock across several steps (a count and the trial it allows):
        this thread's appends meanwhile go through; other writers wait."""
        if getattr(self._holder, "held", False):
            yield
            return
        self._lock.acquire()
        self._holder.held = True
        try:
            yield
        finally:
            self._holder.held = False
            self._lock.release()

    def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
        known_end = self._log_number_offset.get(log_number_from)
        if known_end is not None and known_end == os.stat(self._file_path).st_size:
            return  # nothing appended since the last read
        yield from super().read_logs(log_number_from)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        with self.hold():
            with open(self._file_path, "a+b") as f:
                _drop_torn_tail(f)
                f.write(data.encode("utf-8"))
                f.flush()
                now = time.monotonic()
                if now - self._last_sync >= self._sync_interval:
                    os.fsync(f.fileno())
                    self._last_sync, self._dirty = now, False
                else:
                    self._dirty = True

    def sync(self) -> None:
        """Force what was written to the disk (called when a study ends and at exit)."""
        with self._sync_lock:
            if not self._dirty or not os.path.exists(self._file_path):
                return
            fd = os.open(self._file_path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._last_sync, self._dirty = time.monotonic(), False


class Journal(JournalStorage):
    """Optuna's journal storage, which can also hand out the trials of a study after a
    position without listing the whole study (``Count`` reads the new trials so)."""

    def trials_from(self, study_id: int, start: int) -> list[FrozenTrial]:
        with self._thread_lock:
            self._sync_with_backend()
            replay = self._replay_result
            try:
                ids = replay._study_id_to_trial_ids[study_id]
                return [replay._trials[trial_id] for trial_id in ids[start:]]
            except AttributeError:  # another Optuna's internals: list the study
                return replay.get_all_trials(study_id, None)[start:]


def _drop_torn_tail(f: Any) -> None:
    """Cut a last line that does not end the file with a newline: every writer appends
    whole lines under the lock, so, seen under the lock, such a line is what a writer
    killed mid-write (or a power cut) left. Optuna's reader skips it while it is last,
    but a line appended after it would merge with it into one undecodable line, and
    Optuna refuses the whole file after an undecodable line."""
    end = f.seek(0, os.SEEK_END)
    if end == 0 or os.pread(f.fileno(), 1, end - 1) == b"\n":
        return
    start = max(0, end - 65536)
    while True:
        chunk = os.pread(f.fileno(), end - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            f.truncate(start + cut + 1)
            return
        if start == 0:
            f.truncate(0)
            return
        start = max(0, start - 65536)


@atexit.register
def _sync_all() -> None:
    for backend in list(_open):
        backend.sync()
