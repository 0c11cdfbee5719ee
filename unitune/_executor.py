"""``optimize(executor=..., trial_timeout=...)``: where trials run, checked up front.

``"thread"`` (the default of ask/tell backends) runs the objective in the driver's
process: ``n_workers`` threads, or the main thread for one worker. ``"process"`` runs
it in a pool of worker processes (``unitune/_procpool.py``, where the design is):
what a trial does cannot stall or kill the study, a trial can be stopped at
``trial_timeout``, and a pure-Python objective uses as many cores as workers. Ray's
backends always run trials in Ray's worker processes: ``"process"`` is all they take;
there a trial past ``trial_timeout`` (or running at the study's timeout under
``timeout_policy="cut"``) has its Ray actor killed (``adapters/ray/_callback.py``).

``trial_memory`` ("4GB", "512MiB", or an int of bytes; KB/MB/GB are powers of 1000 and
KiB/MiB/GiB of 1024, as in Dask) caps each worker's address space (RLIMIT_AS, set before
the objective loads, so what it imports counts): an allocation past it raises
MemoryError in the trial, recorded FAIL "out of memory (trial_memory=4GB)"; a worker
that dies of it instead (C code that aborts) is replaced. It needs ``"process"`` and
POSIX's ``resource``, and is refused on Ray (whose workers are not ours to limit).

``timeout_policy``: what the study's ``timeout=`` does to the trials running when it
passes. ``"finish"`` (the default, as before): no trial starts after it, and the running
ones end on their own. ``"cut"``: they are stopped at it, their workers killed, each
recorded FAIL "cut at the study's timeout of N s" (not a failure that stops the study
under ``on_failure='stop'``: it ends anyway). ``"cut"`` needs ``"process"`` (how Ray's backends
run: there the running trials' actors are killed at the deadline).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import Any

from unitune._checks import is_number
from unitune._portable import Portable, dumps
from unitune._procpool import Cut, Host, Memory, ProcessTrials, Worker
from unitune.adapters.base import BaseAdapter, LoopAdapter
from unitune.errors import InvalidOption, ObjectiveError, UnsupportedFeature
from unitune.records import TrialRecord
from unitune.trial import Objective

__all__ = ["Execution", "check_execution", "check_memory", "give_limits", "then_with_limits"]

_WHERE = "executor='process' sends the objective to worker processes"


class Execution:
    """How this run's trials are executed: ``kind`` and the objective as sent."""

    def __init__(self, kind: str, trial_timeout: float | None,
                 portable: Portable | None = None, memory: Memory | None = None,
                 cut_after: float | None = None) -> None:
        self.kind = kind
        self.trial_timeout = trial_timeout
        self.portable = portable
        self.memory = memory
        self.cut_after = cut_after
        self._cut: Cut | None = None
        self._spare: list[Worker] = []  # one pool's workers serve every step of the run

    def pool(self, host: Host) -> Callable[[int], ProcessTrials] | None:
        """What makes the driver's pool of ``n`` workers; None for threads (the driver's).
        The workers outlive a step (auto's schedule): its next step's pool takes them."""
        portable = self.portable
        if portable is None:
            return None
        if self._cut is None and self.cut_after is not None:
            # the study's deadline, as the driver's (set just before the first step)
            self._cut = Cut(time.monotonic() + self.cut_after, self.cut_after)
        return lambda n: ProcessTrials(n, portable, host, self.trial_timeout,
                                       memory=self.memory, cut=self._cut, spare=self._spare)

    def close(self) -> None:
        """The run is over: its idle workers exit."""
        while self._spare:
            self._spare.pop().close()


def check_execution(executor: Any, trial_timeout: Any, adapter_cls: type[BaseAdapter],
                    objective: Objective, trial_memory: Any = None,
                    timeout_policy: Any = "finish", timeout: Any = None) -> Execution:
    """The executor of this run, once it fits the backend and the objective."""
    memory = None if trial_memory is None else check_memory(trial_memory)
    cut = _check_policy(timeout_policy, timeout, executor, adapter_cls)
    if executor is not None and executor not in ("thread", "process"):
        raise InvalidOption(f"executor={executor!r} must be 'thread' or 'process'")
    if trial_timeout is not None and not (is_number(trial_timeout) and trial_timeout > 0):
        raise InvalidOption(f"trial_timeout={trial_timeout!r} must be a positive number of "
                            "seconds")
    if issubclass(adapter_cls, LoopAdapter):
        if executor not in (None, "process"):
            raise InvalidOption(f"executor={executor!r}: backend {adapter_cls.name!r} runs "
                                "every trial in a Ray worker process already; use "
                                "executor='process' (or leave it out)")
        if trial_memory is not None:
            raise UnsupportedFeature(f"trial_memory= is not supported on {adapter_cls.name!r}: "
                                     "Ray starts its worker processes, and unitune cannot cap "
                                     "them; use an ask/tell backend with executor='process'")
        # Ray sends the objective itself; Tune's trials are stopped by the ledger's callback
        return Execution("process", None if trial_timeout is None else float(trial_timeout),
                         cut_after=cut)
    if executor != "process":
        if trial_timeout is not None:
            raise InvalidOption(f"trial_timeout={trial_timeout!r} needs executor='process': a "
                                "trial running in a thread cannot be stopped (Python cannot "
                                "kill a thread), a worker process can")
        if trial_memory is not None:
            raise InvalidOption(f"trial_memory={trial_memory!r} needs executor='process': "
                                "a memory limit applies to a whole process, and a thread's "
                                "trial shares the study's")
        return Execution("thread", None)
    _refuse_unpicklable(objective)
    portable = Portable.of(objective, objective.fn, _WHERE)
    return Execution("process", None if trial_timeout is None else float(trial_timeout),
                     portable, memory, cut)


