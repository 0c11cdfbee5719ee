"""The driver side of a Ray Tune run: a Tune callback that books every Ray trial in the
ledger through the driver's ``Host``, and a stopper that ends the run early.

Ledger writes happen here, in the driver process, whatever machine the trial ran
on: a trial is begun when Ray starts it, its intermediate values are written as
they arrive, and it ends COMPLETE/FAIL/PRUNED from its last report. Ray's first
trials are the study's queued points (see ``_engine.py``): each is booked on its
WAITING ledger trial, claimed as the driver claims one for any backend, and keeps
its number; the others are new trials numbered in Ray's order after the study's
last trial (so the worker knows its number without asking). A trial Ray stops
without a final report was stopped by the scheduler: PRUNED. One cut short by the
end of the run (timeout, a callback's StopStudy, an error) is recorded as
interrupted, so that resuming re-runs it. ``trial_timeout`` and ``timeout_policy='cut'``
are applied here too (``Limits``, checked at each turn of Tune's loop): a trial past its
limit has its Ray actor killed (its thread could not be stopped) and ends FAIL with the
reason; Tune starts a new actor for the next trial.

This module imports Ray: it is imported only when a Ray backend runs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ray import tune

from unitune._discover import asked_from_json
from unitune.adapters.base import Host, Outcome, Proposal
from unitune.adapters.ray import _trainable as rt
from unitune.adapters.ray._space import Codec
from unitune.errors import ObjectiveError
from unitune.records import TrialState

__all__ = ["KilledTrialsQuiet", "LedgerCallback", "Limits", "RunStopper"]

logger = logging.getLogger("unitune")


@dataclass
class _Booked:
    """A Ray trial open in the ledger: its proposal (replaced when PBT changes its params),
    its last report, and the history of its params."""

    proposal: Proposal
    started: float
    final: dict[str, Any] | None = None
    worker: str | None = None  # host:pid of the Ray worker, from its first result
    history: list[dict[str, Any]] = field(default_factory=list)
    running_since: float | None = None  # when Ray last started (or resumed) it
    asked: str | None = None  # define-by-run: the params the trial asked, last reported


@dataclass(frozen=True)
class Limits:
    """When a running trial is stopped: ``trial_timeout`` seconds after Ray started it,
    and at ``cut_at`` (``time.monotonic()``: the study's deadline, under
    ``timeout_policy='cut'``, whose timeout was ``cut_after`` seconds)."""

    trial_timeout: float | None = None
    cut_at: float | None = None
    cut_after: float | None = None

    def why(self, running_for: float, now: float) -> tuple[str, bool] | None:
        """(the reason, at the study's deadline) if a trial running for ``running_for``
        seconds must stop at ``now``; None if it runs on."""
        if self.cut_at is not None and now >= self.cut_at:
            return f"cut at the study's timeout of {self.cut_after:g} s", True
        if self.trial_timeout is not None and running_for >= self.trial_timeout:
            return f"timed out after {self.trial_timeout:g} s", False
        return None


def _index(trial: Any) -> int:
    return rt.trial_index(str(trial))


class KilledTrialsQuiet(logging.Filter):
    """Drops Tune's error lines about the trials unitune killed (their reason is already
    logged with the trial): "Trial task failed for trial X" with its ActorDiedError, and
    "Trials did not complete: [...]" when it names only those."""

    LOGGERS = ("ray.tune.execution.tune_controller", "ray.tune.tune")

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.names:
            return True
        text = record.getMessage()
        if text.startswith("Trial task failed for trial "):
            return text.rsplit(" ", 1)[-1] not in self.names
        if text.startswith("Trials did not complete: ["):
            listed = {n.strip() for n in text.split("[", 1)[1].rstrip("]").split(",")}
            return not listed <= self.names
        return True

    def __enter__(self) -> KilledTrialsQuiet:
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeFilter(self)


class LedgerCallback(tune.Callback):
    """Books every trial of one Tune run in the ledger, through the driver's ``Host``."""

    def __init__(self, host: Host, codec: Codec, n_values: int,
                 queued: tuple[int, ...] = (), limits: Limits = Limits()) -> None:
        self.host = host
        self.limits = limits
        self.quiet = KilledTrialsQuiet()  # installed by the engine around the run
        self.codec = codec
        self.n_values = n_values
        self.queued = queued  # ledger numbers of Ray's first trials (queued points)
        self.booked: dict[str, _Booked] = {}  # open trials
        self.seen: set[str] = set()  # every trial booked in this run
        self.cursor = 0  # trials[:cursor] are booked
        self.error: BaseException | None = None
        self.stopping = False  # the run is being cut short: open trials are interrupted

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its run configuration (to resume an experiment); this callback
        # lives in the driver with the ledger and its locks, and is never restored.
        return {}

    # -- Tune hooks ---------------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        # Book every trial Ray created up to this one, in creation order, so that
        # ledger numbers follow Ray's trial indices (what the worker computes).
        # ``trials`` only grows, in creation order: walk it once over the run.
        index = _index(trial)
        while self.cursor < len(trials) and _index(trials[self.cursor]) <= index:
            other = trials[self.cursor]
            self.cursor += 1
            if other.trial_id not in self.seen:
                self._guard(self._begin, other)
        if trial.trial_id not in self.seen:  # out of order (should not happen)
            self._guard(self._begin, trial)
        booked = self.booked.get(trial.trial_id)
        if booked is not None:
            booked.running_since = time.perf_counter()

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        # Tune's loop turns at least every 0.1 s (it waits that long for an event).
        if self.limits.trial_timeout is not None or self.limits.cut_at is not None:
            self._guard(self._stop_overdue, trials)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        booked = self.booked.get(trial.trial_id)
        if booked is None:
            return
        if booked.worker is None:
            self._guard(self._ran_on, booked, result)
        kind = result.get(rt.KIND)
        booked.asked = result.get(rt.ASKED, booked.asked)
        if kind == rt.REPORT:
            self._guard(self.host.report, booked.proposal, int(result[rt.STEP]),
                        float(result[rt.VALUE]))
        elif kind in rt.FINAL:
            booked.final = dict(result)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any,
                          **info: Any) -> None:
        self._guard(self._end, trial, None)

    def on_trial_error(self, iteration: int, trials: list, trial: Any,
                       **info: Any) -> None:
        self._guard(self._end, trial, _error_text(trial))

    # -- bookkeeping -------------------------------------------------------------------
    def _guard(self, fn: Any, *args: Any) -> None:
        """Run ``fn``; keep its error for after ``Tuner.fit`` (an exception raised
        inside Tune's loop would be swallowed or wrapped) and stop the run."""
        if self.error is not None:
            return
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the adapter
            self.error = exc
            self.stopping = True

    def _begin(self, trial: Any) -> None:
        params = self.codec.decode(trial.config)
        index = _index(trial)
        proposal = None
        if 0 <= index < len(self.queued):
            proposal = self._claim(self.queued[index], params)
        if proposal is None:
            proposal = self.host.begin(params)
        self.booked[trial.trial_id] = _Booked(proposal, time.perf_counter())
        self.seen.add(trial.trial_id)

    def _ran_on(self, booked: _Booked, result: dict) -> None:
        if "hostname" in result and "pid" in result:  # Ray adds both to every result
            booked.worker = f"{result['hostname']}:{result['pid']}"
            self.host.ran_on(booked.proposal, booked.worker)

    def _stop_overdue(self, trials: list) -> None:
        """Kill the Ray actor of each running trial past its limit and end the trial FAIL
        with the reason. A thread cannot be stopped, and a function trainable runs in
        one: the actor's process is killed (a hung ``sleep`` or a busy loop end too).
        Tune then sees the actor die (the trial's error, already booked here) and starts
        a new actor for the next trial."""
        import ray

        now, clock = time.perf_counter(), time.monotonic()
        for trial in trials:
            booked = self.booked.get(trial.trial_id)
            if (booked is None or booked.running_since is None or booked.final is not None
                    or trial.status != "RUNNING"):
                continue
            why = self.limits.why(now - booked.running_since, clock)
            if why is None:
                continue
            actor = trial.temporary_state.ray_actor
            if actor is not None:
                if booked.worker is None:  # no report yet: where Ray says its actor is
                    self._ran_on(booked, trial.last_result)
                self.quiet.names.add(str(trial))
                ray.kill(actor, no_restart=True)
            del self.booked[trial.trial_id]
            self.host.end(booked.proposal, Outcome(
                TrialState.FAIL, error=why[0], at_deadline=why[1],
                duration=time.perf_counter() - booked.started))

    def _claim(self, number: int, params: dict[str, Any]) -> Proposal | None:
        """Take the queued (WAITING) trial ``number`` for the Ray trial running its
        params, as the driver takes one for an ask/tell backend: it becomes RUNNING,
        then finishes under the same number. None if another process took it first."""
        proposal = self.host.claim_queued()
        if proposal is not None and self.codec.decode(
                self.codec.encode(proposal.params)) != params:
            self.host.abandon(proposal)  # not the params Ray runs: queued again
            proposal = None
        if proposal is None:
            logger.warning("queued trial %s was taken by another process; its params "
                           "%s run as a new trial", number, params)
        return proposal

    def _end(self, trial: Any, error: str | None) -> None:
        booked = self.booked.pop(trial.trial_id, None)
        if booked is None:
            return
        final = booked.final
        duration = time.perf_counter() - booked.started
        if error is not None:
            if booked.worker is None:  # died before its first report: where it ran
                self._ran_on(booked, trial.last_result)
            outcome = Outcome(TrialState.FAIL, error=error, duration=duration)
        elif final is not None:
            outcome = rt.outcome_from_result(final, self.n_values)
            if final.get(rt.FATAL):  # every trial would fail the same way: stop now
                self.host.end(booked.proposal, outcome)
                raise ObjectiveError(str(final[rt.ERROR]))
        elif not self.stopping:  # stopped by Ray's scheduler
            outcome = Outcome(TrialState.PRUNED, duration=duration)
        else:
            outcome = Outcome(TrialState.FAIL, interrupted=True, duration=duration,
                              error="interrupted: the study stopped while the trial ran")
        if booked.asked is not None:
            outcome = outcome._replace(asked=asked_from_json(booked.asked))
        self.host.end(booked.proposal, outcome)

    def exploited(self, trial: Any, source: Any, step: Any) -> None:
        """PBT copied ``source``'s state into ``trial`` with new params: write the new
        params to the ledger trial and keep the history in a user attribute."""
        self._guard(self._exploited, trial, source, step)

    def _exploited(self, trial: Any, source: Any, step: Any) -> None:
        booked = self.booked.get(trial.trial_id)
        if booked is None:
            return
        new = self.codec.decode(trial.config)
        if not booked.history:
            booked.history.append({"step": None, "from": None,
                                   "params": dict(booked.proposal.params)})
        src = self.booked.get(source.trial_id)
        booked.history.append({"step": None if step is None else int(step),
                               "from": None if src is None else src.proposal.number,
                               "params": dict(new)})
        booked.proposal = self.host.replace_params(booked.proposal, new, booked.history)

    def abandon_all(self) -> None:
        """Record the trials still open when the run ends (cut short)."""
        for trial_id in list(self.booked):
            booked = self.booked.pop(trial_id)
            self.host.abandon(booked.proposal)


