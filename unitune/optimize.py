"""``optimize()``: validate everything, pick the adapter, run the trials, return a Result.

The loop here owns the rules (budget, timeout, failures, pruning, callbacks,
Ctrl-C, parallel workers, the ledger); adapters only ask and tell.
"""

from __future__ import annotations

import logging
import numbers
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from unitune import adapters
from unitune._checks import (
    BadValue,
    check_directions,
    check_metrics,
    objective_arity,
    objective_ref,
    parse_values,
    positive_int,
)
from unitune.adapters.base import WAIT, Adapter, Proposal
from unitune.errors import InvalidOption, ObjectiveError, StopStudy, TrialPruned, UnsupportedFeature
from unitune.ledger import Ledger, counts_toward_budget
from unitune.records import Result, TrialRecord, TrialState
from unitune.space import Space
from unitune.trial import Trial

__all__ = ["optimize"]

logger = logging.getLogger("unitune")

_INJECTED = object()  # handle of a proposal the engine did not make (enqueued / re-run)
# False while ``unitune worker`` runs: it joins with the recorded settings and keeps them.
_RECORDS_SETTINGS: ContextVar[bool] = ContextVar("unitune_records_settings", default=True)


@contextmanager
def joining() -> Iterator[None]:
    """Run ``optimize()`` as a worker joining a study: the settings recorded by the run
    that started it (objective, backend, budget, seed, options) stay as they are, so a
    worker given its own copy of the objective or no seed changes nothing for the next."""
    token = _RECORDS_SETTINGS.set(False)
    try:
        yield
    finally:
        _RECORDS_SETTINGS.reset(token)


@dataclass
class Outcome:
    state: TrialState
    values: tuple[float, ...] | None = None
    error: str | None = None
    exc: BaseException | None = None
    duration: float = 0.0
    intermediate: dict[int, float] | None = None
    interrupted: bool = False
    wrong_count: bool = False


