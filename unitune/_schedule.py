"""The steps of a run on its ledger: each step's backend, built and warm-started from the
study so far, runs its trials (``_segment``); auto's schedule (``adapters/auto.py``) moves
to the next step at its ``until`` (``schedule``)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from unitune import adapters
from unitune._by_run import RandomOnly, by_run_adapter, run_discovering
from unitune._driver import Driver
from unitune._executor import Execution, give_limits, then_with_limits
from unitune._hooks import StudyHooks
from unitune._progress import Progress
from unitune.adapters.auto import Step, extended, still_on, switch_now
from unitune.adapters.base import BaseAdapter, LoopAdapter, StudyAdapter
from unitune.ledger import Ledger, counts_toward_budget
from unitune.records import TrialRecord, TrialState
from unitune.space import Space
from unitune.trial import Objective

__all__ = ["schedule"]

logger = logging.getLogger("unitune")


def schedule(fn: Objective, steps: list[Step], ledger: Ledger, ran: list[str], *,
              budget: int | None, deadline: float | None, **run: Any) -> bool:
    """Each step's backend until the study holds its ``until`` trials (auto's schedule,
    ``adapters/auto.py``), the next one warm-started from the ledger. True if
    interrupted."""
    i = 0
    while True:
        step, last = steps[i], i == len(steps) - 1
        held = ledger.used_budget()[0]  # read incrementally: not the whole study each step
        until = budget if last or step.until is None else \
            step.until if budget is None else min(step.until, budget)
        if not last and until is not None and held >= until:  # a resumed study: past it
            records = ledger.records()  # its last trial says if the step had run on
            if still_on(step, held, records[-1].backend if records else None):
                steps[i] = extended(step, held)
            else:
                i += 1
            continue
        timeout = None if deadline is None else deadline - time.monotonic()
        if timeout is not None and timeout <= 0:
            return False
        ledger.backend = step.backend
        ran.append(step.backend)
        interrupted, driver, seconds = _segment(fn, step, ledger, until, timeout, **run)
        if interrupted or driver.stop or last:
            return interrupted
        now = ledger.used_budget()[0]
        if until is not None and now < until or budget is not None and now >= budget:
            return False  # exhausted, out of time, or the budget is spent
        if switch_now(step, driver.objective_seconds, seconds - driver.objective_seconds):
            i += 1
        else:
            steps[i] = extended(step, now)


def _segment(fn: Objective, step: Step, ledger: Ledger, budget: int | None,
             timeout: float | None, *, seed: int | None, n_workers: int, hooks: StudyHooks,
             on_failure: str, bar: Progress | None, execution: Execution | None,
             batches: bool) -> tuple[bool, Driver, float]:
    """Build the step's adapter, tell it the study so far, and run the trials still to
    run up to ``budget``: (interrupted, the driver, its seconds)."""
    adapter_cls, options = adapters.get(step.backend), step.options
    if batches:  # deterministic=True: the engine's own setting for batches
        options = adapter_cls.batch_options(options)
    existing = ledger.records()
    # a resumed study's engine continues from where the ledger is, never replays its seed
    engine_seed = adapter_cls.engine_seed(None if seed is None else int(seed), len(existing))
    adapter: BaseAdapter | None
    if fn.n_args == 0:  # define-by-run
        adapter = by_run_adapter(adapter_cls, ledger, ledger.directions, engine_seed,
                                 n_workers, options, existing)
    else:
        assert ledger.space is not None
        adapter = adapter_cls(ledger.space, ledger.directions, seed=engine_seed,
                              n_workers=n_workers, options=options, ledger=ledger)
        finished = _inside(ledger.space, [r for r in existing if r.state.is_finished()],
                           adapter)
        if finished:
            adapter.warm_start(finished)
    target = None if budget is None else max(0, budget - sum(map(counts_toward_budget, existing)))
    then: Callable[[list[TrialRecord]], BaseAdapter | None] | None = None
    if adapter is None:  # Ray on a define-by-run objective: the space is discovered first
        adapter = RandomOnly(ledger.directions, seed=engine_seed, n_workers=1, options={},
                             ledger=ledger)
        then = then_with_limits(functools.partial(
            by_run_adapter, adapter_cls, ledger, ledger.directions, engine_seed, n_workers,
            options), execution)
    driver = Driver(fn, adapter, ledger, hooks.callbacks, on_failure,
                    any_complete=any(r.state is TrialState.COMPLETE for r in existing),
                    has_waiting=any(r.state is TrialState.WAITING for r in existing))
    driver.pool = None if execution is None else execution.pool(driver)
    driver.deterministic = batches  # n_workers at a time, told in proposal order
    give_limits(adapter, execution)
    if ledger.shared and not isinstance(adapter, LoopAdapter) and then is None:
        driver.shared_budget, target = budget, None  # the study's count decides
        if budget is not None:
            ledger.limit_budget(budget)  # and no process can start a trial past it
    if bar is not None:
        driver.callbacks.append(bar)
    start = time.perf_counter()
    interrupted = (driver.run(target, timeout, n_workers) if then is None
                   else run_discovering(driver, then, target, timeout, n_workers))
    return interrupted, driver, time.perf_counter() - start


def _inside(space: Space, records: list[TrialRecord],
            adapter: BaseAdapter) -> list[TrialRecord]:
    """The finished trials to warm-start the engine with: those that are points of the
    space. A trial outside it (written by another tool, e.g. plain Optuna with wider
    bounds) stays in the study and in the result, but is left out, with one warning
    naming it: an engine told a point outside its space may fail (Ray's OptunaSearch
    raises). Optuna's samplers read the study themselves and see it as stored."""
    kept = []
    for record in records:
        if space.contains(record.params):
            kept.append(record)
            continue
        told = ("and Optuna's sampler sees it as stored" if isinstance(adapter, StudyAdapter)
                else "but the engine is not told it")
        logger.warning("trial %s is outside the space: %s; it stays in the study, %s "
                       "(backend %r)", record.number, _why_outside(space, record.params),
                       told, adapter.name)
    return kept


def _why_outside(space: Space, params: Mapping[str, Any]) -> str:
    """What makes ``params`` no point of ``space``: the first parameter that is wrong."""
    if space.branches:
        return f"params {dict(params)!r} fit no branch of the space"
    active = set(space.active(params))  # a conditional space: the active ones only
    for name, dist in space.items():
        if name not in active:
            if name in params:
                return f"it has {name!r}, which its other values make inactive"
            continue
        if name not in params:
            return f"it has no value for {name!r}"
        if not dist.contains(params[name]):
            return f"{name}={params[name]!r} is not in {dist!r}"
    return f"it has parameters the space does not: {sorted(set(params) - set(space))}"
