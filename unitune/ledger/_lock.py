"""The journal file's lock, which names its owner, so that a lock left by a killed
process is broken at once.

Optuna's ``JournalFileSymlinkLock`` is a symlink ``FILE.lock`` that a killed writer
leaves behind; the next writer breaks it only once it has stood still for a grace
period, counted from when that writer first saw it (so a run restarted more often
than that never got on). Here the lock is the same path, created exclusively too, but
as a file that holds its owner's record from the instant it exists: host, pid
namespace, boot, pid and the pid's start time. A waiter on the same host breaks it at
once when that process is gone, a zombie, or a newer process that reuses its pid. A
lock of another host (or of another boot), or one without an owner (a plain Optuna
writer's symlink), keeps the time rule. A lock whose owner is alive on this host is never broken: it may be
stopped (Ctrl-Z), and would write again on resuming.

Plain Optuna writers on the same file exclude and are excluded as before: their
``os.symlink`` fails while this lock exists (``EEXIST``), and this lock's ``link``
fails while their symlink exists.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import socket
import stat
import threading
import time
import uuid
from typing import Any

__all__ = ["OwnedFileLock", "owner_is_dead", "this_process"]

logger = logging.getLogger("unitune")

_WAIT_WARNING = 10.0  # seconds between two "still waiting" warnings
_identity: tuple[int, dict[str, Any]] | None = None


def _read(path: str) -> str:
    with open(path, "rb") as f:
        return f.read(4096).decode("utf-8", "replace")


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first), or None
    where there is no /proc (or the process is gone)."""
    try:
        text = _read(f"/proc/{pid}/stat")
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def _namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _boot() -> str | None:
    try:
        return _read("/proc/sys/kernel/random/boot_id").strip()
    except OSError:
        return None


