"""``executor="process"``: trials run in a pool of worker processes kept for the run.

Design
------
* **One pool per ``optimize()`` run**, ``n_workers`` processes, each driven by one
  thread of the driver process (the same shape as the thread executor, so the
  driver's loop, its futures and its Ctrl-C handling are the same for both). Not
  ``concurrent.futures.ProcessPoolExecutor``: it cannot kill one worker and replace
  it (a dead worker breaks the whole pool, and a running call cannot be cancelled),
  which is what a trial timeout and crash isolation need. Each worker has its own
  pipe (a socket pair), so the driver always knows which trial a worker runs, and
  killing it touches nothing else.
* **Start method: a fresh interpreter** (``unitune._procworker.main``, the
  semantics of multiprocessing's *spawn*). Not *fork*: the driver has threads
  (heartbeats, the journal's group commit, the engines') whose locks a forked child
  would inherit held. Not *forkserver*: it is faster only at replacing a worker (a
  crash or a timeout, rare events), and, like multiprocessing's *spawn*, it imports
  the user's script in the worker as ``__mp_main__``, running its top-level code.
  unitune already sends a script's objects by (script path, name) (``_portable.py``,
  as to Ray's workers), so starting the interpreter itself keeps one way of loading
  the objective, checked in a fresh process before the first trial (the unpicklable
  are refused up front, naming the object). loky does the same (its own spawn,
  cloudpickle), and joblib users expect it.
* **The objective goes once per worker** (a cloudpickled ``Portable``); per trial
  only ``(number, params)`` go out and the ``Outcome`` comes back (its exception
  object left behind: the error line and traceback travel as text).
* **Reports are round trips**: each ``trial.report(value, step)`` in a worker is a
  message to the driver, which asks the engine (``Driver.trial_report``) under the
  driver's lock, as for a thread, and sends back whether to prune.
* **Timeouts and crashes**: the driver's thread waits for the worker's next message
  at most until the trial's deadline; past it the worker's process group is killed
  (SIGKILL), the trial is FAIL "timed out after N s" and a new worker is started
  (with ``timeout_policy='cut'``, the study's deadline ends a trial the same way, FAIL
  "cut at the study's timeout of N s", and nothing replaces its worker). A
  worker that dies (``os._exit``, a segfault, the OOM killer) closes its pipe: the
  trial is FAIL with the exit code or the signal's name, and the worker is replaced.
  Workers run in their own session (a Ctrl-C reaches the driver only, which records
  the running trials as cut short and kills the workers) and end themselves if the
  driver dies. Each trial records its worker's ``host:pid`` (``TrialRecord.worker``).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import NamedTuple, Protocol

from unitune._portable import NotLoadable, Portable
from unitune.adapters.base import Outcome, Proposal
from unitune.records import TrialState

__all__ = ["Cut", "Memory", "ProcessTrials", "TrialThreads", "Worker"]

logger = logging.getLogger("unitune")

# the worker's import path is this process's, as multiprocessing's spawn does (``-m``
# would put the current folder first, where another copy of unitune may be)
_START = ("import sys; sys.path[:] = {path!r}; from unitune._procworker import main; "
          "main({argv!r})")
_CLOSE_WAIT = 10.0  # seconds an idle worker gets to exit once its pipe is closed


class Memory(NamedTuple):
    """``trial_memory``: the limit of a worker's address space, and as the user wrote it."""

    limit: int
    label: str


class Cut(NamedTuple):
    """``timeout_policy='cut'``: when (``time.monotonic()``) running trials are stopped,
    and the study's ``timeout`` that set it."""

    deadline: float
    after: float


class Host(Protocol):
    """What the pool needs of the driver."""

    def trial_report(self, proposal: Proposal, step: int, value: float) -> bool: ...

    def ran_on(self, proposal: Proposal, worker: str) -> None: ...


class TrialThreads:
    """``n`` daemon threads that evaluate proposals. Daemon, unlike a ThreadPoolExecutor's
    (which the interpreter joins at exit): a trial still running when the study is
    interrupted is already recorded as cut short (re-run on resume), and its objective,
    blocked or slow to notice, must not keep the process alive until a second Ctrl-C."""

    def __init__(self, n: int, evaluate: Callable[[int, Proposal], Outcome]) -> None:
        self._evaluate = evaluate
        self._jobs: queue.SimpleQueue[tuple[Future[Outcome], Proposal] | None] = \
            queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, args=(i,), daemon=True,
                                          name=f"unitune-trial_{i}") for i in range(n)]
        for thread in self._threads:
            thread.start()

    def _work(self, i: int) -> None:
        while (job := self._jobs.get()) is not None:
            future, proposal = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self._evaluate(i, proposal))
                except BaseException as exc:  # noqa: BLE001 - handed to the driver
                    future.set_exception(exc)

    def submit(self, proposal: Proposal) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        self._jobs.put((future, proposal))
        return future

    def shutdown(self, wait: bool) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


