"""The embedded durable store: Optuna's journal file with group commit.

Optuna's ``JournalFileBackend`` fsyncs every append, and an Optuna trial is four or
five appends (create, each param, state): on this project's disks an fsync costs
about 3 ms, so ~15 ms a trial. Here each append is still written and flushed to the
operating system at once, under the file lock (``_lock.py``), in Optuna's format (a process
that is killed loses nothing, other processes see it immediately, and Optuna's own
tools read the file), while the fsync to the disk happens at most once every
``sync_interval`` seconds and when the study ends, so only a power cut can lose the
trials of that last interval: the trade-off databases call group commit.

What is not a journal is refused with one line naming the file, which is left as it
is: a file whose first line is not a journal record (a JSON object with an
``op_code``), and a journal with a line that is not one (``journal_storage``,
``read_logs``). Every writer appends whole lines, each ending with a newline, under
the lock, so the one damage a kill (or a power cut) leaves is a last line without its
newline: after complete records, that line is ignored by readers and cut before the
next append (Optuna would otherwise refuse the file once another line follows it).
A newline-terminated line that is not a record is not what a kill leaves: something
else wrote it, or the disk damaged the file. It is refused, not cut, since cutting
would destroy bytes whose meaning is unknown, and appending after it would leave a
file that neither unitune nor Optuna can open.

Reading is cheaper too: Optuna re-reads the log before every storage read, opening
the file each time; here a ``stat`` that shows nothing new was appended skips that.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import stat
import threading
import time
import weakref
from collections.abc import Generator, Iterator
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial

from unitune.errors import InvalidOption

__all__ = ["GroupCommitJournalFile", "Journal", "journal_storage"]

logger = logging.getLogger("unitune")
_open: weakref.WeakSet[GroupCommitJournalFile] = weakref.WeakSet()
_CHUNK = 65536


class GroupCommitJournalFile(JournalFileBackend):
    def __init__(self, file_path: str, sync_interval: float = 1.0,
                 lock_obj: Any = None) -> None:
        super().__init__(file_path, lock_obj=lock_obj)
        self._sync_interval = sync_interval
        self._last_sync = time.monotonic()
        self._dirty = False
        self._sync_lock = threading.Lock()
        self._end: int | None = None  # the file's size after this writer's last append
        self.line = 0  # the line of the last record read
        self.torn_tail = False  # the last read ended at a line without its newline
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
        """Optuna's reader (line N is record N - 1), which refuses a line that is not a
        record wherever it is, instead of skipping a last one, and notes a last line
        without its newline (a write in progress, or a killed writer's) in
        ``torn_tail``."""
        size = os.stat(self._file_path).st_size
        offsets = self._log_number_offset
        if offsets.get(log_number_from) == size:
            return  # nothing appended since the last read
        with open(self._file_path, "rb") as f:
            first = log_number_from if log_number_from in offsets else 0
            f.seek(offsets[first])
            remaining = size - offsets[first]
            self.torn_tail = False
            for number, line in enumerate(f, start=first):
                remaining -= len(line)
                if remaining < 0:
                    break  # appended after the size was read
                if not line.endswith(b"\n"):
                    self.torn_tail = True
                    break
                record = _record(line)
                if record is None:
                    raise InvalidOption(_bad_line(self._file_path, number + 1, line))
                offsets.setdefault(number + 1, offsets[number] + len(line))
                if number >= log_number_from:
                    self.line = number + 1
                    yield record

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        with self.hold(), open(self._file_path, "a+b") as f:
            end = f.seek(0, os.SEEK_END)
            if end != self._end:  # another writer, or a kill, was here since
                _check_tail(f, end, self._file_path)
            f.write(data.encode("utf-8"))
            f.flush()
            self._end = f.tell()
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


def journal_storage(path: str, lock: Any) -> Any:
    """The journal file at ``path`` (which exists) as an Optuna storage; refuses, with
    one line and leaving the file as it is, a file that is not a journal."""
    _check_head(path)
    backend = GroupCommitJournalFile(path, lock_obj=lock)
    try:
        storage = Journal(backend)
    except InvalidOption:
        raise
    except (LookupError, TypeError, ValueError, AttributeError, AssertionError) as exc:
        raise InvalidOption(
            f"storage {path!r} line {backend.line} is a record Optuna cannot replay "
            f"({type(exc).__name__}: {exc}); the file was left unchanged") from None
    if backend.torn_tail and _still_torn(backend, lock):
        logger.warning("last line of %r is incomplete (a writer was killed mid-write); "
                       "it is ignored", path)
    return storage


def _check_head(path: str) -> None:
    """Refuse at once what cannot be a journal, without reading it all."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO, a device: not opened
            raise InvalidOption(_not_a_journal(path, "it is not a regular file"))
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise InvalidOption(f"storage {path!r} cannot be read: {exc.strerror}") from None
    if head.startswith(b"SQLite format 3\0"):
        raise InvalidOption(_not_a_journal(
            path, f"it is an SQLite database: give storage='sqlite:///{path}'"))
    if head and not head.startswith(b"{"):
        raise InvalidOption(_not_a_journal(path, "its first line is not a journal record"))


def _still_torn(backend: GroupCommitJournalFile, lock: Any) -> bool:
    """Whether the line without its newline is still there under the lock (no writer is
    then in the middle of it: a killed one left it); refuses a file that holds nothing
    but such a line. Without the right to take the lock, what was read is believed."""
    try:
        lock.acquire()
    except OSError:
        torn, complete = True, backend.line > 0
    else:
        try:
            with open(backend._file_path, "rb") as f:
                end = f.seek(0, os.SEEK_END)
                last, _ = _last_newlines(f.fileno(), end)
                torn, complete = last + 1 < end, last >= 0
        finally:
            lock.release()
    if torn and not complete:
        raise InvalidOption(_not_a_journal(
            backend._file_path, "it holds no complete line, only bytes without a newline"))
    return torn


def _record(line: bytes) -> dict[str, Any] | None:
    """The journal record a line holds, or None."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if isinstance(record, dict) and isinstance(record.get("op_code"), int):
        return record
    return None


def _not_a_journal(path: str, why: str) -> str:
    return (f"storage {path!r} is not a unitune/Optuna journal file ({why}); it was left "
            "unchanged: give the path of a journal, or of a file that does not exist yet")


def _bad_line(path: str, number: int, line: bytes) -> str:
    if number == 1:
        return _not_a_journal(path, "its first line is not a journal record")
    try:
        json.loads(line)
        why = "JSON, but not a journal record"
    except ValueError:
        why = "not JSON"
    return (f"storage {path!r} line {number} is not a journal record ({why}); the file "
            "was left unchanged: repair or remove that line (a writer killed mid-write "
            "leaves only a last line without its newline; this one was written by "
            "something else)")


def _last_newlines(fd: int, end: int) -> tuple[int, int]:
    """The offsets of the last newline before ``end`` and of the one before it (-1
    where there is none)."""
    found: list[int] = []
    stop = end
    while stop > 0 and len(found) < 2:
        start = max(0, stop - _CHUNK)
        chunk = os.pread(fd, stop - start, start)
        at = len(chunk)
        while len(found) < 2 and (at := chunk.rfind(b"\n", 0, at)) >= 0:
            found.append(start + at)
        stop = start
    found += [-1, -1]
    return found[0], found[1]


def _check_tail(f: Any, end: int, path: str) -> None:
    """Before an append, under the lock: the last complete line must be a record (else
    refuse: appending after it would bury it); a line after it without its newline is
    what a writer killed mid-write left, and is cut (a line appended after it would merge
    with it into one that no reader can decode). A file of nothing but such a line is
    not a journal, and is refused."""
    if end == 0:
        return
    fd = f.fileno()
    last, before = _last_newlines(fd, end)
    if last < 0:
        raise InvalidOption(_not_a_journal(
            path, "it holds no complete line, only bytes without a newline"))
    line = os.pread(fd, last - before, before + 1)
    if _record(line) is None:
        raise InvalidOption(_bad_line(path, _line_number(fd, before + 1), line))
    if last + 1 < end:
        logger.info("cut the last %d bytes of %r: a line without its newline, left by a "
                    "writer killed mid-write", end - last - 1, path)
        f.truncate(last + 1)


def _line_number(fd: int, offset: int) -> int:
    """The number of the line that starts at ``offset``."""
    newlines, at = 0, 0
    while at < offset:
        chunk = os.pread(fd, min(_CHUNK, offset - at), at)
        newlines += chunk.count(b"\n")
        at += len(chunk)
    return newlines + 1


@atexit.register
def _sync_all() -> None:
    for backend in list(_open):
        backend.sync()
