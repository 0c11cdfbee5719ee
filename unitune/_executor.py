"""``optimize(executor=..., trial_timeout=...)``: where trials run, checked up front.

``"thread"`` (the default of ask/tell backends) runs the objective in the driver's
process: ``n_workers`` threads, or the main thread for one worker. ``"process"`` runs
it in a pool of worker processes (``unitune/_procpool.py``, where the design is):
what a trial does cannot stall or kill the study, a trial can be stopped at
``trial_timeout``, and a pure-Python objective uses as many cores as workers. Ray's
backends always run trials in Ray's worker processes: ``"process"`` is all they take.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unitune._checks import is_number
from unitune._portable import Portable, dumps
from unitune._procpool import Host, ProcessTrials
from unitune.adapters.base import BaseAdapter, LoopAdapter
from unitune.errors import InvalidOption, ObjectiveError, UnsupportedFeature
from unitune.trial import Objective

__all__ = ["Execution", "check_execution"]

_WHERE = "executor='process' sends the objective to worker processes"


class Execution:
    """How this run's trials are executed: ``kind`` and the objective as sent."""

    def __init__(self, kind: str, trial_timeout: float | None,
                 portable: Portable | None = None) -> None:
        self.kind = kind
        self.trial_timeout = trial_timeout
        self.portable = portable

    def pool(self, host: Host) -> Callable[[int], ProcessTrials] | None:
        """What makes the driver's pool of ``n`` workers; None for threads (the driver's)."""
        portable = self.portable
        if portable is None:
            return None
        return lambda n: ProcessTrials(n, portable, host, self.trial_timeout)


def check_execution(executor: Any, trial_timeout: Any, adapter_cls: type[BaseAdapter],
                    objective: Objective) -> Execution:
    """The executor of this run, once it fits the backend and the objective."""
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
        if trial_timeout is not None:
            raise UnsupportedFeature(f"trial_timeout= is not supported on {adapter_cls.name!r} "
                                     "yet; use an ask/tell backend with executor='process'")
        return Execution("process", None)  # Ray sends the objective itself
    if executor != "process":
        if trial_timeout is not None:
            raise InvalidOption(f"trial_timeout={trial_timeout!r} needs executor='process': a "
                                "trial running in a thread cannot be stopped (Python cannot "
                                "kill a thread), a worker process can")
        return Execution("thread", None)
    _refuse_unpicklable(objective)
    portable = Portable.of(objective, objective.fn, _WHERE)
    return Execution("process", None if trial_timeout is None else float(trial_timeout),
                     portable)


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
