"""The Ray Tune backends: what a user scaling out with ``ray:*`` relies on.

All tests share the one local Ray runtime the adapter starts on first use (the
conftest stops it at the end of the session); the cluster test starts its own
head with ``ray start`` and stops it by process id.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import unitune as ut
from benchmarks import ray_sockets
from recipes import asha as asha_recipe
from recipes import pbt as pbt_recipe

HISTORY = "unitune:params_history"


def curve(params, trial):
    """Eight steps converging to |x|: trials with a large |x| fall behind early."""
    quality = abs(params["x"])
    for step in range(8):
        trial.report(quality * (1 + 1 / (step + 1)), step)
    return quality


def accumulate(params, trial):
    """Adds x at every step to a running total kept in the trial's checkpoint; the
    total therefore shows whose state a trial continued from."""
    state = trial.restore() or {"step": 0, "total": 0.0}
    for step in range(state["step"] + 1, 13):
        state = {"step": step, "total": state["total"] + params["x"]}
        trial.checkpoint(state)
        trial.report(state["total"], step)
    return state["total"]


def logged(log):
    """``curve``, writing each (re)start of a trial to ``log``: the number the worker
    sees and the params it starts from, in the order trials start."""

    def objective(params, trial):
        with open(log, "a") as fh:
            fh.write(json.dumps({"number": trial.number, "params": params}) + "\n")
        return curve(params, trial)

    return objective


def starts(log):
    """(number, params) of each trial, in the order the trials first started."""
    out = {}
    with open(log) as fh:
        for line in fh:
            entry = json.loads(line)
            out.setdefault(entry["number"], entry["params"])
    return list(out.items())


def left_unfinished(path, name):
    """The numbers of the trials the ledger holds as WAITING or RUNNING."""
    import optuna

    from unitune.ledger import open_storage

    study = optuna.load_study(study_name=name, storage=open_storage(path))
    return [t.number for t in study.get_trials(states=(optuna.trial.TrialState.WAITING,
                                                        optuna.trial.TrialState.RUNNING))]


def a_study_with_queued_trials(path, name, space):
    """Three finished trials, the fourth cut short by Ctrl-C (optimize fails it as
    interrupted and queues its params again: trial 4) and one point the user enqueued
    with Optuna (trial 5). Returns the queued params, in queue order."""
    import optuna

    from unitune.ledger import open_storage

    calls = []

    def interrupted_on_the_fourth(params):
        calls.append(params)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return abs(params["x"])

    first = ut.optimize(interrupted_on_the_fourth, space, backend="optuna:random",
                        n_trials=10, seed=0, storage=path, study_name=name)
    assert first.interrupted and len(calls) == 4
    user_point = {"x": 0.25, "k": "b"}
    optuna.load_study(study_name=name, storage=open_storage(path)).enqueue_trial(user_point)
    return [calls[3], user_point]


QUEUED_SPACE = ut.Space(x=ut.Float(-3.0, 3.0), k=ut.Categorical(["a", "b", "c"]))


@pytest.mark.parametrize("backend, options", [
    ("ray:random", None),
    ("ray:asha", {"max_t": 8, "reduction_factor": 2}),
    ("ray:optuna", None),
    ("ray:pbt", {"perturbation_interval": 2}),
])
def test_a_resumed_study_runs_its_queued_trials_first_on_their_own_numbers(
        backend, options, tmp_path):
    path, log = str(tmp_path / "s.journal"), str(tmp_path / "starts.jsonl")
    queued = a_study_with_queued_trials(path, "q", QUEUED_SPACE)
    assert [(t.number, t.state) for t in ut.load("q", path).trials] == [
        (0, ut.TrialState.COMPLETE), (1, ut.TrialState.COMPLETE), (2, ut.TrialState.COMPLETE),
        (3, ut.TrialState.FAIL)]
    assert left_unfinished(path, "q") == [4, 5]

    result = ut.optimize(logged(log), QUEUED_SPACE, backend=backend, n_trials=7, seed=0,
                         storage=path, study_name="q", options=options)

    # The queued params ran first, as the trials that were waiting for them.
    started = starts(log)
    assert started[:2] == [(4, queued[0]), (5, queued[1])]
    # Every trial ran under its ledger number (what trial.number says in the worker).
    assert [n for n, _ in started] == [4, 5, 6, 7]
    by_number = {t.number: t for t in result.trials}
    for number, params in started:
        history = by_number[number].user_attrs.get(HISTORY)  # PBT: params it started with
        assert (history[0]["params"] if history else by_number[number].params) == params
    assert [t.backend for t in result.trials[4:]] == [backend] * 4
    # Nothing is left waiting or running; the study holds n_trials finished trials, plus
    # the interrupted one, which does not count.
    assert left_unfinished(path, "q") == []
    assert all(t.state.is_finished() for t in result.trials)
    assert [t.number for t in result.trials] == list(range(8))
    assert by_number[3].user_attrs.get("unitune:interrupted") is True
    assert sum(not t.user_attrs.get("unitune:interrupted") for t in result.trials) == 7


def test_queued_trials_beyond_the_budget_wait_for_the_next_resume(tmp_path):
    path, log = str(tmp_path / "s.journal"), str(tmp_path / "starts.jsonl")
    queued = a_study_with_queued_trials(path, "b", QUEUED_SPACE)
    ut.optimize(logged(log), QUEUED_SPACE, backend="ray:random", n_trials=4,
                storage=path, study_name="b")
    assert starts(log) == [(4, queued[0])]
    assert left_unfinished(path, "b") == [5]
    result = ut.optimize(logged(log), QUEUED_SPACE, backend="ray:random", n_trials=5,
                         storage=path, study_name="b")
    assert starts(log) == [(4, queued[0]), (5, queued[1])]
    assert left_unfinished(path, "b") == []
    assert [(t.number, t.params) for t in result.trials[4:]] == [(4, queued[0]),
                                                                 (5, queued[1])]


def test_asha_prunes_most_trials_and_trains_a_fraction_of_the_epochs():
    # One worker: which trials ASHA stops then depends only on the seed. With two, it
    # depends on which trial reaches a rung first (one more trial run to the end moves
    # the ratio by ~0.08); benchmarks/multifidelity_ray.py measures the 2-worker figures.
    pruned = asha_recipe.run("ray:asha", n_trials=12, n_workers=1, seed=3)
    full = asha_recipe.run("ray:random", n_trials=12, n_workers=1, seed=3)
    # The same seed gives both runs the same configurations, in the same order.
    assert [t.params for t in pruned.trials] == [t.params for t in full.trials]
    states = [t.state for t in pruned.trials]
    assert states.count(ut.TrialState.PRUNED) >= len(states) / 2
    assert all(t.state is ut.TrialState.COMPLETE for t in full.trials)
    for t in pruned.trials:
        if t.state is ut.TrialState.PRUNED:
            assert 1 <= len(t.intermediate) < asha_recipe.EPOCHS
        else:
            assert len(t.intermediate) == asha_recipe.EPOCHS
            assert t.value == t.intermediate[asha_recipe.EPOCHS]
    ratio = asha_recipe.epochs_trained(pruned) / asha_recipe.epochs_trained(full)
    assert ratio <= 0.4, ratio
    assert 0.0 < pruned.best_value <= 1.0


def test_pbt_trial_continues_from_a_copied_state_with_mutated_params():
    # Synchronous PBT: the population meets at steps 3, 6, 9 and 12 and each time the
    # worst quarter (one trial) copies the best: four exploits, whatever the timing.
    space = ut.Space(x=ut.Float(0.0, 1.0))
    result = ut.optimize(accumulate, space, backend="ray:pbt", direction="maximize",
                         n_trials=4, n_workers=4, seed=0,
                         options={"perturbation_interval": 3, "cpus_per_trial": 0.5,
                                  "resample_probability": 0.0, "synch": True})
    assert len(result.completed) == 4
    by_number = {t.number: t for t in result.trials}
    steps, continued = [], []
    for t in result.trials:
        history = t.user_attrs.get(HISTORY) or []
        for before, after in zip(history, history[1:]):
            step, source = after["step"], by_number[after["from"]]
            steps.append(step)
            assert after["params"] != before["params"]  # explore mutated x
            assert source.number != t.number
            if step + 1 in t.intermediate and step in source.intermediate:
                # The first step after the exploit adds the new x to the copied total.
                expected = source.intermediate[step] + after["params"]["x"]
                continued.append(math.isclose(t.intermediate[step + 1], expected,
                                              rel_tol=1e-9))
        if history:
            assert dict(t.params) == history[-1]["params"]  # the ledger holds the last params
    assert sorted(steps) == [3, 6, 9, 12]
    assert continued and any(continued), continued


def test_synchronous_pbt_repeats_under_a_seed():
    # Ray's PBT draws donors and perturbations from the global random generators; unitune
    # gives it its own, seeded. Synchronous PBT then repeats exactly under a seed, whatever
    # the caller did to the global generators.
    runs = []
    for caller_seed in (1, 2):
        random.seed(caller_seed)
        np.random.seed(caller_seed)
        result = ut.optimize(accumulate, ut.Space(x=ut.Float(0.0, 1.0)), backend="ray:pbt",
                             direction="maximize", n_trials=4, n_workers=4, seed=0,
                             options={"perturbation_interval": 3, "cpus_per_trial": 0.5,
                                      "synch": True})
        runs.append([(t.number, t.value, dict(t.params), t.user_attrs.get(HISTORY))
                     for t in result.trials])
    assert runs[0] == runs[1]
    assert sum(len(history) - 1 for *_, history in runs[0] if history) == 4  # at 3, 6, 9, 12


def together(objective, folder, n):
    """``objective``, holding each trial at its first start until ``n`` trials have
    started: asynchronous PBT compares only the trials running at the same time, and a
    loaded machine can otherwise start one worker after another has finished."""

    def wrapped(params, trial):
        if trial.restore() is None:
            Path(folder, f"started-{trial.number}").touch()
            deadline = time.monotonic() + 60
            while len(os.listdir(folder)) < n and time.monotonic() < deadline:
                time.sleep(0.05)
        return objective(params, trial)

    return wrapped


def restores_logged(log):
    """``accumulate``, writing to ``log`` the step of each state a trial starts from
    (what ``trial.restore`` gave it: its own after a pause, the donor's after an exploit)."""

    def objective(params, trial):
        state = trial.restore()
        if state is not None:
            with open(log, "a") as fh:
                fh.write(json.dumps({"number": trial.number, "step": state["step"]}) + "\n")
        return accumulate(params, trial)

    return objective


def test_pbt_history_records_the_step_of_the_copied_checkpoint(tmp_path):
    # Asynchronous PBT (the default): each exploit's step is that of the checkpoint PBT
    # copied (a perturbation step, a multiple of the interval here), and the trial
    # restarts from a state of that step, not from the donor's latest report (which can
    # be later: the donor trains on while its checkpoint is saved). Whether an exploit
    # happens at all depends on which trials report when, so up to three seeds run
    # until one has exploits; every event of every run is checked.
    events = 0
    for seed in range(3):
        run_dir = tmp_path / f"seed{seed}"
        (run_dir / "started").mkdir(parents=True)
        log = run_dir / "restores.jsonl"
        objective = together(restores_logged(str(log)), str(run_dir / "started"), 4)
        result = ut.optimize(objective, ut.Space(x=ut.Float(0.0, 1.0)), backend="ray:pbt",
                             direction="maximize", n_trials=4, n_workers=4, seed=seed,
                             options={"perturbation_interval": 3, "cpus_per_trial": 0.5})
        assert len(result.completed) == 4
        restored: dict[int, list[int]] = {}
        if log.exists():
            for line in log.read_text().splitlines():
                entry = json.loads(line)
                restored.setdefault(entry["number"], []).append(entry["step"])
        for t in result.trials:
            history = t.user_attrs.get(HISTORY) or []
            starts = list(restored.get(t.number, []))
            for after in history[1:]:
                events += 1
                assert after["step"] % 3 == 0 and 3 <= after["step"] <= 12, history
                assert after["step"] in starts, (t.number, history, starts)
                starts.remove(after["step"])  # one restart per exploit
        if events:
            break
    assert events >= 1


def test_pbt_recipe_shows_exploit_events_and_final_accuracy():
    out = pbt_recipe.main(["--n-trials", "4", "--interval", "5"])
    assert not out["synchronous"] and out["exploit_events"] >= 1
    assert all(e["epoch"] % 5 == 0 for e in out["events"])
    event = out["events"][0]
    assert event["copied_from"] != event["trial"]
    changed = {k for k in event["params_after"]
               if event["params_after"][k] != event["params_before"][k]}
    assert changed  # the copied trial runs on with other params
    assert len(out["final_accuracy"]) == 4
    assert 0.5 < out["best_accuracy"] <= 1.0


def constrained(params, trial):
    trial.constraint(params["x"] - 0.5)  # feasible when x <= 0.5
    return params["x"]


def test_constraints_declared_in_a_worker_reach_the_result():
    result = ut.optimize(constrained, ut.Space(x=ut.Float(0.0, 1.0)), backend="ray:random",
                         direction="maximize", n_trials=12, seed=0)
    assert all(t.constraints == (t.params["x"] - 0.5,) for t in result.trials)
    assert any(not t.feasible for t in result.trials)
    assert result.best_value == max(t.value for t in result.completed if t.feasible) <= 0.5


def test_an_objective_ray_cannot_pickle_is_refused_before_any_trial(tmp_path):
    lock = threading.Lock()

    def holds_a_lock(params):
        with lock:
            return params["x"]

    path = str(tmp_path / "l.journal")
    with pytest.raises(ut.ObjectiveError, match=r"holds_a_lock.*cannot be pickled.*lock"):
        ut.optimize(holds_a_lock, ut.Space(x=ut.Float(0, 1)), backend="ray:random",
                    n_trials=3, storage=path, study_name="s")
    assert ut.load("s", path).trials == ()


@pytest.mark.parametrize("backend, options, directions, error, match", [
    ("ray:asha", {"perturbation_interval": 3}, None, ut.InvalidOption,
     "applies to scheduler pbt"),
    ("ray:asha", {"grace_period": 50, "max_t": 10}, None, ut.InvalidOption, "exceed max_t"),
    ("ray:asha", {"reduction_factor": 0}, None, ut.InvalidOption, "reduction_factor=0"),
    ("ray:pbt", {"hyperparam_mutations": ["y"]}, None, ut.InvalidOption, "'y'"),
    ("ray:pbt", {"hyperparam_mutations": {"x": [5.0]}}, None, ut.InvalidOption, "5.0"),
    ("ray:pbt", {"synch": "yes"}, None, ut.InvalidOption, "synch='yes' must be True or False"),
    ("ray:asha", {"synch": True}, None, ut.InvalidOption, "applies to scheduler pbt"),
    ("ray:random", {"scheduler": "bohb"}, None, ut.InvalidOption, "scheduler='bohb'"),
    ("ray:random", {"searcher": "hyperopt"}, None, ut.InvalidOption, "searcher='hyperopt'"),
    ("ray:random", {"max_failures": -1}, None, ut.InvalidOption, "max_failures=-1"),
    ("ray:asha", None, ["minimize", "minimize"], ut.UnsupportedFeature, "single-objective"),
    ("ray:optuna", {"scheduler": "median"}, ["minimize", "maximize"], ut.UnsupportedFeature,
     "median scheduler follows one metric"),
])
def test_bad_options_are_refused_before_any_trial(backend, options, directions, error, match):
    called = []
    with pytest.raises(error, match=match):
        ut.optimize(lambda p: called.append(p) or 0.0, ut.Space(x=ut.Float(0, 1)),
                    backend=backend, n_trials=3, options=options, directions=directions)
    assert called == []


def test_a_trial_no_node_could_run_is_refused_instead_of_waiting_forever():
    called = []
    with pytest.raises(ut.InvalidOption, match=r"gpus_per_trial=1.*0 GPU"):
        ut.optimize(lambda p: called.append(p) or 0.0, ut.Space(x=ut.Float(0, 1)),
                    backend="ray:random", n_trials=2, options={"gpus_per_trial": 1})
    assert called == []


def test_tpe_search_with_asha_stopping_writes_everything_to_the_ledger(tmp_path):
    path = str(tmp_path / "ray.journal")
    space = ut.Space(x=ut.Float(-3.0, 3.0))
    first = ut.optimize(curve, space, backend="ray:optuna", n_trials=16, seed=1,
                        storage=path, study_name="mixed",
                        options={"scheduler": "asha", "max_t": 8, "reduction_factor": 2})
    assert {t.state for t in first.trials} == {ut.TrialState.COMPLETE, ut.TrialState.PRUNED}
    # The study goes on with another backend, from everything Ray recorded.
    second = ut.optimize(curve, space, backend="optuna:tpe", n_trials=20, seed=1,
                         storage=path, study_name="mixed")
    stored = ut.load("mixed", path)
    assert [t.number for t in stored.trials] == list(range(20))
    assert [t.backend for t in stored.trials] == ["ray:optuna"] * 16 + ["optuna:tpe"] * 4
    for t in stored.trials[:16]:
        assert t.intermediate == first.trials[t.number].intermediate
        assert len(t.intermediate) == (8 if t.state is ut.TrialState.COMPLETE else
                                       len(t.intermediate)) >= 1
    assert second.best_value == min(t.value for t in stored.completed)


def test_the_runtime_is_reused_and_the_console_stays_quiet(capfd):
    import ray

    def chatty(params):
        print("hello from the objective")
        return params["x"]

    ut.optimize(chatty, ut.Space(x=ut.Float(0, 1)), backend="ray:random", n_trials=3)
    node = ray.get_runtime_context().get_node_id()
    ut.optimize(chatty, ut.Space(x=ut.Float(0, 1)), backend="ray:asha", n_trials=3)
    assert ray.get_runtime_context().get_node_id() == node
    out, err = capfd.readouterr()
    assert "hello from the objective" not in out + err
    assert "Trial" not in out + err and "== Status ==" not in out + err


def test_the_local_runtime_listens_on_loopback_only_and_keeps_its_folder_private(tmp_path):
    # The objective lists, during its trial, the listening TCP sockets of the driver and
    # every process of the runtime (GCS, raylet, agents, the trial's worker).
    report = ray_sockets.measure(str(tmp_path))
    assert report["trials_probed"] == 2
    processes = {s["process"] for s in report["sockets"]}
    assert {"driver", "gcs_server", "raylet"} <= processes, report["sockets"]
    assert [s for s in report["sockets"] if not s["loopback"]] == []
    # Ray makes its own folders 0777; they sit in a folder only this user may enter.
    private = report["private_folder"]
    assert private is not None and private != report["session_dir"], report["folders"]
    assert os.stat(private).st_mode & 0o777 == 0o700


def test_the_runtime_folder_is_one_only_its_user_may_enter(tmp_path, monkeypatch):
    from unitune.adapters.ray import _runtime

    monkeypatch.setattr(_runtime, "_TEMP_ROOT", str(tmp_path))
    mine = tmp_path / f"ray-unitune-{os.getuid()}"
    assert _runtime._private_temp_dir() == str(mine)  # made, 0700
    assert mine.stat().st_mode & 0o777 == 0o700
    assert _runtime._private_temp_dir() == str(mine)  # and used again
    mine.chmod(0o777)  # left open (or made by someone else): not used
    other = Path(_runtime._private_temp_dir())
    assert other != mine and other.parent == tmp_path
    assert other.stat().st_mode & 0o777 == 0o700


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc: the head's raylet, GCS, workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def test_a_study_runs_on_a_cluster_given_by_address(tmp_path):
    from unitune.adapters.ray import _runtime as _ray_runtime

    port = _free_port()
    temp = f"/tmp/ray-ut-{os.getpid()}"  # short: Ray's socket paths live under it
    ray_bin = str(Path(sys.executable).with_name("ray"))
    head = subprocess.Popen(
        [ray_bin, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--include-dashboard=false", "--num-cpus=2", f"--temp-dir={temp}",
         "--block"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        address = f"127.0.0.1:{port}"
        result = None
        for _ in range(60):  # the head takes a few seconds to accept drivers
            try:
                result = ut.optimize(curve, ut.Space(x=ut.Float(-1, 1)), backend="ray:asha",
                                     n_trials=6, seed=0, n_workers=2,
                                     options={"address": address, "max_t": 8})
                break
            except ut.InvalidOption as exc:
                if "could not join" not in str(exc):
                    raise
                time.sleep(1)
        assert result is not None and len(result.trials) == 6
        assert all(t.state.is_finished() for t in result.trials)
        import ray

        assert ray.get_runtime_context().gcs_address.endswith(f":{port}")
        assert ray.cluster_resources()["CPU"] == 2
    finally:
        _ray_runtime.shutdown()
        procs = [head.pid] + _descendants(head.pid)
        for pid in procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        head.wait(timeout=30)
    deadline = time.monotonic() + 30
    alive = procs
    while alive and time.monotonic() < deadline:
        alive = [p for p in procs if _running(p)]
        time.sleep(0.2)
    assert alive == []
    shutil.rmtree(temp, ignore_errors=True)


def _running(pid: int) -> bool:
    """``pid`` exists and is not a zombie (it may vanish while being read)."""
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
    except OSError:
        return False
