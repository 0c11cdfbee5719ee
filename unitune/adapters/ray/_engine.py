"""One Ray Tune run for a ``ray:*`` adapter: the searcher (given the study's queued
trials as its first points), the scheduler, the Tuner in its fast settings, and what
to do when it ends (errors re-raised, open trials booked as interrupted, the
temporary checkpoint store removed). This module imports Ray: it is imported only when a
Ray backend runs."""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
from ray import tune
from ray.tune import schedulers
from ray.tune.schedulers import PopulationBasedTraining
from ray.tune.search import BasicVariantGenerator, ConcurrencyLimiter, SearchGenerator
from ray.tune.search.optuna import OptunaSearch

from unitune._portable import Portable
from unitune.adapters.base import Host
from unitune.adapters.ray import _trainable as rt
from unitune.adapters.ray._callback import LedgerCallback, Limits, RunStopper
from unitune.adapters.ray._options import SCHEDULER_OPTIONS
from unitune.adapters.ray._runtime import check_resources, ensure_runtime, quiet_tune
from unitune.adapters.ray._space import Codec

if TYPE_CHECKING:
    from unitune.adapters.ray import RayAdapter

__all__ = ["BookedPBT", "run"]

logger = logging.getLogger("unitune")


class BookedPBT(PopulationBasedTraining):
    """Ray's PBT, telling the ledger callback about each exploit step.

    Ray's PBT draws its donor and its explore step from the process's global
    ``random`` and ``numpy.random``. Under a seed, those draws come from the
    scheduler's own streams. Each decision swaps them in and back out, so the
    caller's global random state is left as it was."""

    callback: Any = None

    def __init__(self, *args: Any, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._streams = None if seed is None else (
            random.Random(seed).getstate(), np.random.RandomState(seed).get_state())

    def _checkpoint_or_exploit(self, *args: Any, **kwargs: Any) -> Any:
        if self._streams is None:
            return super()._checkpoint_or_exploit(*args, **kwargs)
        theirs = random.getstate(), np.random.get_state()
        random.setstate(self._streams[0])
        np.random.set_state(self._streams[1])
        try:
            return super()._checkpoint_or_exploit(*args, **kwargs)
        finally:
            self._streams = random.getstate(), np.random.get_state()
            random.setstate(theirs[0])
            np.random.set_state(theirs[1])

    def _exploit(self, tune_controller: Any, trial: Any, trial_to_clone: Any) -> None:
        super()._exploit(tune_controller, trial, trial_to_clone)
        if self.callback is not None:
            # The step of the checkpoint copied: PBT keeps the result it checkpointed
            # in its own state; the donor's ``last_result`` may be later (it trained on
            # while its save was pending, e.g. step 24 for a checkpoint of step 20).
            state = self._trial_state[trial_to_clone].last_result
            step = (state or {}).get(rt.STEP)
            self.callback.exploited(trial, trial_to_clone, step)


def _scheduler(name: str, options: dict[str, Any], mode: str, codec: Codec,
               seed: int | None) -> Any:
    if name == "fifo":
        return None
    kwargs = {k: options.get(k, v) for k, v in SCHEDULER_OPTIONS[name].items()}
    common: dict[str, Any] = {"time_attr": rt.STEP, "metric": rt.VALUE, "mode": mode}
    # stop_last_trials=False: a trial that reaches max_t ends by returning its value (and
    # is COMPLETE), instead of being stopped at its last report (which would read PRUNED).
    if name == "asha":
        return schedulers.ASHAScheduler(**common, **kwargs, stop_last_trials=False)
    if name == "hyperband":
        return schedulers.HyperBandScheduler(**common, **kwargs, stop_last_trials=False)
    if name == "median":
        return schedulers.MedianStoppingRule(**common, **kwargs)
    kwargs["hyperparam_mutations"] = codec.mutations(kwargs["hyperparam_mutations"])
    return BookedPBT(**common, **kwargs, log_config=False, require_attrs=False, seed=seed)


def _queued(host: Host, adapter: RayAdapter,
            target: int | None) -> list[tuple[int, dict[str, Any]]]:
    """(number, params) of the WAITING trials this run evaluates first: re-runs of
    interrupted trials and points the user enqueued, in the order ``Host.claim_queued``
    claims them (the ledger's), as many as the budget holds (the others wait on).

    A point that fixes only some parameters (Optuna's ``enqueue_trial`` allows it)
    stops the list: Ray's searchers take whole configs, and it would be claimed next."""
    out: list[tuple[int, dict[str, Any]]] = []
    for record in host.queued(target):
        if not all(name in record.params for name in adapter.space.active(record.params)):
            logger.warning("queued trial %s fixes only %s of the parameters; backend %r runs "
                           "whole configs, so it (and any queued after it) stays queued",
                           record.number, sorted(record.params), adapter.name)
            break
        out.append((record.number, dict(record.params)))
    return out


def _search(adapter: RayAdapter, codec: Codec, modes: list[str], seed: int | None,
            max_concurrent: int, points: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    """(search algorithm, param_space) for Tune. ``points`` (Ray configs) are evaluated
    first, in order, by the searcher itself (``points_to_evaluate``)."""
    if adapter.searcher_name == "random":
        # PBT takes its population from this searcher too: the queued params are where
        # the first members start. PBT may later copy another member's state and params
        # into them, as into any member (the ledger keeps that history): the queued
        # config is given its run from the start, not exempted from PBT's exploitation.
        return (BasicVariantGenerator(points_to_evaluate=points or None, random_state=seed,
                                      max_concurrent=max_concurrent),
                codec.ray_space())
    n = len(modes)
    metric: Any = rt.VALUE if n == 1 else [rt.value_key(i, n) for i in range(n)]
    mode: Any = modes[0] if n == 1 else modes
    if adapter.space.conditional:
        optuna_search = _define_by_run(adapter, codec, metric, mode, seed, points)
    else:
        optuna_search = OptunaSearch(space=codec.optuna_space(), metric=metric, mode=mode,
                                     seed=seed, points_to_evaluate=points or None)
        for record in adapter.completed:  # warm start: what OptunaSearch's evaluated_rewards do
            values = list(record.values or ())
            value: Any = values[0] if n == 1 else values  # a list for several objectives
            optuna_search.add_evaluated_point(codec.encode(record.params), value)
    searcher: Any = optuna_search
    if max_concurrent:
        searcher = ConcurrencyLimiter(optuna_search, max_concurrent=max_concurrent)
    return SearchGenerator(searcher), {}  # a SearchAlgorithm: the stopper can finish it


def _define_by_run(adapter: RayAdapter, codec: Codec, metric: Any, mode: Any, seed: int | None,
                   points: list[dict[str, Any]]) -> Any:
    """OptunaSearch over a conditional space: a define-by-run function suggests the active
    parameters only, and TPE groups them (``multivariate=True, group=True``), as
    optuna:tpe does. Ray's ``add_evaluated_point`` refuses a define-by-run space, so the
    study's completed trials are added to OptunaSearch's own study directly."""
    import optuna

    sampler = _grouped_tpe(seed)
    search = OptunaSearch(space=codec.define_by_run(), metric=metric, mode=mode, sampler=sampler,
                          points_to_evaluate=[codec.encode(codec.decode(p), full=False)
                                              for p in points] or None)
    if adapter.completed:
        dists = codec.optuna_space()
        study: Any = search._ot_study  # built in OptunaSearch's __init__ (a space is given)
        for record in adapter.completed:
            params = codec.encode(record.params, full=False)
            study.add_trial(optuna.trial.create_trial(
                params=params, distributions={k: dists[k] for k in params},
                values=list(record.values or ())))
    return search


def _grouped_tpe(seed: int | None) -> Any:
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)


def _resources(adapter: RayAdapter, verbose: int) -> tuple[float, float, int]:
    """(CPUs and GPUs per trial, trials at once) once the Ray runtime is there to run them."""
    opts = adapter.options
    cpus = float(opts.get("cpus_per_trial", 1))
    gpus = float(opts.get("gpus_per_trial", 0))
    max_concurrent = int(opts.get("max_concurrent", adapter.n_workers))
    ensure_runtime(opts.get("address"), cpus * max_concurrent, verbose)
    check_resources(cpus, gpus)
    if adapter.scheduler_name == "hyperband" and "max_concurrent" not in opts:
        # Synchronous Hyperband fills a bracket with trials that exist (pending or
        # paused); created one at a time, a bracket never fills and nothing is stopped.
        # The runtime's CPUs (n_workers x cpus_per_trial) still bound what runs at once.
        max_concurrent = 0
    return cpus, gpus, max_concurrent


def run(adapter: RayAdapter, host: Host, target: int | None, deadline: float | None) -> bool:
    """Run up to ``target`` trials (None: until ``deadline``) with Ray Tune; return True
    if interrupted by Ctrl-C."""
    if target == 0:
        return False
    objective = Portable.of(host.objective, host.objective.fn,
                            f"backend {adapter.name!r} runs the objective in Ray worker processes")
    opts = adapter.options
    verbose = int(opts.get("verbose", 0))
    cpus, gpus, max_concurrent = _resources(adapter, verbose)
    codec = Codec(adapter.space)
    offset = host.trial_count()
    seed = adapter.seed  # a resumed study's is already drawn from (seed, trials recorded)
    modes = ["min" if d == "minimize" else "max" for d in adapter.directions]
    # Ray's first trials are the queued points; each is booked on its WAITING trial
    # (claimed, same number), and the new trials are numbered from ``offset`` on.
    queued = _queued(host, adapter, target)
    numbers = tuple(number for number, _ in queued)
    spec = rt.Spec(objective, host.objective.n_values, codec, offset, numbers, seed)
    cut = adapter.cut_after is not None and deadline is not None
    callback = LedgerCallback(host, codec, len(modes), numbers, Limits(
        adapter.trial_timeout, deadline if cut else None, adapter.cut_after))
    scheduler = _scheduler(adapter.scheduler_name, opts, modes[0], codec, seed)
    if scheduler is not None and hasattr(scheduler, "callback"):
        scheduler.callback = callback
    search_alg, param_space = _search(adapter, codec, modes, seed, max_concurrent,
                                      [codec.encode(params) for _, params in queued])
    own_storage = "storage_path" not in opts
    storage = tempfile.mkdtemp(prefix="unitune-ray-") if own_storage else opts["storage_path"]
    trainable = tune.with_resources(rt.make_trainable(spec), {"cpu": cpus, "gpu": gpus})
    tuner = tune.Tuner(
        trainable, param_space=param_space,
        tune_config=tune.TuneConfig(num_samples=-1 if target is None else target,
                                    search_alg=search_alg, scheduler=scheduler,
                                    reuse_actors=True, trial_name_creator=rt.TrialNamer()),
        run_config=tune.RunConfig(
            name=f"unitune-{adapter.ledger.study_name}"[:80], storage_path=storage, verbose=verbose,
            callbacks=[callback], stop=RunStopper(callback, search_alg, deadline),
            failure_config=tune.FailureConfig(max_failures=int(opts.get("max_failures", 0))),
            log_to_file=False),
    )
    interrupted = False
    try:
        with quiet_tune(verbose), callback.quiet:
            tuner.fit()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        callback.abandon_all()
        if own_storage:  # a directory per trial: removed while the caller goes on
            threading.Thread(target=shutil.rmtree, args=(storage, True),
                             name="unitune-ray-cleanup").start()
    if callback.error is not None:
        raise callback.error
    return interrupted
