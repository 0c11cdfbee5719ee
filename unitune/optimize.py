"""``optimize()``: check everything, pick the adapter, open the ledger, run the trials
through the ``Driver`` (``unitune/_driver.py``), and return a ``Result``."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from unitune import adapters
from unitune._batches import check_deterministic
from unitune._by_run import (
    PLACEHOLDER,
    check_by_run,
)
from unitune._checks import (
    check_directions,
    check_metrics,
    is_number,
    objective_ref,
    positive_int,
)
from unitune._executor import Execution, check_execution
from unitune._hooks import StudyHooks, StudyInfo
from unitune._logs import engine_messages_once
from unitune._portable import loading_script
from unitune._progress import Progress
from unitune._schedule import schedule
from unitune._secrets import scrub_values, storage_name
from unitune.adapters.auto import Choice, Step, facts_of
from unitune.adapters.base import BaseAdapter
from unitune.errors import InvalidOption, ObjectiveError, UnsupportedFeature
from unitune.ledger import Ledger
from unitune.ledger._by_run import open_by_run
from unitune.records import Result, TrialRecord
from unitune.space import Space
from unitune.space._choices import Codec, DecodingCallback, codec_for, decode_result
from unitune.trial import Objective

__all__ = ["joining", "optimize"]

logger = logging.getLogger("unitune")

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
    callbacks: Sequence[Callable[[TrialRecord], Any]] | None = (),
    on_failure: str = "continue", progress: bool = False, deterministic: bool = False,
    executor: str | None = None, trial_timeout: float | None = None,
    trial_memory: int | str | None = None, timeout_policy: str = "finish",
) -> Result:
    """Tune ``objective`` over ``space`` with ``backend``; return every trial and the best.

    ``objective(params)`` or ``objective(params, trial)`` returns a number, a sequence
    (one value per direction) or a dict keyed by ``metrics``; NaN, inf or -inf fails the
    trial with that reason, as an exception does. ``n_trials`` is the number
    of finished trials the study should hold: re-running a stored study (same
    ``storage`` and ``study_name``) finishes it instead of starting over. ``callbacks``
    get each finished trial's ``TrialRecord`` in this process, whatever the backend; one
    with ``on_study_start``/``on_study_end`` methods is told of the study (``_hooks.py``).
    ``progress`` shows progress on stderr. ``executor`` etc.: see ``_executor.py``;
    ``deterministic``: ``_batches.py``; ``space=None``: ``objective(trial)`` calls
    ``trial.suggest_*`` (``_by_run.py``)."""
    _refuse_a_study_started_on_import()
    by_run, space = space is None, for_backend(space, backend)
    metric_names = check_metrics(metrics)
    dirs = check_directions(direction, directions, metric_names)
    fn = Objective.of(objective, len(dirs), metric_names, by_run=by_run)
    n_trials = None if n_trials is None else positive_int(n_trials, "n_trials")
    n_workers = positive_int(n_workers, "n_workers")
    _check_arguments(timeout, seed, on_failure, options, study_name, progress)
    codec, stored, fn, callbacks = _stored_form(space, fn, _checked_callbacks(callbacks))
    adapter_cls, steps, label = _steps(backend, options or {}, stored, dirs, fn, n_trials,
                                       timeout, n_workers, executor, deterministic, by_run)
    execution = check_execution(executor, trial_timeout, adapter_cls, fn, trial_memory,
                                timeout_policy, timeout)
    budget = n_trials if n_trials is not None or by_run else adapter_cls.budget(stored)
    if budget is None and timeout is None:
        raise InvalidOption("give n_trials= or timeout= (or both) to bound the study")
    ledger = _open(storage, study_name, stored, dirs, metric_names, adapter_cls.name, by_run)
    if ledger.shared and _RECORDS_SETTINGS.get():  # what ``unitune worker`` joins with
        ledger.record_settings({  # auto's study: a worker joins with auto's own choice
            "objective": objective_ref(objective), "backend": label and backend or adapter_cls.name,
            "n_trials": n_trials, "timeout": timeout, "seed": seed,
            "options": scrub_values(dict(options or {})), "on_failure": on_failure})
    hooks = StudyHooks(callbacks, StudyInfo(ledger.study_name, ledger.directions, ledger.metrics,
                       label or adapter_cls.name, storage_name(storage) if storage else None))
    return _run(fn, steps, ledger, seed=seed, n_workers=n_workers, budget=budget,
                timeout=timeout, hooks=hooks, on_failure=on_failure, progress=progress,
                execution=execution, label=label, codec=codec,
                batches=deterministic and n_workers > 1)


def _steps(backend: str, options: Mapping[str, Any], space: Space, dirs: tuple[str, ...],
           fn: Objective, n_trials: int | None, timeout: float | None, n_workers: int,
           executor: str | None, deterministic: bool, by_run: bool
           ) -> tuple[type[BaseAdapter], list[Step], str | None]:
    """(the first backend's class, the steps to run, auto's label): ``backend`` alone, or
    ``backend="auto"``'s schedule (``adapters/auto.py``)."""
    def checked(name: str, opts: Mapping[str, Any]) -> type[BaseAdapter]:
        return _checked_backend(name, space, dirs, opts, n_workers, deterministic,
                                executor if by_run else False)
    adapter_cls = checked(backend, options)
    if not getattr(adapter_cls, "auto", False):
        return adapter_cls, [Step(adapter_cls.name, options, None)], None
    # an objective taking a ``trial`` only for its number says so: ``reports_steps = False``
    reports = fn.n_args == 2 and getattr(fn.fn, "reports_steps", True)
    facts = facts_of(space, dirs, n_trials=n_trials, timeout=timeout, reports=reports,
                     n_workers=n_workers, executor=executor)
    if by_run:  # define-by-run: what the objective asks for is known only as it runs
        facts = dataclasses.replace(facts, conditional=True, by_run=True)
    choice: Choice = adapter_cls.choose(space, dirs, facts)  # type: ignore[attr-defined]
    logger.info("%s", choice.line())
    return checked(choice.steps[0].backend, choice.steps[0].options), list(choice.steps), \
        choice.label


