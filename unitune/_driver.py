"""``Driver``: one ``optimize()`` run, the rules every backend's trials go through.

The driver owns the loop of ask/tell adapters (one trial at a time, ``n_workers``
threads, or a pool of worker processes: ``_procpool.py``), and is the ``Host`` through which a ``LoopAdapter`` (Ray Tune) books the
trials it runs itself. Either way each trial takes the same path: begun in the
ledger, evaluated by ``Objective``, concluded here (ledger, engine, failure policy,
callbacks), and its record read back from the ledger.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from unitune._batches import batch_loop
from unitune._interrupts import Interrupts, deferred
from unitune._procpool import TrialThreads
from unitune.adapters.base import (
    WAIT,
    Adapter,
    BaseAdapter,
    LoopAdapter,
    Outcome,
    Proposal,
    StudyAdapter,
    _Wait,
)
from unitune.errors import ObjectiveError, StopStudy
from unitune.ledger import BudgetSpent, Ledger
from unitune.ledger._by_run import take_asked
from unitune.ledger._drawn import record_drawn
from unitune.records import TrialRecord, TrialState
from unitune.trial import Objective, Trial

__all__ = ["Driver"]

logger = logging.getLogger("unitune")

_CTRL_C_POLL = 0.1  # seconds: how soon the loop of parallel trials sees a Ctrl-C


class _LocalTrial(Trial):
    """A trial run in this process: its reports go to the driver."""

    __slots__ = ("_driver", "_proposal")

    def __init__(self, driver: Driver, proposal: Proposal) -> None:
        assert proposal.number is not None
        super().__init__(proposal.number, proposal.params)
        self._driver = driver
        self._proposal = proposal
        if driver.by_run:  # what suggest_* checks against, and where its values come from
            self._known = driver.ledger.space or {}
            self._native = proposal.handle if driver.engine_writes else None  # Optuna's
            self._rng = random.Random(f"{driver.adapter.seed}:{proposal.number}")

    def _report(self, step: int, value: float) -> bool:
        return self._driver.trial_report(self._proposal, step, value)


class Driver:
    """One optimize() call's state; a ``LoopAdapter`` sees it as its ``Host``."""

    def __init__(self, objective: Objective, adapter: BaseAdapter, ledger: Ledger,
                 callbacks: Sequence[Callable[[TrialRecord], Any]], on_failure: str,
                 any_complete: bool, has_waiting: bool) -> None:
        self.objective = objective
        self.adapter = adapter
        self.ledger = ledger
        self.callbacks = list(callbacks)
        self.on_failure = on_failure
        self.any_complete = any_complete
        self.by_run = objective.n_args == 0  # define-by-run: trials store what they asked
        # Which protocol the adapter speaks, decided once (isinstance on an ABC is slow).
        self.ask_tell: Adapter | None = adapter if isinstance(adapter, Adapter) else None
        self.engine_writes = isinstance(adapter, StudyAdapter)
        # The driver claims queued trials for engines that do not take them themselves.
        self.claims_queued = not self.engine_writes
        self.has_waiting = has_waiting and self.claims_queued
        self.lock = threading.RLock()
        self.stop = False
        self.backend = adapter.name
        self.warned_constraints = False
        self.shared_budget: int | None = None  # set when other processes may share the study
        self.sigint: Interrupts | None = None  # the SIGINT handler while the loop runs
        self.pool: Callable[[int], TrialThreads] | None = None  # executor='process'
        self.objective_seconds = 0.0  # spent in evaluate(): in the objective, this process
        self.deterministic = False  # n_workers > 1 run in batches (_batches.py)

    def budget_left(self) -> bool:
        """May another trial start? In a shared study the budget is the study's: trials
        that other processes (``unitune worker``) have finished or are running count too."""
        if self.shared_budget is None:
            return True
        with self.lock:
            used, others_running, waiting = self.ledger.used_budget()
            if used >= self.shared_budget and others_running and self.ledger.recover_stale():
                used, _, waiting = self.ledger.used_budget()  # a dead worker's trials re-run
            # another worker may have queued a trial to re-run (Optuna's ask takes those)
            self.has_waiting = self.has_waiting or (waiting and self.claims_queued)
        return used < self.shared_budget

    def trial_report(self, proposal: Proposal, step: int, value: float) -> bool:
        """A report of a trial run in this process; True if the engine prunes it."""
        assert proposal.trial_id is not None
        with self.lock:
            if proposal.queued or self.ask_tell is None:
                self.ledger.report(proposal.trial_id, step, value)
                return False
            return self.ask_tell.report(proposal, step, value)

    # -- the Host of a LoopAdapter -------------------------------------------------------------
    @property
    def stopping(self) -> bool:
        return self.stop

    def begin(self, params: Mapping[str, Any]) -> Proposal:
        with self.lock:
            started = self.ledger.start({} if self.by_run else params)
        assert started is not None  # a LoopAdapter's study has no shared budget
        trial_id, number = started
        return Proposal(params=dict(params), trial_id=trial_id, number=number)

    def report(self, proposal: Proposal, step: int, value: float) -> None:
        assert proposal.trial_id is not None
        with self.lock:
            self.ledger.report(proposal.trial_id, step, value)

    def end(self, proposal: Proposal, outcome: Outcome) -> None:
        with self.lock:
            self.conclude(proposal, outcome)

    def ran_on(self, proposal: Proposal, worker: str) -> None:
        assert proposal.trial_id is not None
        with self.lock:
            self.ledger.set_worker(proposal.trial_id, worker)

    def queued(self, limit: int | None) -> list[TrialRecord]:
        if not self.has_waiting:
            return []
        return self.ledger.waiting()[:limit]

    def claim_queued(self) -> Proposal | None:
        with self.lock:
            claimed = self.ledger.claim_waiting()
        if claimed is None:
            return None
        trial_id, number, params = claimed
        return Proposal(params=params, trial_id=trial_id, number=number, queued=True)

    def replace_params(self, proposal: Proposal, params: Mapping[str, Any],
                       history: list[dict[str, Any]]) -> Proposal:
        assert proposal.trial_id is not None
        with self.lock:
            self.ledger.replace_params(proposal.trial_id, proposal.params, params, history)
        return proposal._replace(params=dict(params))

    def trial_count(self) -> int:
        return self.ledger.trial_count()

    # -- one trial ----------------------------------------------------------------------------
    def next_proposal(self) -> Proposal | _Wait | None:
        """A begun Proposal, None when the search is exhausted, or ``WAIT``."""
        if self.has_waiting:
            claimed = self.claim_queued()
            if claimed is not None:
                return claimed
            self.has_waiting = False
        assert self.ask_tell is not None
        try:
            proposal = self.ask_tell.ask()
        except BudgetSpent:  # the engine's own Study.ask found the shared budget spent
            return None
        if proposal is None or isinstance(proposal, _Wait):
            return proposal
        if proposal.trial_id is None:
            started = self.ledger.start({} if self.by_run else proposal.params)
            if started is None:  # another process took the study's last trial
                return None
            trial_id, number = started
            return Proposal(proposal.params, trial_id, number, proposal.handle, proposal.queued)
        self.ledger.start_heartbeat(proposal.trial_id)  # the engine wrote it (StudyAdapter)
        return proposal

    def evaluate(self, proposal: Proposal) -> Outcome:
        start = time.perf_counter()
        try:
            return self.objective(_LocalTrial(self, proposal))
        finally:  # what auto's schedule weighs against the engine's own time
            self.objective_seconds += time.perf_counter() - start

    def conclude(self, proposal: Proposal, outcome: Outcome) -> None:
        """Finish a trial: the ledger, the engine, the failure policy, the callbacks."""
        grew = False
        if self.by_run:  # the params it asked, checked, stored, added to the study's space
            assert proposal.trial_id is not None
            why, grew = take_asked(self.ledger, proposal.trial_id, outcome.asked or {})
            if why is not None:
                outcome = outcome._replace(state=TrialState.FAIL, values=None,
                                           error=f"ValueError: {why}")
        self._write(proposal, outcome)
        if grew and hasattr(self.adapter, "rediscover"):
            self.adapter.rediscover()  # the engine rebuilt on the grown space
        if outcome.state is TrialState.COMPLETE:
            self.any_complete = True
        elif outcome.state is TrialState.FAIL and not outcome.interrupted:
            logger.warning("trial %s failed with params %s: %s", proposal.number,
                           proposal.params, outcome.error)
            if outcome.wrong_count and not self.any_complete:
                raise ObjectiveError(f"trial {proposal.number}: {outcome.error}")
            if self.on_failure == "stop" and not outcome.at_deadline:  # it ends anyway
                raise ObjectiveError(
                    f"trial {proposal.number} failed and on_failure='stop': {outcome.error}"
                ) from outcome.exc
        if self.callbacks:
            assert proposal.trial_id is not None
            record = self.ledger.record(proposal.trial_id)  # the record result.trials holds
            for callback in self.callbacks:
                try:
                    callback(record)
                except StopStudy:
                    self.stop = True

    def _write(self, proposal: Proposal, outcome: Outcome) -> None:
        ledger, trial_id = self.ledger, proposal.trial_id
        assert trial_id is not None
        if ledger.quantiles:  # the value each quantile param gave the objective
            record_drawn(ledger.storage, trial_id, ledger.quantiles)
        if outcome.constraints is not None:
            ledger.set_constraints(trial_id, outcome.constraints)
            if not self.adapter.capabilities.constraints and not self.warned_constraints:
                self.warned_constraints = True
                logger.warning("backend %r does not search with constraints: they are "
                               "recorded and respected by result.pareto_front and "
                               "result.best_trial, but do not steer the search; use "
                               "pymoo:nsga2 or optuna:nsga2", self.backend)
        if outcome.error is not None:
            ledger.set_error(trial_id, outcome.error, interrupted=outcome.interrupted,
                             traceback=None if outcome.interrupted else outcome.traceback)
        if self.engine_writes:
            ledger.drop_if_taken_over(trial_id)  # its tell then leaves the trial as it is
        else:
            ledger.finish(trial_id, outcome.state, outcome.values)
        if self.ask_tell is not None:
            (self.ask_tell.observe if proposal.queued else self.ask_tell.tell)(proposal, outcome)
        ledger.end_heartbeat(trial_id)
        if outcome.interrupted:
            ledger.enqueue({n: v for n, (v, _) in outcome.asked.items()}
                           if outcome.asked is not None else proposal.params)

    def abandon(self, proposal: Proposal) -> None:
        """Record a trial cut short (Ctrl-C, an error elsewhere) so that a resume re-runs it."""
        try:
            with self.lock:
                self.conclude(proposal, Outcome(TrialState.FAIL, interrupted=True,
                                                error="interrupted: the study stopped while "
                                                      "the trial ran"))
        except Exception:  # noqa: BLE001 - best effort while already unwinding
            logger.exception("could not record interrupted trial %s", proposal.number)

    # -- the loops ----------------------------------------------------------------------------
    def run(self, target: int | None, timeout: float | None, n_workers: int) -> bool:
        """Run until ``target`` more trials count, the deadline, exhaustion or a stop.
        Returns True if interrupted by Ctrl-C."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if isinstance(self.adapter, LoopAdapter):  # Ray Tune handles SIGINT in its loop
            return self.adapter.run(self, target, deadline)
        with deferred() as self.sigint:
            if n_workers == 1 and self.pool is None:
                return self._sequential(target, deadline)
            return self._parallel(target, deadline, n_workers)

    def _ctrl_c(self) -> bool:
        """A Ctrl-C was noted while it could not be raised: start no other trial."""
        return self.sigint is not None and self.sigint.count > 0

    def _evaluate_here(self, proposal: Proposal) -> Outcome:
        """Run the objective in this thread, the main one: the one place where a Ctrl-C
        raises ``KeyboardInterrupt`` (which the objective sees, then ``Objective``)."""
        sigint = self.sigint
        if sigint is None:
            return self.evaluate(proposal)
        sigint.raise_ok = True
        try:
            if sigint.count:
                raise KeyboardInterrupt  # noted between the loop's check and here
            return self.evaluate(proposal)
        finally:
            sigint.raise_ok = False

    def _no_wait(self, proposal: Proposal | _Wait | None) -> Proposal | None:
        if isinstance(proposal, _Wait):
            raise RuntimeError(f"backend {self.backend!r} asked to wait with no trial "
                               "running (an adapter bug)")
        return proposal

    def _sequential(self, target: int | None, deadline: float | None) -> bool:
        done = 0
        proposal = None
        try:
            while (target is None or done < target) and not self.stop and not self._ctrl_c():
                if deadline is not None and time.monotonic() >= deadline or \
                        not self.budget_left():
                    break
                proposal = self._no_wait(self.next_proposal())
                if proposal is None:
                    break
                outcome = self._evaluate_here(proposal)
                current, proposal = proposal, None
                self.conclude(current, outcome)
                if outcome.interrupted:
                    return True
                done += 1
        except KeyboardInterrupt:
            if proposal is not None:
                self.abandon(proposal)
            return True
        except BaseException:
            if proposal is not None:
                self.abandon(proposal)
            raise
        return self._ctrl_c()

    def _threads(self, n_workers: int) -> TrialThreads:
        return TrialThreads(n_workers, lambda _, proposal: self.evaluate(proposal))

    def _parallel(self, target: int | None, deadline: float | None, n_workers: int) -> bool:
        in_flight: dict[Future[Outcome], Proposal] = {}
        pool = (self.pool or self._threads)(n_workers)
        interrupted = False
        try:
            if self.deterministic:
                interrupted = batch_loop(self, in_flight, pool, target, deadline, n_workers)
            else:
                interrupted = self._parallel_loop(in_flight, pool, target, deadline,
                                                  n_workers)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self._settle(in_flight)
            pool.shutdown(wait=not interrupted)
        return interrupted

    def _parallel_loop(self, in_flight: dict[Future[Outcome], Proposal], pool: TrialThreads,
                       target: int | None, deadline: float | None, n_workers: int) -> bool:
        """Keep ``n_workers`` trials running; True once interrupted."""
        done = 0
        exhausted = False
        while not self._ctrl_c():
            while (len(in_flight) < n_workers and not exhausted and not self.stop
                   and (target is None or done + len(in_flight) < target)
                   and (deadline is None or time.monotonic() < deadline)
                   and self.budget_left() and not self._ctrl_c()):
                with self.lock:
                    proposal = self.next_proposal()
                if proposal is WAIT and in_flight:
                    break  # a running trial must end first (a generation in progress)
                proposal = self._no_wait(proposal)
                if proposal is None:
                    exhausted = True
                    break
                in_flight[pool.submit(proposal)] = proposal
            if not in_flight:
                return False
            past = deadline is not None and time.monotonic() >= deadline
            wait_for = None if deadline is None or past else deadline - time.monotonic()
            if self.sigint is not None:  # a Ctrl-C is seen within _CTRL_C_POLL seconds
                wait_for = _CTRL_C_POLL if wait_for is None else min(wait_for, _CTRL_C_POLL)
            # past the deadline nothing new starts; the running trials finish
            finished, _ = wait(list(in_flight), timeout=wait_for, return_when=FIRST_COMPLETED)
            for future in finished:
                if self.finish(in_flight.pop(future), future):
                    return True
                done += 1
        return True

    def finish(self, proposal: Proposal, future: Future[Outcome]) -> bool:
        """Book an ended trial (ledger, engine); True if it was cut short (a Ctrl-C)."""
        outcome = future.result()
        with self.lock:
            self.conclude(proposal, outcome)
        return outcome.interrupted

    def _settle(self, in_flight: dict[Future[Outcome], Proposal]) -> None:
        """The trials still in flight when the loop ends early (Ctrl-C, an error): one
        whose objective has returned is booked with its outcome, the others are recorded
        as cut short (a resume runs them again)."""
        for future, proposal in in_flight.items():
            if future.done() and future.exception() is None:
                with contextlib.suppress(ObjectiveError):  # on_failure='stop': it stops
                    with self.lock:
                        self.conclude(proposal, future.result())
            else:
                self.abandon(proposal)
