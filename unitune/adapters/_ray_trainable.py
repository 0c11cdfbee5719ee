"""What runs inside a Ray worker: the trainable that calls the user's objective, and the
small trial object the objective talks to.

Nothing here writes the ledger: workers may be on other machines. Each call of
``trial.report`` becomes one ``ray.tune.report`` (with a checkpoint when the
objective set one), and the trial's outcome travels back as the last report,
marked ``done`` so that Tune ends the trial there instead of handing the
result to a scheduler (Hyperband would pause it, PBT could exploit it). The
driver's callback (``_ray_callback``) turns those reports into ledger entries.
"""

from __future__ import annotations

import math
import numbers
import os
import pickle
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from unitune.adapters._ray_space import Codec
from unitune.errors import InvalidOption, TrialPruned

__all__ = ["KIND", "STEP", "VALUE", "Spec", "TrialNamer", "make_trainable", "trial_index",
           "value_key"]

# Keys of the reports (short: they travel with every result).
KIND = "ut_kind"  # one of the _STEP.._PRUNED markers below
STEP = "ut_step"  # the step given to trial.report: the schedulers' time attribute
VALUE = "ut_value"  # the intermediate value, and the final value of a 1-objective study
ERROR = "ut_error"
WRONG_COUNT = "ut_wrong_count"
SECONDS = "ut_seconds"
CONSTRAINTS = "ut_constraints"
REPORT, COMPLETE, FAIL, PRUNED = 1, 2, 3, 4
_STATE_FILE = "unitune_state.pkl"


def value_key(i: int, n_values: int) -> str:
    """The result key of objective value ``i``."""
    return VALUE if n_values == 1 else f"{VALUE}_{i}"


@dataclass(frozen=True)
class Spec:
    """Everything the workers need, pickled once per Tune run."""

    objective: Callable[..., Any]
    n_args: int
    codec: Codec
    n_values: int
    metrics: tuple[str, ...] | None
    first_number: int  # ledger number of this run's first new trial
    queued: tuple[int, ...] = ()  # ledger numbers of Ray's first trials: the queued points


class RayTrial:
    """The ``unitune.Trial`` interface inside a Ray worker (see ``unitune.trial``)."""

    __slots__ = ("number", "params", "_last_step", "_state", "_dirty", "_stopped",
                 "constraints")

    def __init__(self, number: int, params: dict[str, Any]) -> None:
        self.number = number
        self.params = params
        self._last_step: int | None = None
        self._state: Any = None
        self._dirty = False
        self._stopped = False  # Ray stopped this trial (a scheduler's decision)
        self.constraints: tuple[float, ...] | None = None

    def report(self, value: float, step: int | None = None) -> None:
        """Record ``value`` at ``step`` with Ray; raise ``ut.TrialPruned`` if Ray's
        scheduler stops the trial here."""

        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InvalidOption(
                    f"trial.report(value={value!r}): value must be a number") from None
        if step is None:
            step = 0 if self._last_step is None else self._last_step + 1
        elif isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise InvalidOption(f"trial.report(step={step!r}): step must be an integer >= 0")
        self._last_step = int(step)
        metrics = {KIND: REPORT, STEP: int(step), VALUE: float(value)}
        try:
            self._send(metrics)
        except SystemExit:  # how Ray ends a trial its scheduler stopped (or paused)
            self._stopped = True
            raise TrialPruned(f"trial {self.number} stopped by Ray at step {step}") from None

    def should_prune(self) -> bool:
        return self._stopped

    def constraint(self, *values: float) -> None:
        """Declare the trial's inequality constraints (each <= 0 is feasible); they go to
        the ledger with the trial's outcome (see ``unitune.Trial.constraint``)."""
        if not values:
            raise InvalidOption("trial.constraint() needs at least one value (<= 0 is feasible)")
        out = []
        for i, v in enumerate(values):
            try:
                v = float(v)
            except (TypeError, ValueError):
                v = math.nan
            if isinstance(values[i], bool) or math.isnan(v):
                raise InvalidOption(f"trial.constraint(): value {i} is {values[i]!r}; each "
                                    "constraint must be a number (<= 0 is feasible)")
            out.append(v)
        self.constraints = tuple(out)

    def checkpoint(self, state: Any) -> None:
        """Keep ``state``; it goes to Ray with the next report, so call it before the
        ``report`` of the same step (PBT copies what the best trials reported)."""
        self._state = state
        self._dirty = True

    def restore(self) -> Any:
        """This trial's last state, the one PBT copied into it, or None."""
        if self._state is not None:
            return self._state
        from ray import tune

        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as path:
            with open(os.path.join(path, _STATE_FILE), "rb") as fh:
                self._state = pickle.load(fh)
        return self._state

    def _send(self, metrics: dict[str, Any]) -> None:
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

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params!r})"


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
    """Call the objective once and send its outcome as the trial's last report."""
    from unitune._checks import BadValue, parse_values

    trial = RayTrial(_number(spec), spec.codec.decode(config))
    start = time.perf_counter()
    final: dict[str, Any]
    try:
        if spec.n_args == 1:
            out = spec.objective(dict(trial.params))
        else:
            out = spec.objective(dict(trial.params), trial)
        if trial._stopped:  # the objective caught TrialPruned and returned anyway
            raise SystemExit(0)
        values = parse_values(out, spec.n_values, spec.metrics)
        final = {KIND: COMPLETE}
        final.update({value_key(i, spec.n_values): v for i, v in enumerate(values)})
    except TrialPruned:
        if trial._stopped:
            raise SystemExit(0) from None  # Ray is ending this trial: report nothing more
        final = {KIND: PRUNED}
    except BadValue as exc:
        final = {KIND: FAIL, ERROR: str(exc), WRONG_COUNT: exc.wrong_count}
    except Exception as exc:  # noqa: BLE001 - a failing trial is recorded, the study goes on
        tb = "".join(traceback.format_exception(exc))[-8000:]
        final = {KIND: FAIL, ERROR: f"{type(exc).__name__}: {exc}", "ut_traceback": tb}
    final[SECONDS] = time.perf_counter() - start
    if trial.constraints is not None:
        final[CONSTRAINTS] = list(trial.constraints)
    if trial._last_step is not None:
        final[STEP] = trial._last_step
    final["done"] = True
    trial._send(final)


def make_trainable(spec: Spec) -> Callable[[dict[str, Any]], None]:
    """A Ray Tune function trainable running ``spec.objective``."""

    def unitune_trial(config: dict[str, Any]) -> None:
        run_trial(spec, config)

    return unitune_trial
