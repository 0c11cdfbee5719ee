"""Define-by-run objectives on every backend: ``optimize(objective, space=None)`` with
``def objective(trial): x = trial.suggest_float("x", ...)``.

How each kind of engine meets a space it learns as the trials declare it:

- **Optuna** (``StudyAdapter``) runs it natively: ``study.ask()`` with no distributions,
  and each ``trial.suggest_*`` goes to Optuna's own trial, so the sampler sees the
  define-by-run space exactly as in a plain Optuna study (TPE, its conditional
  parameters included).
- **ask/tell engines** (skopt, pymoo) get the space as it is discovered
  (``ByRunAdapter``): until a trial has declared a parameter, trials run on random
  values (seeded); then the engine is built on the space seen so far and told the past
  trials, and rebuilt the same way whenever a trial declares a new parameter (a
  conditional one: it gets a random value in the trial where it first appears). A past
  trial that did not ask a parameter is told with a fixed value for it
  (``_discover.fill_inactive``): the engine searches the full vector, the objective gets
  only what it asks.
- **Ray Tune** needs its space before its searcher starts: the driver runs the first
  trial itself (random values, seeded) to discover the space, then hands Tune that space;
  a parameter first declared later is drawn at random in the Ray worker for every trial
  (it is recorded, and a resumed run gives it to Tune).

Every backend stores in each trial the params it asked, no others, and the discovered
space in the study (``ledger/_by_run.py``): ``unitune show`` prints it, and a resume
starts from it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from unitune._discover import fill_inactive
from unitune._driver import Driver
from unitune.adapters.base import (
    Adapter,
    BaseAdapter,
    LoopAdapter,
    Outcome,
    Proposal,
    StudyAdapter,
    _Wait,
    resumed_seed,
)
from unitune.errors import UnsupportedFeature
from unitune.ledger import Ledger
from unitune.records import TrialRecord
from unitune.space import Float, Space

__all__ = ["PLACEHOLDER", "ByRunAdapter", "RandomOnly", "by_run_adapter", "check_by_run",
           "filled", "run_discovering"]

# What the backend's up-front checks (directions, options) see in place of a space.
PLACEHOLDER = Space(x=Float(0.0, 1.0))


def check_by_run(adapter_cls: type[BaseAdapter], executor: Any) -> None:
    """Refuse what cannot run a define-by-run objective, naming what can."""
    if not adapter_cls.capabilities.continuous:
        raise UnsupportedFeature(f"backend {adapter_cls.name!r} searches a finite space "
                                 "declared up front; a define-by-run objective (space=None) "
                                 "needs another backend, e.g. optuna:tpe, or give space=")
    if issubclass(adapter_cls, StudyAdapter) and executor == "process":
        raise UnsupportedFeature(f"executor='process' with a define-by-run objective "
                                 f"(space=None) on {adapter_cls.name!r}: Optuna's trial, which "
                                 "suggests the values, lives in this process; leave executor "
                                 "out, or give space=")


def filled(records: Sequence[TrialRecord], space: Space) -> list[TrialRecord]:
    """The finished trials as points of ``space`` (a parameter a trial did not ask gets
    ``fill_inactive``'s value), for an engine told full vectors."""
    return [dataclasses.replace(r, params=fill_inactive(r.params, space))
            for r in records if r.state.is_finished() and r.params]


class ByRunAdapter(Adapter):
    """An ask/tell engine on a define-by-run objective: random trials until a parameter is
    declared, then the engine built on the space discovered so far and told the past
    trials, rebuilt whenever the space grows (``rediscover``). A proposal of an engine
    since rebuilt is told to no engine (the rebuilt one was told it from the ledger or
    will be at the next rebuild)."""

    inner_cls: type[Adapter]

    def __init__(self, directions: Sequence[str], *, seed: int | None, n_workers: int,
                 options: Mapping[str, Any], ledger: Ledger) -> None:
        # no BaseAdapter.__init__: the space is the ledger's, and may not exist yet
        self.directions = tuple(directions)
        self.seed = seed
        self.n_workers = n_workers
        self.options = dict(options)
        self.ledger = ledger
        self.inner: Adapter | None = None
        self.generation = 0
        if ledger.space is not None:
            self.rediscover()

    @property
    def space(self) -> Space:  # type: ignore[override]
        return self.ledger.space or PLACEHOLDER

    def rediscover(self) -> None:
        """Build the engine on the ledger's space and tell it the study's finished trials."""
        space = self.ledger.space
        assert space is not None
        records = self.ledger.records()
        seed = self.seed if self.inner is None else resumed_seed(self.seed, len(records))
        inner = self.inner_cls(space, self.directions, seed=seed, n_workers=self.n_workers,
                               options=self.options, ledger=self.ledger)
        told = filled(records, space)
        if told:
            inner.warm_start(told)
        self.inner, self.generation = inner, self.generation + 1

    def ask(self) -> Proposal | _Wait | None:
        if self.inner is None:
            return Proposal(params={}, handle=(self.generation, None))  # all drawn at random
        proposal = self.inner.ask()
        if proposal is None or isinstance(proposal, _Wait):
            return proposal
        return proposal._replace(handle=(self.generation, proposal.handle))

    def _current(self, proposal: Proposal) -> Proposal | None:
        generation, handle = proposal.handle if isinstance(proposal.handle, tuple) \
            else (-1, None)
        if self.inner is None or generation != self.generation:
            return None
        return proposal._replace(handle=handle)

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        current = self._current(proposal)
        if current is not None and self.inner is not None:
            self.inner.tell(current, outcome)

    def observe(self, proposal: Proposal, outcome: Outcome) -> None:
        pass  # a queued trial: the next rebuild reads it from the ledger

    def report(self, proposal: Proposal, step: int, value: float) -> bool:
        current = self._current(proposal)
        if current is not None and self.inner is not None:
            return self.inner.report(current, step, value)
        return super().report(proposal, step, value)


def by_run_adapter(adapter_cls: type[BaseAdapter], ledger: Ledger, directions: Sequence[str],
                   seed: int | None, n_workers: int, options: Mapping[str, Any],
                   records: Sequence[TrialRecord]) -> BaseAdapter | None:
    """The engine for a define-by-run study; None for Ray while no trial has declared a
    parameter (the driver then runs one itself to discover the space first)."""
    kwargs: dict[str, Any] = {"seed": seed, "n_workers": n_workers, "options": options,
                              "ledger": ledger}
    if issubclass(adapter_cls, StudyAdapter):
        adapter = adapter_cls(ledger.space or PLACEHOLDER, directions, **kwargs)
        adapter.define_by_run()  # type: ignore[attr-defined]  # Optuna's
        return adapter
    if issubclass(adapter_cls, LoopAdapter):
        if ledger.space is None:
            return None
        loop = adapter_cls(ledger.space, directions, **kwargs)
        told = filled(records, ledger.space)
        if told:
            loop.warm_start(told)
        return loop
    assert issubclass(adapter_cls, Adapter)
    wrapper = type(f"ByRun{adapter_cls.__name__}", (ByRunAdapter,), {
        "name": adapter_cls.name, "engine": adapter_cls.engine, "extra": adapter_cls.extra,
        "capabilities": adapter_cls.capabilities, "inner_cls": adapter_cls})
    return wrapper(directions, **kwargs)


class RandomOnly(ByRunAdapter):
    """The trials the driver runs before Ray Tune starts: every value drawn at random."""

    name = "discovery"
    engine = "unitune"
    extra = ""

    def rediscover(self) -> None:
        pass


def run_discovering(driver: Driver, then: Callable[[list[TrialRecord]], BaseAdapter | None],
                    target: int | None, timeout: float | None, n_workers: int) -> bool:
    """Ray on a define-by-run objective: ``driver`` (a ``RandomOnly`` engine) runs trials
    here, one at a time, until one has declared a parameter; then ``then(records)`` gives
    the Ray engine on the discovered space, which runs the rest. True if interrupted."""
    deadline = None if timeout is None else time.monotonic() + timeout
    done = 0
    while driver.ledger.space is None:
        left = None if deadline is None else deadline - time.monotonic()
        if (target is not None and done >= target) or driver.stop or (
                left is not None and left <= 0):
            return False
        if driver.run(1, left, 1):
            return True
        done += 1
    adapter = then(driver.ledger.records())
    assert adapter is not None
    rest = Driver(driver.objective, adapter, driver.ledger, driver.callbacks,
                  driver.on_failure, any_complete=driver.any_complete, has_waiting=False)
    left = None if deadline is None else max(deadline - time.monotonic(), 1e-3)
    return rest.run(None if target is None else target - done, left, n_workers)