def _check_policy(policy: Any, timeout: Any, executor: Any,
                  adapter_cls: type[BaseAdapter]) -> float | None:
    """The study's timeout if running trials are cut at it (``timeout_policy='cut'``)."""
    if policy not in ("finish", "cut"):
        raise InvalidOption(f"timeout_policy={policy!r} must be 'finish' (running trials "
                            "end on their own after timeout=) or 'cut' (they are stopped)")
    if policy == "finish":
        return None
    if timeout is None:
        raise InvalidOption("timeout_policy='cut' stops the trials running at the study's "
                            "timeout=, and no timeout= is given")
    if executor != "process" and not issubclass(adapter_cls, LoopAdapter):
        raise InvalidOption("timeout_policy='cut' needs executor='process': a trial running "
                            "in a thread cannot be stopped (Python cannot kill a thread), a "
                            "worker process can")
    return float(timeout)


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*")


def check_memory(trial_memory: Any) -> Memory:
    """``trial_memory`` as (bytes, as the user wrote it): an int of bytes or a size such
    as '512MB' or '4GiB' (KB, MB, GB, TB are powers of 1000, KiB... of 1024, as in Dask)."""
    wrong = InvalidOption(f"trial_memory={trial_memory!r} must be a positive number of bytes "
                          "or a size such as '512MB', '4GB' or '4GiB'")
    if is_number(trial_memory, integer=True):
        limit, label = int(trial_memory), f"{int(trial_memory)} bytes"
    elif isinstance(trial_memory, str) and (match := _SIZE.fullmatch(trial_memory)) \
            and match[2].upper() in _UNITS:
        limit, label = int(float(match[1]) * _UNITS[match[2].upper()]), trial_memory.strip()
    else:
        raise wrong
    if limit <= 0:
        raise wrong
    try:
        import resource  # noqa: F401 - POSIX only
    except ImportError:
        raise UnsupportedFeature(f"trial_memory={trial_memory!r} is not supported on this "
                                 f"platform ({sys.platform}): it has no process memory limit "
                                 "(Python's resource module)") from None
    return Memory(limit, label)


def _refuse_unpicklable(objective: Objective) -> None:
    """Refuse, in one line naming what holds it, an objective that cannot be pickled."""
    try:
        dumps(objective)
    except Exception as exc:  # noqa: BLE001 - any pickling error means the same thing
        label = getattr(objective.fn, "__qualname__", None) or type(objective.fn).__qualname__
        culprit = _culprit(objective.fn)
        what = f"{culprit[0]} holds a {culprit[1]}, which" if culprit else "it"
        raise ObjectiveError(
            f"{_WHERE}, but objective {label!r} cannot be pickled: {what} cannot be "
            f"copied to another process ({type(exc).__name__}: {exc}); create it inside "
            "the objective (a lock, an open file or a connection belongs to one process), "
            "or use executor='thread'") from None


def _culprit(fn: Any) -> tuple[str, str] | None:
    """(where, type) of the first object ``fn`` uses that does not pickle: a variable it
    closes over, a global it names, an attribute of a callable object."""
    code = getattr(fn, "__code__", None)
    used: list[tuple[str, Any]] = []
    if code is not None:
        cells = getattr(fn, "__closure__", None) or ()
        for name, cell in zip(code.co_freevars, cells):
            try:
                used.append((f"the variable {name!r} it closes over", cell.cell_contents))
            except ValueError:  # an empty cell
                continue
        module_globals = getattr(fn, "__globals__", {})
        used += [(f"the global {name!r}", module_globals[name])
                 for name in code.co_names if name in module_globals]
    elif hasattr(fn, "__dict__"):
        used += [(f"its attribute {name!r}", value) for name, value in vars(fn).items()]
    for where, value in used:
        try:
            dumps(value)
        except Exception:  # noqa: BLE001 - this is the one
            return where, type(value).__qualname__
    return None


def give_limits(adapter: BaseAdapter | None, execution: Execution | None) -> None:
    """A loop engine (Ray) stops its own trials: it is given trial_timeout and the cut."""
    if isinstance(adapter, LoopAdapter) and execution is not None:
        adapter.trial_timeout, adapter.cut_after = execution.trial_timeout, execution.cut_after


def then_with_limits(then: Callable[[list[TrialRecord]], BaseAdapter | None],
                      execution: Execution | None
                      ) -> Callable[[list[TrialRecord]], BaseAdapter | None]:
    def made(records: list[TrialRecord]) -> BaseAdapter | None:
        adapter = then(records)
        give_limits(adapter, execution)
        return adapter
    return made