class Driver:
    """The state of one optimize() call: the rules every backend's trials go through.

    Ask/tell adapters never see it. Adapters that own their loop (Ray Tune) book each
    trial through ``begin``, ``record_intermediate`` and ``end``.
    """

    def __init__(self, objective: Callable[..., Any], adapter: Adapter, ledger: Ledger,
                 metrics: tuple[str, ...] | None, callbacks: Sequence[Callable[..., Any]],
                 on_failure: str, any_complete: bool, has_waiting: bool) -> None:
        from optuna.exceptions import TrialPruned as OptunaPruned

        self.objective = objective
        self.n_args = objective_arity(objective)
        self.adapter = adapter
        self.ledger = ledger
        self.n_values = len(adapter.directions)
        self.metrics = metrics
        self.callbacks = list(callbacks)
        self.on_failure = on_failure
        self.any_complete = any_complete
        self.has_waiting = has_waiting and not adapter.writes_ledger
        self.pruned_types = (TrialPruned, OptunaPruned)
        self.lock = threading.RLock()
        self.stop = False
        self.backend = adapter.name
        self.checkpoints: dict[int, Any] = {}
        self.warned_constraints = False
        self.shared_budget: int | None = None  # set when other processes may share the study

    def room(self) -> bool:
        """May another trial start? In a stored study the budget is the study's: trials
        that other processes (``unitune worker``) have finished or are running count too."""
        if self.shared_budget is None:
            return True
        with self.lock:
            used, others_running, waiting = self.ledger.used_budget()
            if used >= self.shared_budget and others_running and self.ledger.recover_stale():
                used, _, waiting = self.ledger.used_budget()  # a dead worker's trials re-run
            # another worker may have queued a trial to re-run (Optuna's ask takes those)
            self.has_waiting = self.has_waiting or (waiting and not self.adapter.writes_ledger)
        return used < self.shared_budget

    # -- called by Trial ----------------------------------------------------------------------
    def trial_report(self, trial: Trial, step: int, value: float) -> bool:
        proposal = trial._proposal
        with self.lock:
            if proposal.handle is _INJECTED:
                self.ledger.report(proposal.trial_id, step, value)
                return False
            return self.adapter.report(proposal, step, value)

    def trial_constraint(self, trial: Trial, values: tuple[float, ...]) -> None:
        """Keep the constraint values of a running trial: in the ledger (Optuna's own
        ``constraints`` attribute, which its samplers read) and on the proposal (for
        adapters that pass them to their engine in ``tell``)."""
        proposal = trial._proposal
        with self.lock:
            proposal.constraints = values
            self.ledger.set_constraints(proposal.trial_id, values)
            if not self.adapter.capabilities.constraints and not self.warned_constraints:
                self.warned_constraints = True
                logger.warning("backend %r does not search with constraints: they are "
                               "recorded and respected by result.pareto_front and "
                               "result.best_trial, but do not steer the search; use "
                               "pymoo:nsga2 or optuna:nsga2", self.backend)

    def checkpoint(self, trial: Trial, state: Any) -> None:
        self.checkpoints[trial.number] = state

    def restore(self, trial: Trial) -> Any:
        return self.checkpoints.get(trial.number)

    # -- for adapters that own their loop ------------------------------------------------------
    def begin(self, params: Mapping[str, Any]) -> Proposal:
        """Write a RUNNING trial for ``params`` proposed by the engine."""
        with self.lock:
            trial_id, number = self.ledger.start(params)
        return Proposal(params=dict(params), trial_id=trial_id, number=number)

    def record_intermediate(self, proposal: Proposal, step: int, value: float) -> None:
        with self.lock:
            self.ledger.report(proposal.trial_id, step, value)  # type: ignore[arg-type]

    def end(self, proposal: Proposal, outcome: Outcome) -> TrialRecord:
        """Finish a trial begun with ``begin`` (ledger, failure policy, callbacks)."""
        with self.lock:
            return self.conclude(proposal, outcome)

    # -- one trial --------------------------------------------------------------------------
    def next_proposal(self) -> Any:
        """A started Proposal, None when the search is exhausted, or ``WAIT``."""
        if self.has_waiting:
            claimed = self.ledger.claim_waiting()
            if claimed is not None:
                trial_id, number, params = claimed
                return Proposal(params=params, trial_id=trial_id, number=number,
                                handle=_INJECTED)
            self.has_waiting = False
        proposal = self.adapter.ask()
        if proposal is None or proposal is WAIT:
            return proposal
        if proposal.trial_id is None:
            proposal.trial_id, proposal.number = self.ledger.start(proposal.params)
        else:
            self.ledger.mark_started(proposal.trial_id)
        return proposal

    def evaluate(self, proposal: Proposal) -> Outcome:
        trial = Trial(proposal.number, proposal.params, self, proposal)  # type: ignore[arg-type]
        start = time.perf_counter()
        try:
            if self.n_args == 1:
                out = self.objective(dict(proposal.params))
            else:
                out = self.objective(dict(proposal.params), trial)
            outcome = Outcome(TrialState.COMPLETE, values=parse_values(out, self.n_values, self.metrics))
        except self.pruned_types:
            outcome = Outcome(TrialState.PRUNED)
        except BadValue as exc:
            outcome = Outcome(TrialState.FAIL, error=str(exc), wrong_count=exc.wrong_count)
        except KeyboardInterrupt as exc:
            outcome = Outcome(TrialState.FAIL, error="interrupted: KeyboardInterrupt", exc=exc,
                               interrupted=True)
        except Exception as exc:  # noqa: BLE001 - a failing trial must not end the study
            outcome = Outcome(TrialState.FAIL, error=f"{type(exc).__name__}: {exc}", exc=exc)
        outcome.duration = time.perf_counter() - start
        return outcome

    def conclude(self, proposal: Proposal, outcome: Outcome) -> TrialRecord:
        ledger, trial_id = self.ledger, proposal.trial_id
        if outcome.error is not None:
            ledger.set_error(trial_id, outcome.error, interrupted=outcome.interrupted)  # type: ignore[arg-type]
            if outcome.exc is not None and not outcome.interrupted:
                tb = "".join(traceback.format_exception(outcome.exc))
                ledger.storage.set_trial_system_attr(trial_id, "unitune:traceback", tb[-8000:])
        tell = self.adapter.observe if proposal.handle is _INJECTED else self.adapter.tell
        if not self.adapter.writes_ledger:
            ledger.finish(trial_id, outcome.state, outcome.values)  # type: ignore[arg-type]
        else:
            ledger.taken_over(trial_id)  # type: ignore[arg-type]  # (warns; tell skips it)
        tell(proposal, outcome.state, outcome.values)
        ledger.heartbeat.remove(trial_id)  # type: ignore[arg-type]
        if outcome.interrupted:
            ledger.enqueue(proposal.params)
        record = TrialRecord(
            number=proposal.number, params=proposal.params, state=outcome.state,  # type: ignore[arg-type]
            values=outcome.values, duration=outcome.duration, error=outcome.error,
            backend=self.backend, constraints=proposal.constraints,
        )
        if outcome.state is TrialState.COMPLETE:
            self.any_complete = True
        elif outcome.state is TrialState.FAIL and not outcome.interrupted:
            logger.warning("trial %s failed with params %s: %s", proposal.number,
                           proposal.params, outcome.error)
            if outcome.wrong_count and not self.any_complete:
                raise ObjectiveError(f"trial {proposal.number}: {outcome.error}")
            if self.on_failure == "stop":
                raise ObjectiveError(
                    f"trial {proposal.number} failed and on_failure='stop': {outcome.error}"
                ) from outcome.exc
        for callback in self.callbacks:
            try:
                callback(record)
            except StopStudy:
                self.stop = True
        return record

    def abandon(self, proposal: Proposal) -> None:
        """Record a trial cut short (Ctrl-C, an error elsewhere) so that a resume re-runs it."""
        try:
            self.conclude(proposal, Outcome(TrialState.FAIL, error="interrupted: the study "
                                             "stopped while the trial ran", interrupted=True))
        except Exception:  # noqa: BLE001 - best effort while already unwinding
            logger.exception("could not record interrupted trial %s", proposal.number)

    # -- the loops ----------------------------------------------------------------------------
    def run(self, target: int | None, timeout: float | None, n_workers: int) -> bool:
        """Run until ``target`` more trials count, the deadline, exhaustion or a stop.
        Returns True if interrupted by Ctrl-C."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.adapter.owns_loop:
            return self.adapter.run(self, target, deadline)
        if n_workers == 1:
            return self._sequential(target, deadline)
        return self._parallel(target, deadline, n_workers)

    def _sequential(self, target: int | None, deadline: float | None) -> bool:
        done = 0
        proposal = None
        try:
            while (target is None or done < target) and not self.stop:
                if deadline is not None and time.monotonic() >= deadline or not self.room():
                    break
                proposal = self.next_proposal()
                if proposal is WAIT:
                    proposal = None
                    raise RuntimeError(f"backend {self.backend!r} asked to wait with no "
                                       "trial running (an adapter bug)")
                if proposal is None:
                    break
                outcome = self.evaluate(proposal)
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
        return False

    def _parallel(self, target: int | None, deadline: float | None, n_workers: int) -> bool:
        done = 0
        in_flight: dict[Any, Proposal] = {}
        pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="unitune-trial")
        interrupted = False
        try:
            exhausted = False
            while True:
                while (len(in_flight) < n_workers and not exhausted and not self.stop
                       and (target is None or done + len(in_flight) < target)
                       and (deadline is None or time.monotonic() < deadline)
                       and self.room()):
                    with self.lock:
                        proposal = self.next_proposal()
                    if proposal is WAIT:
                        if not in_flight:
                            raise RuntimeError(f"backend {self.backend!r} asked to wait "
                                               "with no trial running (an adapter bug)")
                        break  # a running trial must end first (a generation in progress)
                    if proposal is None:
                        exhausted = True
                        break
                    in_flight[pool.submit(self.evaluate, proposal)] = proposal
                if not in_flight:
                    break
                past = deadline is not None and time.monotonic() >= deadline
                wait_for = None if deadline is None or past else deadline - time.monotonic()
                # past the deadline nothing new starts; the running trials finish
                finished, _ = wait(list(in_flight), timeout=wait_for, return_when=FIRST_COMPLETED)
                for future in finished:
                    proposal = in_flight.pop(future)
                    outcome = future.result()
                    with self.lock:
                        self.conclude(proposal, outcome)
                    interrupted = interrupted or outcome.interrupted
                    done += not outcome.interrupted
                if interrupted:
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            interrupted = True
        finally:
            for proposal in in_flight.values():
                with self.lock:
                    self.abandon(proposal)
            pool.shutdown(wait=not interrupted, cancel_futures=True)
        return interrupted


def optimize(
    objective: Callable[..., Any],
    space: Any,
    *,
    backend: str = "optuna:tpe",
    direction: str | None = None,
    directions: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    n_workers: int = 1,
    seed: int | None = None,
    storage: Any = None,
    study_name: str | None = None,
    options: Mapping[str, Any] | None = None,
    callbacks: Sequence[Callable[[TrialRecord], Any]] = (),
    on_failure: str = "continue",
) -> Result:
    """Tune ``objective`` over ``space`` with ``backend``; return every trial and the best.

    ``objective(params)`` or ``objective(params, trial)`` returns a number, a sequence
    (one value per direction) or a dict keyed by ``metrics``. ``n_trials`` is the number
    of finished trials the study should hold: re-running a stored study (same
    ``storage`` and ``study_name``) finishes it instead of starting over.
    """
    space = Space.coerce(space)
    metric_names = check_metrics(metrics)
    dirs = check_directions(direction, directions, metric_names)
    objective_arity(objective)
    n_trials = positive_int(n_trials, "n_trials")
    n_workers = positive_int(n_workers, "n_workers", allow_none=False)  # type: ignore[assignment]
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, numbers.Real)
                                or not timeout > 0):
        raise InvalidOption(f"timeout={timeout!r} must be a positive number of seconds")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or seed < 0):
        raise InvalidOption(f"seed={seed!r} must be a non-negative integer")
    if on_failure not in ("continue", "stop"):
        raise InvalidOption(f"on_failure={on_failure!r} must be 'continue' or 'stop'")
    if options is not None and not isinstance(options, Mapping):
        raise InvalidOption(f"options must be a dict, got {options!r}")
    if not all(callable(c) for c in callbacks):
        raise InvalidOption("callbacks must be a list of callables taking a TrialRecord")
    adapter_cls = adapters.get(backend)
    adapter_cls.ensure_installed()
    adapter_cls.validate(space, dirs, options or {})
    if n_workers > 1 and not adapter_cls.capabilities.parallel:  # type: ignore[operator]
        raise UnsupportedFeature(f"backend {adapter_cls.name!r} runs one trial at a time; "
                                 "use n_workers=1")

    budget = n_trials if n_trials is not None else adapter_cls.budget(space)
    if budget is None and timeout is None:
        raise InvalidOption("give n_trials= or timeout= (or both) to bound the study")

    ledger = Ledger.open(storage, study_name, space, dirs, metric_names)
    ledger.backend = adapter_cls.name
    ledger.recover_stale()
    if storage is not None and _RECORDS_SETTINGS.get():
        ledger.record_settings({
            "objective": objective_ref(objective), "backend": adapter_cls.name,
            "n_trials": n_trials, "timeout": timeout, "seed": seed,
            "options": dict(options or {}), "on_failure": on_failure})
    existing = ledger.records()
    adapter = adapter_cls(space, dirs, seed=None if seed is None else int(seed),
                          n_workers=n_workers, options=options or {},  # type: ignore[arg-type]
                          ledger=ledger)
    finished = [r for r in existing if r.state.is_finished()]
    if finished:
        adapter.warm_start(finished)
    target = None if budget is None else max(0, budget - sum(map(counts_toward_budget, existing)))
    run = Driver(objective, adapter, ledger, metric_names, callbacks, on_failure,
               any_complete=any(r.state is TrialState.COMPLETE for r in existing),
               has_waiting=any(r.state is TrialState.WAITING for r in existing))
    if storage is not None and not adapter.owns_loop:
        run.shared_budget, target = budget, None  # the study's count decides (room())
    try:
        interrupted = run.run(target, timeout, n_workers)  # type: ignore[arg-type]
    finally:
        ledger.close()
    if interrupted:
        logger.warning("study %r interrupted; finished trials are kept", ledger.study_name)
    return ledger.result(backend=adapter_cls.name, interrupted=interrupted)