def _death(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Worker:
    """One worker process and its pipe. ``run`` is called by one driver thread at a time."""

    def __init__(self, portable: Portable, memory: Memory | None = None) -> None:
        ours, theirs = socket.socketpair()
        argv = [theirs.fileno()] + ([] if memory is None else [memory.limit, memory.label])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _START.format(path=sys.path, argv=argv)],
                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.conn = Connection(ours.detach())
        self.memory = memory
        self.pid = self.process.pid
        self.ready = False
        self.busy = False
        self.conn.send(portable)

    def handshake(self) -> None:
        """Wait for the worker to load the objective (NotLoadable if it cannot)."""
        if self.ready:
            return
        try:
            kind, payload = self.conn.recv()
        except (EOFError, OSError):
            raise NotLoadable(f"a worker process of executor='process' ended before its "
                              f"first trial ({_death(self.process.wait())})") from None
        if kind == "fatal":
            raise NotLoadable(payload)
        self.ready = True

    def run(self, proposal: Proposal, host: Host, timeout: float | None,
            cut: Cut | None = None) -> Outcome:
        """The trial's outcome; a FAIL if the worker dies, runs past ``timeout`` or is
        still running at ``cut`` (it is then dead: the caller replaces it)."""
        self.handshake()
        host.ran_on(proposal, f"{socket.gethostname()}:{self.pid}")
        start = time.monotonic()
        end = None if timeout is None else start + timeout
        at_deadline = cut is not None and (end is None or cut.deadline < end)
        if cut is not None and at_deadline:
            end = cut.deadline
        self.busy = True
        try:
            self.conn.send((proposal.number, proposal.params))
            while True:
                if end is not None and not self.conn.poll(max(0.0, end - time.monotonic())):
                    self.kill()
                    why = (f"cut at the study's timeout of {cut.after:g} s" if cut and at_deadline
                           else f"timed out after {timeout:g} s")
                    return Outcome(TrialState.FAIL, error=why, at_deadline=at_deadline,
                                   duration=time.monotonic() - start)
                message = self.conn.recv()
                if message[0] != "report":
                    return message[1]
                self.conn.send(host.trial_report(proposal, message[1], message[2]))
        except (EOFError, OSError):
            why = f"the trial's worker process {_death(self.process.wait())}"
            if self.memory is not None:  # C code that cannot allocate may abort
                why += f", perhaps out of memory (trial_memory={self.memory.label})"
            return Outcome(TrialState.FAIL, error=why, duration=time.monotonic() - start)
        finally:
            self.busy = False

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the worker and whatever it started (its process group), and reap it."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.conn.close()

    def close(self) -> None:
        """Let an idle worker exit (its pipe closes), killed if it does not in time."""
        self.conn.close()
        try:
            self.process.wait(_CLOSE_WAIT)
        except subprocess.TimeoutExpired:
            self.kill()


class ProcessTrials(TrialThreads):
    """``n`` worker processes, each driven by one thread; a worker that dies or is
    killed at the trial timeout is replaced before its thread's next trial."""

    def __init__(self, n: int, objective: Portable, host: Host,
                 trial_timeout: float | None, memory: Memory | None = None,
                 cut: Cut | None = None, spare: list[Worker] | None = None) -> None:
        self._cut = cut
        self._spare = spare  # idle workers of the run's earlier steps: taken, given back
        self._portable = objective
        self._memory = memory
        self._host = host
        self._timeout = trial_timeout
        self._closing = False
        self._lock = threading.Lock()
        self.started: list[int] = []  # the pid of every worker this pool started
        self._workers = [spare.pop() if spare else self._start() for _ in range(n)]
        try:
            for worker in self._workers:  # started together, each loads the objective
                worker.handshake()  # before a trial's clock starts
        except BaseException:
            for worker in self._workers:
                worker.kill()
            raise
        super().__init__(n, self._run)

    def _start(self) -> Worker:
        worker = Worker(self._portable, self._memory)
        self.started.append(worker.pid)
        return worker

    def _run(self, i: int, proposal: Proposal) -> Outcome:
        outcome = self._workers[i].run(proposal, self._host, self._timeout, self._cut)
        with self._lock:
            # none after a cut at the study's deadline: no trial starts past it
            if not self._workers[i].alive and not self._closing and not outcome.at_deadline:
                logger.info("worker process %s ended (%s); starting another",
                            self._workers[i].pid, outcome.error)
                self._workers[i].kill()
                self._workers[i] = self._start()
        self._workers[i].handshake()  # not on the clock of this thread's next trial
        return outcome

    def shutdown(self, wait: bool) -> None:
        """Kill the workers still running a trial (the driver has recorded it as cut
        short) and stop the threads; the idle workers go back to ``spare`` for the run's
        next step (``wait``: not interrupted), or exit."""
        with self._lock:
            self._closing = True
            for worker in self._workers:
                if worker.busy:
                    worker.kill()
        super().shutdown(wait)
        for worker in self._workers:
            if wait and self._spare is not None and worker.alive and worker.ready:
                self._spare.append(worker)
            else:
                worker.close()
