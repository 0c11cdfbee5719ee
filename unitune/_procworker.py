"""A worker process of ``executor="process"``: ``main([FD])`` in a fresh interpreter.

Started by ``unitune._procpool.Worker`` with one end of a socket pair as file
descriptor ``FD`` (its only link to the driver, a ``multiprocessing`` Connection).
The conversation, all pickled messages:

    driver -> worker   Portable (the Objective), once
    worker -> driver   ("ready", pid)  or  ("fatal", message): the objective did not load
    then per trial:
    driver -> worker   (number, params)
    worker -> driver   ("report", step, value)   each trial.report(...)
    driver -> worker   True | False              the engine's answer: prune here?
    worker -> driver   ("outcome", Outcome)      how the trial ended

The worker exits when the driver closes its end (or dies: a watcher sees the parent
change). It runs in a session of its own, so a Ctrl-C at the terminal reaches only
the driver, which decides what happens to the trials (and kills the workers).
"""

from __future__ import annotations

import os
import threading
from multiprocessing.connection import Connection
from typing import Any

from unitune._portable import NotLoadable, Portable
from unitune.adapters.base import Outcome
from unitune.trial import Objective, Trial

__all__: list[str] = []

_PARENT_CHECK = 1.0  # seconds between checks that the driver still lives


class _PipeTrial(Trial):
    """A trial in a worker process: each report is a round trip to the driver, where
    the engine decides whether to prune."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection, number: int, params: dict[str, Any]) -> None:
        super().__init__(number, params)
        self._conn = conn

    def _report(self, step: int, value: float) -> bool:
        self._conn.send(("report", step, value))
        return bool(self._conn.recv())


def _watch_parent() -> None:
    """End this process if the driver dies (SIGKILL, a crash): no orphan keeps running."""
    parent = os.getppid()

    def watch() -> None:
        while not threading.Event().wait(_PARENT_CHECK):
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="unitune-parent-watch", daemon=True).start()


def _outcome(outcome: Outcome, memory: str | None) -> tuple[str, Outcome]:
    """The outcome as sent: without the exception object, which may not unpickle in the
    driver (a class of the user's script); its type, message and traceback are kept.
    A MemoryError under ``trial_memory`` says so."""
    if memory is not None and isinstance(outcome.exc, MemoryError):
        outcome = outcome._replace(error=f"out of memory (trial_memory={memory})")
    return ("outcome", outcome._replace(exc=None))


def limit_memory(limit: int) -> None:
    """Cap this process's address space (``trial_memory``): an allocation past it fails
    (MemoryError) instead of waking the OOM killer. The hard limit too, so the objective
    cannot lift it."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve(conn: Connection, memory: str | None = None) -> None:
    portable: Portable = conn.recv()
    try:
        objective: Objective = portable.load()
    except NotLoadable as exc:
        conn.send(("fatal", str(exc)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the driver closed the pool
            return
        number, params = job
        conn.send(_outcome(objective(_PipeTrial(conn, number, params)), memory))


def main(argv: list[Any]) -> None:
    """``argv``: the pipe's file descriptor, then (``trial_memory``) the limit in bytes
    and the limit as the user wrote it."""
    _watch_parent()
    conn = Connection(argv[0])
    if len(argv) > 1:  # before the objective loads: what it imports counts too
        limit_memory(argv[1])
    try:
        serve(conn, argv[2] if len(argv) > 1 else None)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the driver went away mid-trial: nothing is left to tell
    finally:
        conn.close()

