"""What runs inside a Ray worker: the trainable that runs the user's objective, and the
``Trial`` subclass whose reports go to Ray Tune.

Nothing here writes the ledger: workers may be on other machines. Each call of
``trial.report`` becomes one ``ray.tune.report`` (with a checkpoint when the
objective set one), and the trial's ``Outcome`` travels back as the last report,
marked ``done`` so that Tune ends the trial there instead of handing the
result to a scheduler (Hyperband would pause it, PBT could exploit it). The
driver's callback (``_callback.py``) turns those reports into ledger entries.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from unitune._discover import asked_to_json
from unitune._portable import NotLoadable, Portable
from unitune.adapters.base import Outcome
from unitune.adapters.ray._space import Codec
from unitune.records import TrialState
from unitune.trial import Objective, Trial

__all__ = ["KIND", "STEP", "VALUE", "RayTrial", "Spec", "TrialNamer", "make_trainable",
           "outcome_from_result", "trial_index", "value_key"]

# Keys of the reports (short: they travel with every result).
KIND = "ut_kind"  # REPORT for trial.report, else the final state's name
STEP = "ut_step"  # the step given to trial.report: the schedulers' time attribute
VALUE = "ut_value"  # the intermediate value, and the final value of a 1-objective study
ERROR = "ut_error"
TRACEBACK = "ut_traceback"
WRONG_COUNT = "ut_wrong_count"
SECONDS = "ut_seconds"
CONSTRAINTS = "ut_constraints"
FATAL = "ut_fatal"  # the objective could not be loaded: the study ends with this error
ASKED = "ut_asked"  # define-by-run: the params trial.suggest_* gave so far, as JSON
REPORT = "REPORT"
FINAL = (TrialState.COMPLETE.value, TrialState.FAIL.value, TrialState.PRUNED.value)
_STATE_FILE = "unitune_state.pkl"


def value_key(i: int, n_values: int) -> str:
    """The result key of objective value ``i``."""
    return VALUE if n_values == 1 else f"{VALUE}_{i}"


@dataclass(frozen=True)
class Spec:
    """Everything the workers need, pickled once per Tune run."""

    objective: Portable  # the Objective, loaded once per worker process
    n_values: int
    codec: Codec
    first_number: int  # ledger number of this run's first new trial
    queued: tuple[int, ...] = ()  # ledger numbers of Ray's first trials: the queued points
    seed: int | None = None  # define-by-run: a parameter Tune does not search is drawn

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        _preload(self.objective)


def _preload(objective: Portable) -> None:
    """In a Ray worker, load the objective as its actor is created, before Tune starts
    the trial (and ``trial_timeout``'s clock, ``_callback.py``): a slow import counts
    against no trial. One that does not load fails its first trial (``run_trial``)."""
    try:
        import ray

        if ray._private.worker.global_worker.mode == ray.WORKER_MODE:
            objective.load()
    except Exception:  # noqa: BLE001 - run_trial loads it again and reports why
        pass


class RayTrial(Trial):
    """A trial in a Ray worker: each report goes to Ray Tune, with the state the objective
    checkpointed since the last one; Ray's scheduler may stop the trial there."""

    __slots__ = ("_dirty",)

    def __init__(self, number: int, params: dict[str, Any]) -> None:
        super().__init__(number, params)
        self._dirty = False

    def checkpoint(self, state: Any) -> None:
        super().checkpoint(state)
        self._dirty = True

    def _report(self, step: int, value: float) -> bool:
        try:
            self.send({KIND: REPORT, STEP: step, VALUE: value, **self.asked()})
        except SystemExit:  # how Ray ends a trial its scheduler stopped (or paused)
            return True
        return False

    def _restore(self) -> Any:
        from ray import tune

        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as path:
            with open(os.path.join(path, _STATE_FILE), "rb") as fh:
                return pickle.load(fh)

    def asked(self) -> dict[str, str]:
        """Define-by-run: the params asked so far, with every report (a trial the
        scheduler stops sends no final one)."""
        return {ASKED: asked_to_json(self._asked)} if self._asked else {}

    def send(self, metrics: dict[str, Any]) -> None:
        """One ``tune.report``, with a checkpoint of the state set since the last one."""
        from ray import cloudpickle, tune

        if not self._dirty:
            tune.report(metrics)
            return
        folder = tempfile.mkdtemp(prefix="unitune-ckpt-")
        try:
            with open(os.path.join(folder, _STATE_FILE), "wb") as fh:
                cloudpickle.dump(self._state, fh)
            self._dirty = False
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _outcome_result(outcome: Outcome, n_values: int) -> dict[str, Any]:
    """The last report of a trial: its outcome, as Tune results carry it."""
    final: dict[str, Any] = {KIND: outcome.state.value, SECONDS: outcome.duration}
    if outcome.values is not None:
        final.update({value_key(i, n_values): v for i, v in enumerate(outcome.values)})
    if outcome.error is not None:
        final.update({ERROR: outcome.error, WRONG_COUNT: outcome.wrong_count})
    if outcome.traceback is not None:
        final[TRACEBACK] = outcome.traceback
    if outcome.constraints is not None:
        final[CONSTRAINTS] = list(outcome.constraints)
    return final


def outcome_from_result(final: dict[str, Any], n_values: int) -> Outcome:
    """The outcome a trial's last report carries (see ``_outcome_result``)."""
    state = TrialState(final[KIND])
    values = (tuple(float(final[value_key(i, n_values)]) for i in range(n_values))
              if state is TrialState.COMPLETE else None)
    constraints = final.get(CONSTRAINTS)
    return Outcome(state, values=values, error=final.get(ERROR),
                   traceback=final.get(TRACEBACK), duration=float(final.get(SECONDS, 0.0)),
                   constraints=None if constraints is None else tuple(constraints),
                   wrong_count=bool(final.get(WRONG_COUNT, False)))


class TrialNamer:
    """Ray's ``trial_name_creator``: names each trial ``unitune_<index>_<trial id>``, its
    index the order in which Ray created it (called once per trial, at creation, in the
    driver). Ray's trial ids count trials only with its random search; the name carries
    the index to the callback and to the worker whatever the searcher."""

    def __init__(self) -> None:
        self.count = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> TrialNamer:
        return self  # Ray deep-copies the experiment spec for each trial: one count

    def __call__(self, trial: Any) -> str:
        name = f"unitune_{self.count:05d}_{trial.trial_id}"
        self.count += 1
        return name


def trial_index(name: str) -> int:
    """The index ``TrialNamer`` gave the trial called ``name`` (-1 if it did not)."""
    parts = str(name).split("_", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1


def _number(spec: Spec) -> int:
    """The ledger number of the running trial, from its index: the queued points come
    first (each on its WAITING trial's number), then the new trials in order."""
    from ray import tune

    index = trial_index(tune.get_context().get_trial_name() or "")
    if index < 0:  # not named by TrialNamer (should not happen)
        return spec.first_number
    if index < len(spec.queued):
        return spec.queued[index]
    return spec.first_number + index - len(spec.queued)


def run_trial(spec: Spec, config: dict[str, Any]) -> None:
    """Run the objective once and send its outcome as the trial's last report."""
    trial = RayTrial(_number(spec), spec.codec.decode(config))
    trial._known = spec.codec.space  # define-by-run: what Tune searches, declared so
    trial._rng = random.Random(f"{spec.seed}:{trial.number}")
    try:
        objective: Objective = spec.objective.load()
    except NotLoadable as exc:
        trial.send({KIND: TrialState.FAIL.value, ERROR: str(exc), FATAL: True, "done": True})
        return
    outcome = objective(trial)
    if trial.should_prune():  # Ray stopped this trial: it ends it, report nothing more
        raise SystemExit(0)
    if outcome.interrupted:  # Ctrl-C reached the worker: Ray is shutting the run down
        raise KeyboardInterrupt
    final = {**_outcome_result(outcome, spec.n_values), **trial.asked()}
    if trial._last_step is not None:
        final[STEP] = trial._last_step
    final["done"] = True
    trial.send(final)


def make_trainable(spec: Spec) -> Callable[[dict[str, Any]], None]:
    """A Ray Tune function trainable running ``spec.objective``."""

    def unitune_trial(config: dict[str, Any]) -> None:
        run_trial(spec, config)

    return unitune_trial