def _open(storage: Any, study_name: str | None, space: Space, dirs: tuple[str, ...],
          metrics: tuple[str, ...] | None, backend: str, by_run: bool) -> Ledger:
    """The study, created or resumed (``by_run``: define-by-run, ``space`` unused), its
    stale trials recovered."""
    ledger = (open_by_run(storage, study_name, dirs, metrics) if by_run
              else Ledger.open(storage, study_name, space, dirs, metrics))
    ledger.backend = backend
    ledger.recover_stale()
    return ledger


def _run(fn: Objective, steps: list[Step], ledger: Ledger, *, seed: int | None,
         n_workers: int, budget: int | None, timeout: float | None, hooks: StudyHooks,
         on_failure: str, progress: bool = False, execution: Execution | None = None,
         label: str | None = None, codec: Codec | None = None, batches: bool = False
         ) -> Result:
    """Run the steps (one backend, or auto's schedule) on the ledger, then close it."""
    bar = Progress(ledger, budget, timeout) if progress else None
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        hooks.start()
        with engine_messages_once():
            ran: list[str] = []  # the steps' backends that ran, in order
            interrupted = schedule(fn, steps, ledger, ran, seed=seed, n_workers=n_workers,
                                    budget=budget, deadline=deadline, hooks=hooks,
                                    on_failure=on_failure, bar=bar, execution=execution,
                                    batches=batches)
    except BaseException:
        hooks.failed()
        raise
    finally:
        if bar is not None:
            bar.close()
        if execution is not None:
            execution.close()
        ledger.close()
    if interrupted:
        logger.warning("study %r interrupted; finished trials are kept", ledger.study_name)
    if label is not None:  # auto: what ran (a schedule cut short names its first steps)
        label = "auto: " + " > ".join(dict.fromkeys(ran or [steps[0].backend]))
    result = ledger.result(backend=label or steps[0].backend, interrupted=interrupted)
    return hooks.end(result if codec is None else decode_result(codec, result))


