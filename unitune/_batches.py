"""``optimize(..., deterministic=True)``: parallel trials that repeat under a seed.

With ``n_workers > 1`` the usual loop asks the engine for a new point whenever a
trial ends, so what the engine knows when it proposes depends on which trials
ended first: on timing. Here the driver works in **batches** instead:

1. it asks the engine for ``n_workers`` points, one after the other (each trial
   starts as soon as it is asked: the batch runs in parallel);
2. it waits until every trial of the batch has ended;
3. it tells the engine their outcomes **in proposal order**, then asks the next batch.

So every proposal depends on the seed and on the outcomes of the earlier batches
only, never on which trial of a batch ended first, and trial numbers follow the
proposals. This is each engine's natural unit: skopt asks ``n_workers`` points at
once with its constant liar (``strategy``), Optuna's TPE runs with
``constant_liar=True`` (a batch's running trials are seen with a lie for a value:
the same lie whatever their timing), and pymoo's generation is handed out in
batches and told in order (a batch ends early where a generation does). The cost:
a batch waits for its slowest trial before the next starts.

A study's ``timeout`` is checked before each proposal: a run cut by it holds a
prefix of the trials the same run without it would. Backends whose engine runs its
own asynchronous loop (Ray Tune) refuse it (``Capabilities.deterministic``).
"""

from __future__ import annotations

import time
from concurrent.futures import ALL_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

from unitune.adapters.base import WAIT, BaseAdapter, Outcome, Proposal
from unitune.errors import InvalidOption, UnsupportedFeature

if TYPE_CHECKING:
    from unitune._driver import Driver
    from unitune._procpool import TrialThreads

__all__ = ["batch_loop", "check_deterministic"]

_CTRL_C_POLL = 0.1  # seconds: how soon a batch being waited for sees a Ctrl-C


def check_deterministic(deterministic: Any, adapter_cls: type[BaseAdapter]) -> bool:
    """``deterministic`` once it is a bool the backend can honour."""
    if not isinstance(deterministic, bool):
        raise InvalidOption(f"deterministic={deterministic!r} must be True or False")
    if deterministic and not adapter_cls.capabilities.deterministic:
        raise UnsupportedFeature(
            f"deterministic=True is not supported on {adapter_cls.name!r}: "
            f"{adapter_cls.not_deterministic}; use an ask/tell backend (optuna:tpe, skopt:gp, "
            "pymoo:ga... see `unitune backends`) or leave deterministic out")
    return deterministic


def batch_loop(driver: Driver, in_flight: dict[Future[Outcome], Proposal],
               pool: TrialThreads, target: int | None, deadline: float | None,
               n_workers: int) -> bool:
    """Run batches of ``n_workers`` trials, each told in proposal order; True once
    interrupted. ``in_flight`` (in proposal order) is what the caller settles if it ends
    early."""
    done = 0
    exhausted = False
    while not driver._ctrl_c():
        room = n_workers if target is None else min(n_workers, target - done)
        if not exhausted:
            exhausted = _start(driver, in_flight, pool, room, deadline)
        if not in_flight:
            return False
        if not _all_ended(driver, in_flight):
            return True  # a Ctrl-C: the caller records the running trials as cut short
        for future, proposal in list(in_flight.items()):  # in proposal order
            del in_flight[future]
            if driver.finish(proposal, future):
                return True
            done += 1
    return True


def _start(driver: Driver, in_flight: dict[Future[Outcome], Proposal], pool: TrialThreads,
           room: int, deadline: float | None) -> bool:
    """Ask for and start up to ``room`` trials, in order; True if the search is exhausted."""
    while (len(in_flight) < room and not driver.stop
           and (deadline is None or time.monotonic() < deadline)
           and driver.budget_left() and not driver._ctrl_c()):
        with driver.lock:
            proposal = driver.next_proposal()
        if proposal is WAIT and in_flight:
            break  # the engine needs this batch told first (the end of a generation)
        proposal = driver._no_wait(proposal)
        if proposal is None:
            return True
        in_flight[pool.submit(proposal)] = proposal
    return False


def _all_ended(driver: Driver, in_flight: dict[Future[Outcome], Proposal]) -> bool:
    """Wait for every trial of the batch to end; False if a Ctrl-C came first."""
    poll = None if driver.sigint is None else _CTRL_C_POLL
    while True:
        _, running = wait(list(in_flight), timeout=poll, return_when=ALL_COMPLETED)
        if not running:
            return True
        if driver._ctrl_c():
            return False
