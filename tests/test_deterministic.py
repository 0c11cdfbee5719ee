"""``deterministic=True`` with ``n_workers > 1``: the same seed gives the same trials
(numbers, params, values, states) whatever the timing, under threads and processes;
backends that cannot honour it (Ray) refuse it before any trial."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import unitune as ut
from unitune.adapters import get

SPACE = {"x": ut.Float(-2.0, 2.0), "y": ut.Float(0.0, 1.0, log=False)}
ENGINES = [  # few trials before each engine's model is used, so the model decides most
    ("optuna:tpe", {"n_startup_trials": 2}),
    ("skopt:gp", {"n_initial_points": 2, "acq_optimizer": "sampling",  # quicker GP steps
                  "acq_optimizer_kwargs": {"n_points": 500}}),
    ("pymoo:ga", {"pop_size": 4}),  # 2 generations
]
N_TRIALS = 8
TRIALS = {"skopt:gp": 6}  # a GP step is slow on a loaded machine: 2 batches of GP proposals
WAIT_AT_MOST = 60.0  # seconds: only a bound for a failing run, never what makes one pass


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """skopt's GP fits on one BLAS thread: on a loaded machine OpenBLAS threads spin while
    they wait for a core (a GP step took 5x longer)."""
    import numpy  # noqa: F401 - loaded, so that its thread pools can be limited
    import scipy.linalg  # noqa: F401
    import sklearn  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def value(params):
    return (params["x"] - 0.5) ** 2 + params["y"]


def spin(scale: int) -> int:
    """A random, unseeded amount of work: up to ``scale`` x 65,535 steps."""
    total = 0
    for i in range(int.from_bytes(os.urandom(2), "little") * scale):
        total += i
    return total


class Paired:
    """Trials 2k and 2k+1 form a batch. Trial 2k waits until trial 2k+1 has ended (its
    ``done-`` file): so it ends after it, the reverse of the proposal order, and it can
    complete only if both ran at the same time (2 workers at once, shown by events).
    Each trial also spins a random, unseeded while (``spin``), so timings differ every run,
    and notes (``early-N``) if it started before every trial of the earlier batches ended."""

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)

    def __call__(self, params, trial):
        batch_start = trial.number - trial.number % 2
        if not all(Path(self.folder, f"done-{m}").exists() for m in range(batch_start)):
            Path(self.folder, f"early-{trial.number}").touch()  # an earlier batch still ran
        spin(1)
        if trial.number % 2 == 0:
            partner = Path(self.folder, f"done-{trial.number + 1}")
            deadline = time.monotonic() + WAIT_AT_MOST
            while not partner.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"trial {trial.number + 1} never ended while trial "
                                       f"{trial.number} ran: not 2 trials at once")
                time.sleep(0.005)  # polling: how often to look, not how long to wait
            Path(self.folder, f"saw-{trial.number + 1}-end").touch()
            spin(8)  # longer still: an unbatched loop would start the next trial meanwhile
        Path(self.folder, f"done-{trial.number}").touch()
        return value(params)


def trial_list(result):
    return [(t.number, dict(t.params), t.values, t.state) for t in result.trials]


def run(folder: Path, backend: str, options: dict, executor: str) -> list:
    folder.mkdir()
    n_trials = TRIALS.get(backend, N_TRIALS)
    result = ut.optimize(Paired(folder), SPACE, backend=backend, options=options,
                         n_trials=n_trials, n_workers=2, seed=7, deterministic=True,
                         executor=executor)
    # every even trial saw its partner end while it ran: 2 at once, out of proposal order
    assert sorted(p.name for p in folder.glob("saw-*")) == [
        f"saw-{n}-end" for n in range(1, n_trials, 2)]
    assert not list(folder.glob("early-*"))  # a batch starts once the one before has ended
    return trial_list(result)


@pytest.mark.parametrize("executor", ["thread", "process"])
@pytest.mark.parametrize(("backend", "options"), ENGINES, ids=[b for b, _ in ENGINES])
def test_the_same_seed_repeats_the_same_trials_with_two_workers(tmp_path, backend, options,
                                                                 executor):
    runs = [run(tmp_path / f"run{i}", backend, options, executor) for i in range(5)]
    first = runs[0]
    n_trials = TRIALS.get(backend, N_TRIALS)
    assert [n for n, *_ in first] == list(range(n_trials))
    assert all(state is ut.TrialState.COMPLETE for *_, state in first)
    assert len({tuple(sorted(p.items())) for _, p, _, _ in first}) == n_trials  # a search
    for i, other in enumerate(runs[1:], 1):
        assert other == first, f"run {i} differs from run 0"


def test_threads_and_processes_give_the_same_trials(tmp_path):
    backend, options = ENGINES[0]
    assert run(tmp_path / "t", backend, options, "thread") == \
        run(tmp_path / "p", backend, options, "process")


def test_a_resumed_deterministic_study_continues_and_repeats_from_the_same_ledger(tmp_path):
    """A study resumed to a larger n_trials continues (new points, numbers after the
    first run's) and, resumed from the same ledger, repeats: two copies of the same
    first run resumed the same way hold the same trials."""
    backend, options = ENGINES[1]
    lists = []
    for copy in ("a", "b"):
        journal = str(tmp_path / f"{copy}.journal")
        folder = tmp_path / copy
        folder.mkdir()
        for n_trials in (4, 6):
            result = ut.optimize(Paired(folder), SPACE, backend=backend, options=options,
                                 n_trials=n_trials, n_workers=2, seed=7, deterministic=True,
                                 storage=journal, study_name="s")
        lists.append(trial_list(result))
    first = lists[0]
    assert [n for n, *_ in first] == list(range(6))
    assert len({tuple(sorted(p.items())) for _, p, _, _ in first}) == 6  # no replay
    assert lists[1] == first


@pytest.mark.parametrize("backend", ["ray:random", "ray:asha"])
def test_ray_refuses_deterministic_with_the_reason(tmp_path, backend):
    pytest.importorskip("ray")
    with pytest.raises(ut.errors.UnsupportedFeature) as info:
        ut.optimize(value, SPACE, backend=backend, n_trials=4, n_workers=2,
                    deterministic=True, storage=str(tmp_path / "s.journal"))
    message = str(info.value)
    assert "\n" not in message
    assert f"deterministic=True is not supported on {backend!r}" in message
    assert "order trials report them" in message and "optuna:tpe" in message
    assert not (tmp_path / "s.journal").exists()  # refused before any study or trial
    assert not get(backend).capabilities.deterministic


@pytest.mark.parametrize(("backend", "options"), ENGINES, ids=[b for b, _ in ENGINES])
def test_one_worker_is_accepted_and_runs_as_without_it(backend, options):
    results = [ut.optimize(value, SPACE, backend=backend, options=options, n_trials=4,
                           seed=3, deterministic=flag) for flag in (True, False)]
    assert trial_list(results[0]) == trial_list(results[1])


def test_deterministic_must_be_a_bool():
    with pytest.raises(ut.errors.InvalidOption, match=r"deterministic='yes' must be True or "
                                                      "False"):
        ut.optimize(value, SPACE, n_trials=2, deterministic="yes")


def _every_deterministic_backend() -> list[str]:
    from unitune.adapters import backends

    return [b.name for b in backends() if b.capabilities.deterministic and b.installed
            and b.engine not in ("auto", "ray")]


STEPPED = {"x": ut.Float(-2.0, 2.0, step=0.25), "y": ut.Float(0.0, 1.0, step=0.125)}
QUICK = {  # the model's own settings that keep a step short; the defaults otherwise
    "skopt:gp": {"n_initial_points": 2, "acq_optimizer": "sampling",
                 "acq_optimizer_kwargs": {"n_points": 500}},
    "skopt:rf": {"n_initial_points": 2}, "skopt:et": {"n_initial_points": 2},
    "skopt:gbrt": {"n_initial_points": 2},
    "optuna:tpe": {"n_startup_trials": 2}, "optuna:gp": {"n_startup_trials": 2},
    "pymoo:ga": {"pop_size": 4}, "pymoo:de": {"pop_size": 4},
    "pymoo:nsga2": {"pop_size": 4}, "pymoo:nsga3": {"pop_size": 4},
}


@pytest.mark.parametrize("backend", _every_deterministic_backend())
def test_every_backend_that_says_deterministic_repeats_with_two_workers(tmp_path, backend):
    """The conformance check: each backend whose capability says ``deterministic`` gives
    the same trials twice with 2 workers whose trials end out of proposal order (on a
    stepped space for the grid sampler, which needs steps)."""
    lists = []
    for i in range(2):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        result = ut.optimize(Paired(folder), STEPPED if backend == "optuna:grid" else SPACE,
                             backend=backend,
                             options=QUICK.get(backend, {}), n_trials=6, n_workers=2, seed=11,
                             deterministic=True)
        assert sorted(p.name for p in folder.glob("saw-*")) == ["saw-1-end", "saw-3-end",
                                                                 "saw-5-end"]
        lists.append(trial_list(result))
    assert [n for n, *_ in lists[0]] == list(range(6))
    assert all(state is ut.TrialState.COMPLETE for *_, state in lists[0])
    assert lists[1] == lists[0]
