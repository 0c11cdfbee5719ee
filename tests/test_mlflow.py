"""``ut.integrations.MLflowCallback`` and ``unitune run --mlflow``: every finished trial
is an MLflow run under one parent run per study, for Ray and pymoo as for Optuna, read
back from a real MLflow store (SQLite) with ``MlflowClient``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import unitune as ut

pytest.importorskip("mlflow", reason="pip install 'unitune[track]'")

_SCRIPT = Path(sys.executable).parent / "unitune"
UNITUNE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "unitune.cli"]
SPACE = ut.Space(x=ut.Float(-3.0, 3.0), n=ut.Int(0, 4), kind=ut.Categorical(["a", "b"]))
STATUS = {ut.TrialState.COMPLETE: "FINISHED", ut.TrialState.PRUNED: "KILLED",
          ut.TrialState.FAIL: "FAILED"}


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    """One MLflow database for the module (MLflow takes seconds to create its tables);
    each test uses experiments of its own."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


def curve(params, trial):
    """Four reports converging to the value: ASHA stops the worse trials early."""
    value = abs(params["x"]) + params["n"] + (params["kind"] == "b")
    for step in range(4):
        trial.report(value * (1 + 1 / (step + 1)), step)
    return value


def two(params):
    return {"loss": params["x"] ** 2 + params["n"], "size": (params["x"] - 2) ** 2}