class RunStopper(tune.Stopper):
    """A Tune stopper for the rules of optimize(): at the deadline or on a callback's
    StopStudy no new trial starts and the running ones finish (as in unitune's own
    loop); an error (ledger, on_failure='stop') ends the whole run at once."""

    def __init__(self, callback: LedgerCallback, search_alg: Any,
                 deadline: float | None) -> None:
        self.callback = callback
        self.search_alg = search_alg
        self.deadline = deadline

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        if self.callback.error is not None:
            self.callback.stopping = True
            return True
        past = self.deadline is not None and time.monotonic() >= self.deadline
        if (past or self.callback.host.stopping) and not self.search_alg.is_finished():
            self.search_alg.set_finished()
        return False


def _error_text(trial: Any) -> str:
    """What Ray says went wrong with a trial whose worker failed (not the objective:
    the trainable reports the objective's own errors)."""
    for attr in ("error_msg", "error_file"):
        text = getattr(trial, attr, None)
        if text:
            if attr == "error_file":
                try:
                    with open(text) as fh:
                        text = fh.read()
                except OSError:
                    pass
            lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
            if lines:  # Ray's advice on a dead worker is a paragraph: its facts only
                return f"RayError: {lines[-1].split(' Some common causes')[0][:500]}"
    return "RayError: the trial's worker failed"