def _stored_form(space: Space, fn: Objective, callbacks: list[Callable[[TrialRecord], Any]],
                 ) -> tuple[Codec | None, Space, Objective, list[Callable[[TrialRecord], Any]]]:
    """What engines and the ledger see (labels of objects, quantiles: ``space._choices``),
    and the objective and callbacks given the user's values back."""
    codec = codec_for(space)
    if codec is None:  # plain values: stored as given
        return None, space, fn, callbacks
    return (codec, codec.stored, dataclasses.replace(fn, decode=codec.decode),
            [DecodingCallback(c, codec) for c in callbacks])


def _refuse_a_study_started_on_import() -> None:
    script = loading_script()
    if script is not None:
        raise ObjectiveError(
            f"{script} starts a study when it is imported, and a worker process imports it "
            "to find the objective; put the call under `if __name__ == \"__main__\":`")


def _check_arguments(timeout: Any, seed: Any, on_failure: Any, options: Any,
                     study_name: Any, progress: Any) -> None:
    if not isinstance(progress, bool):
        raise InvalidOption(f"progress={progress!r} must be True or False")
    if timeout is not None and not (is_number(timeout) and timeout > 0):
        raise InvalidOption(f"timeout={timeout!r} must be a positive number of seconds")
    if seed is not None and not (is_number(seed, integer=True) and seed >= 0):
        raise InvalidOption(f"seed={seed!r} must be a non-negative integer")
    if on_failure not in ("continue", "stop"):
        raise InvalidOption(f"on_failure={on_failure!r} must be 'continue' or 'stop'")
    if options is not None and not isinstance(options, Mapping):
        raise InvalidOption(f"options must be a dict, got {options!r}")
    if study_name is not None and not (isinstance(study_name, str) and study_name.strip()):
        raise InvalidOption(f"study_name={study_name!r} must be a non-empty string (or None "
                            "for a new name)")


def _checked_callbacks(callbacks: Any) -> list[Callable[[TrialRecord], Any]]:
    if callbacks is None:
        return []
    if callable(callbacks) or isinstance(callbacks, (str, bytes, Mapping)) or not isinstance(
            callbacks, Iterable):
        raise InvalidOption(f"callbacks must be a list of callables taking a TrialRecord, "
                            f"got {callbacks!r} (one callback: callbacks=[f])")
    checked = list(callbacks)
    if not all(callable(c) for c in checked):
        raise InvalidOption(f"callbacks must be a list of callables taking a TrialRecord, "
                            f"got {checked!r}")
    return checked


def for_backend(space: Any, backend: str) -> Space:
    """The space ``optimize`` was given as a ``Space`` (None: a define-by-run study's
    placeholder); a union of sub-spaces (a list of param grids) as the conditional space
    with the same points, for every backend but those that search a union as it is."""
    if space is None:
        return PLACEHOLDER
    space = Space.coerce(space)
    if not space.branches:
        return space
    adapter_cls = adapters.get(backend)
    if adapter_cls.unions:
        return space
    try:
        return space.as_conditional()
    except UnsupportedFeature as exc:
        raise UnsupportedFeature(f"backend {adapter_cls.name!r}: {exc}") from None


def _checked_backend(backend: str, space: Space, directions: tuple[str, ...],
                     options: Mapping[str, Any], n_workers: int,
                     deterministic: Any = False, by_run: Any = False) -> type[BaseAdapter]:
    """The adapter class of ``backend``, once it is installed and takes this study
    (``by_run``: the executor of a define-by-run study; False for another)."""
    adapter_cls = adapters.get(backend)
    adapter_cls.ensure_installed()
    if by_run is not False:
        check_by_run(adapter_cls, by_run)
    adapter_cls.validate(space, directions, options)
    check_deterministic(deterministic, adapter_cls)
    if n_workers > 1 and not adapter_cls.capabilities.parallel:
        raise UnsupportedFeature(f"backend {adapter_cls.name!r} runs one trial at a time; "
                                 "use n_workers=1")
    return adapter_cls