def this_process() -> dict[str, Any]:
    """Who this process is, as a lock records it (computed once per process)."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        fields = _proc_stat(pid)
        _identity = (pid, {"host": socket.gethostname(), "pidns": _namespace(),
                           "boot": _boot(), "pid": pid,
                           "start": fields[19] if fields and len(fields) > 19 else None})
    return _identity[1]


def owner_is_dead(owner: dict[str, Any]) -> bool | None:
    """True if the process a lock names is known to be gone (it ran on this host, in
    this boot); False if it is alive here; None if it ran elsewhere (or names no one)."""
    me = this_process()
    # Another boot is another machine of the same name as well as this one restarted:
    # a machine's pids are only known to it, so such a lock keeps the time rule.
    if any(owner.get(key) != me[key] for key in ("host", "pidns", "boot")):
        return None
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    fields = _proc_stat(pid)
    if fields is None:
        return me["start"] is not None  # /proc exists here, so the pid is gone
    if fields[0] in ("Z", "X"):  # killed, not yet reaped
        return True
    start = fields[19] if len(fields) > 19 else None
    return owner.get("start") is not None and start != owner["start"]  # the pid reused


def _who(owner: dict[str, Any] | None) -> str:
    if not owner:
        return "a writer that names no owner (plain Optuna?)"
    return f"process {owner.get('pid')} on {owner.get('host')}"


class OwnedFileLock:
    """An exclusive lock on ``FILE`` (the path ``FILE.lock``) that names its owner; what
    Optuna's ``JournalFileBackend`` takes as its ``lock_obj``.

    The lock appears with its owner already in it: each process writes its record once
    to its own file ``FILE.lock.ID.owner`` and takes the lock by hard-linking that file
    to ``FILE.lock`` (one atomic ``link``, the classic lock that NFS keeps too), so no
    kill can leave a lock without its owner. The owner file goes when the process exits;
    one left by a killed process is removed by the next process that breaks its lock or
    takes the lock for the first time."""

    def __init__(self, file_path: str, grace_period: float) -> None:
        self._lock_file = file_path + ".lock"
        self.grace_period = grace_period

    def acquire(self) -> bool:
        mutex = _mutex(self._lock_file)
        mutex.acquire()  # one thread of this process at a time: they wait here, not on disk
        try:
            self._take()
        except BaseException:  # interrupted (Ctrl-C) while taking it, maybe just after
            with contextlib.suppress(RuntimeError):
                self._remove_mine()
            mutex.release()
            raise
        return True

    def release(self) -> None:
        """Remove the lock if this process holds it (a lock broken meanwhile by the time
        rule and taken by another writer is left to that writer)."""
        try:
            self._remove_mine()
        finally:
            _mutex(self._lock_file).release()

    def _take(self) -> None:
        delay = 0.001
        seen: tuple[Any, ...] | None = None
        since = last_warning = time.monotonic()
        while True:
            name, inode = _owner_file(self._lock_file)
            try:
                os.link(name, self._lock_file)
                return
            except FileNotFoundError:  # the owner file was removed by hand: write it again
                _owner_files.pop((os.getpid(), self._lock_file), None)
                continue
            except FileExistsError:
                pass
            held = self._holder()
            if held is None:
                continue  # released meanwhile
            ident, owner = held
            if ident != seen:
                seen, since = ident, time.monotonic()
            # this process's own lock, while no thread of it holds it (the mutex): left
            # by an interruption between taking it and knowing it
            dead = True if ident[0] == inode else owner_is_dead(owner) if owner else None
            waited = time.monotonic() - since
            if dead or (dead is None and waited > self.grace_period):
                self._break(ident, owner, "its owner is gone" if dead else
                            f"it stood still for {waited:.0f} s")
                delay = 0.001
                continue
            if time.monotonic() - last_warning > _WAIT_WARNING:
                last_warning = time.monotonic()
                logger.warning("waiting %.0f s for the lock %s, held by %s", waited,
                               self._lock_file, _who(owner))
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _remove_mine(self) -> None:
        _, inode = _owner_file(self._lock_file)
        try:
            if os.lstat(self._lock_file).st_ino == inode:
                os.unlink(self._lock_file)
                return
        except FileNotFoundError:
            pass
        raise RuntimeError(f"the lock {self._lock_file} is not held by this process")

    def _holder(self) -> tuple[tuple[Any, ...], dict[str, Any] | None] | None:
        """(what identifies the lock there now, the owner it records), None if gone."""
        try:
            st = os.lstat(self._lock_file)
            text = (os.readlink(self._lock_file) if stat.S_ISLNK(st.st_mode)
                    else _read(self._lock_file))
        except FileNotFoundError:
            return None
        try:
            owner = json.loads(text)
        except ValueError:
            owner = None  # a plain Optuna symlink, or an owner killed before writing
        return (st.st_ino, text), owner if isinstance(owner, dict) else None

    def _break(self, ident: tuple[Any, ...], owner: dict[str, Any] | None, why: str) -> None:
        """Remove the lock seen as ``ident``; one another writer took meanwhile is put
        back (renamed aside first, so that only the lock judged stale is removed)."""
        aside = f"{self._lock_file}.{uuid.uuid4().hex}.rename"
        try:
            os.rename(self._lock_file, aside)
        except FileNotFoundError:
            return
        try:
            st = os.lstat(aside)
            text = os.readlink(aside) if stat.S_ISLNK(st.st_mode) else _read(aside)
            if (st.st_ino, text) == ident:
                logger.warning("broke the lock %s: %s", self._lock_file, why)
                if owner and why == "its owner is gone" and owner.get("pid") != os.getpid():
                    _remove_owner_file(self._lock_file, owner)
            else:
                os.link(aside, self._lock_file, follow_symlinks=False)
        except FileExistsError:
            logger.warning("the lock %s was taken by two writers", self._lock_file)
        finally:
            os.unlink(aside)


# (pid, lock path) -> (this process's owner file for that lock, its inode)
_owner_files: dict[tuple[int, str], tuple[str, int]] = {}
_owner_files_lock = threading.Lock()
_mutexes: dict[tuple[int, str], threading.Lock] = {}


def _mutex(lock_file: str) -> threading.Lock:
    """The lock that the threads of this process take before ``lock_file`` (per
    process: a child forked while a thread held it gets its own)."""
    key = (os.getpid(), lock_file)
    mutex = _mutexes.get(key)
    if mutex is None:
        with _owner_files_lock:
            mutex = _mutexes.setdefault(key, threading.Lock())
    return mutex


def _owner_file(lock_file: str) -> tuple[str, int]:
    """This process's owner file for ``lock_file``, written the first time (when the
    owner files of dead processes are swept away too)."""
    key = (os.getpid(), lock_file)
    found = _owner_files.get(key)
    if found is not None:
        return found
    with _owner_files_lock:  # one owner file however many threads take the lock
        found = _owner_files.get(key)
        if found is None:
            _sweep(lock_file)
            name = f"{lock_file}.{uuid.uuid4().hex[:12]}.owner"
            record = {**this_process(), "file": os.path.basename(name)}
            fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            try:
                os.write(fd, json.dumps(record).encode("utf-8"))
                found = _owner_files[key] = (name, os.fstat(fd).st_ino)
            finally:
                os.close(fd)
    return found


def _remove_owner_file(lock_file: str, owner: dict[str, Any]) -> None:
    name = owner.get("file")
    if isinstance(name, str) and name == os.path.basename(name) and name.endswith(".owner"):
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(os.path.dirname(lock_file), name))


def _sweep(lock_file: str) -> None:
    """Remove the owner files of ``lock_file`` whose process is gone from this host."""
    folder, prefix = os.path.split(lock_file)
    try:
        names = [n for n in os.listdir(folder or ".")
                 if n.startswith(prefix + ".") and n.endswith(".owner")]
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError, ValueError):
            owner = json.loads(_read(os.path.join(folder, name)))
            if isinstance(owner, dict) and owner.get("file") == name and owner_is_dead(owner):
                os.unlink(os.path.join(folder, name))


@atexit.register
def _remove_owner_files() -> None:
    for (pid, _), (name, _) in list(_owner_files.items()):
        if pid == os.getpid():
            with contextlib.suppress(OSError):
                os.unlink(name)