def read_back(tracking: str, experiment: str) -> tuple[object, dict[int, object]]:
    """The study's one parent run and its trial runs by trial number."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, experiment
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = [r for r in runs if "unitune.study_key" in r.data.tags]
    assert len(parents) == 1, [r.data.tags for r in parents]
    parent = parents[0]
    children = [r for r in runs if r is not parent]
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in children)
    by_number = {int(r.data.tags["unitune.trial"]): r for r in children}
    assert len(by_number) == len(children)  # one run per trial
    return parent, by_number


def assert_runs_equal_the_ledger(tracking: str, experiment: str, result: ut.Result,
                                 names: tuple[str, ...]) -> object:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking)
    parent, runs = read_back(tracking, experiment)
    assert sorted(runs) == [t.number for t in result.trials]
    for record in result.trials:
        run = runs[record.number]
        assert run.data.params == {k: str(v) for k, v in record.params.items()}
        values = dict(zip(names, record.values)) if record.values is not None else {}
        assert {k: v for k, v in run.data.metrics.items() if k in names} == values
        steps = [(m.step, m.value) for m in client.get_metric_history(
            run.info.run_id, "intermediate_value")]
        assert sorted(steps) == sorted(record.intermediate.items())
        assert run.info.status == STATUS[record.state]
        assert run.data.tags["unitune.state"] == record.state.value
        assert run.data.tags["unitune.backend"] == record.backend
        assert run.data.tags["unitune.study"] == result.study_name
        assert run.info.start_time == round(record.datetime_start.timestamp() * 1000)
        assert run.info.end_time - run.info.start_time == round(record.duration * 1000)
    assert parent.info.run_name == result.study_name
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["trials"] == len(result.trials)
    return parent


def test_each_ray_trial_is_a_run_logged_by_the_driver_process(tracking, tmp_path):
    pids = []
    callback = ut.integrations.MLflowCallback(tracking_uri=tracking, experiment="ray")
    result = ut.optimize(curve, SPACE, backend="ray:asha", n_trials=5, seed=0,
                         storage=str(tmp_path / "s.journal"), study_name="ray-asha",
                         options={"max_t": 4, "reduction_factor": 2},
                         callbacks=[callback, lambda record: pids.append(os.getpid())])
    assert len(result.trials) == 5 and all(t.intermediate for t in result.trials)
    # Ray's trials ran in Ray's workers; every callback ran here, in the driver
    assert pids == [os.getpid()] * 5
    parent = assert_runs_equal_the_ledger(tracking, "ray", result, ("value",))
    assert parent.data.metrics["best_value"] == result.best_value
    assert parent.data.tags["unitune.best_trial"] == str(result.best_trial.number)
    assert parent.data.tags["unitune.backend"] == "ray:asha"


def test_a_pymoo_study_logs_its_named_metrics_and_its_pareto_front(tracking, tmp_path):
    callback = ut.integrations.MLflowCallback(tracking_uri=tracking, experiment="pymoo",
                                              tags={"team": "hpo"})
    result = ut.optimize(two, SPACE, backend="pymoo:nsga2", metrics=["loss", "size"],
                         directions=["minimize", "minimize"], n_trials=8, seed=0,
                         storage=str(tmp_path / "s.journal"), study_name="moo",
                         options={"pop_size": 4}, callbacks=[callback])
    parent = assert_runs_equal_the_ledger(tracking, "pymoo", result, ("loss", "size"))
    assert parent.data.metrics["pareto_front_size"] == len(result.pareto_front)
    assert parent.data.tags["unitune.pareto_front"] == ",".join(
        str(t.number) for t in result.pareto_front)
    assert parent.data.tags["unitune.metrics"] == "loss,size"
    assert parent.data.tags["team"] == "hpo"


def fails_once(params, trial):
    if trial.number == 1:
        raise ValueError("no data for this one")
    return params["x"] ** 2


def test_a_resumed_study_adds_its_trials_under_the_same_parent(tracking, tmp_path):
    storage = str(tmp_path / "s.journal")
    for n_trials in (3, 5):  # a second run (a new callback) finishes the study
        callback = ut.integrations.MLflowCallback(tracking_uri=tracking)
        result = ut.optimize(fails_once, SPACE, backend="optuna:random", n_trials=n_trials,
                             seed=0, storage=storage, study_name="resumed",
                             callbacks=[callback])
    assert [t.state for t in result.trials].count(ut.TrialState.FAIL) == 1
    # the experiment is named after the study by default
    assert_runs_equal_the_ledger(tracking, "resumed", result, ("value",))
    _, runs = read_back(tracking, "resumed")
    assert runs[1].data.tags["unitune.error"] == "ValueError: no data for this one"


def test_threads_share_one_callback(tracking):
    callback = ut.integrations.MLflowCallback(tracking_uri=tracking, experiment="threads")
    result = ut.optimize(lambda p: p["x"] ** 2, SPACE, backend="optuna:random", n_trials=8,
                         n_workers=4, seed=0, callbacks=[callback])
    assert_runs_equal_the_ledger(tracking, "threads", result, ("value",))


def test_unitune_run_mlflow_logs_the_study(tracking, tmp_path):
    (tmp_path / "obj.py").write_text(textwrap.dedent("""
        SPACE = {"x": {"type": "float", "low": -2, "high": 2}}

        def f(params):
            return (params["x"] - 1) ** 2
        """))
    proc = subprocess.run([*UNITUNE, "run", "obj.py:f", "--n-trials", "4", "--seed", "0",
                           "--study", "cli", "--quiet", "--mlflow", tracking],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = ut.load("cli", str(tmp_path / ".unitune" / "studies.journal"))
    assert_runs_equal_the_ledger(tracking, "cli", result, ("value",))


def test_what_cannot_track_is_one_line(tracking, tmp_path):
    with pytest.raises(ut.InvalidOption, match="tracking_uri=''"):
        ut.integrations.MLflowCallback(tracking_uri="")
    with pytest.raises(ut.InvalidOption, match="told of its study by ut.optimize"):
        ut.integrations.MLflowCallback(tracking_uri=tracking)(ut.TrialRecord(
            0, {"x": 1.0}, ut.TrialState.COMPLETE, (1.0,)))
    same = f"sqlite:///{tmp_path}/both.db"
    with pytest.raises(ut.InvalidOption, match="is the study's storage"):
        ut.optimize(lambda p: p["x"], SPACE, n_trials=1, storage=same, callbacks=[
            ut.integrations.MLflowCallback(tracking_uri=same)])
    (tmp_path / "a-file").write_text("")
    calls = []

    def objective(params):
        calls.append(params)
        return params["x"]

    for wrong in (f"sqlite:///{tmp_path}/a-file/m.db", "nosuchscheme://host"):
        with pytest.raises(ut.StorageError, match="tracking_uri=") as caught:
            ut.optimize(objective, SPACE, n_trials=1, callbacks=[
                ut.integrations.MLflowCallback(tracking_uri=wrong)])
        assert "\n" not in str(caught.value) and wrong in str(caught.value)
        assert calls == []  # refused before the first trial


def test_a_study_that_fails_leaves_its_parent_run_failed(tracking):
    callback = ut.integrations.MLflowCallback(tracking_uri=tracking, experiment="stopped")
    with pytest.raises(ut.ObjectiveError, match="on_failure='stop'"):
        ut.optimize(fails_once, SPACE, backend="optuna:random", n_trials=4, seed=0,
                    on_failure="stop", callbacks=[callback])
    parent, runs = read_back(tracking, "stopped")
    assert parent.info.status == "FAILED"
    assert sorted(runs) == [0]  # the failing trial stopped the study before its callbacks


class Watcher:
    """A user's callback that wants the study too."""

    def __init__(self):
        self.events = []

    def on_study_start(self, info):
        self.events.append(("start", info))

    def __call__(self, record):
        self.events.append(("trial", record.number))

    def on_study_end(self, result):
        self.events.append(("end", result))


def test_a_callback_is_told_of_the_study_before_and_after_its_trials(tmp_path):
    watcher = Watcher()
    storage = str(tmp_path / "s.journal")
    result = ut.optimize(two, SPACE, backend="optuna:random", metrics=["loss", "size"],
                         directions=["minimize", "maximize"], n_trials=3, seed=0,
                         storage=storage, study_name="watched", callbacks=[watcher])
    (_, info), *trials, (_, ended) = watcher.events
    assert (info.study_name, info.directions, info.metrics, info.backend, info.storage) == (
        "watched", ("minimize", "maximize"), ("loss", "size"), "optuna:random", storage)
    assert trials == [("trial", 0), ("trial", 1), ("trial", 2)]
    assert ended == result
