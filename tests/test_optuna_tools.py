"""What the README promises about the ledger: ``optuna.visualization`` and optuna-dashboard
(both from the ``viz`` extra) read a study as any Optuna study, whichever engine ran it.

The studies here are run by engines other than Optuna (scikit-optimize, pymoo) into the
embedded journal file and into SQLite, then opened the way a user of each tool opens
them: plain Optuna (``JournalFileBackend`` or the URL) for the plots, and the same
string a user gives ``optuna-dashboard`` for the dashboard, whose JSON API is called
through its WSGI application (no server, no port)."""

from __future__ import annotations

import json
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import optuna
import optuna.visualization as vis
import optuna_dashboard
import pytest

import unitune as ut

SPACE = ut.Space(x=ut.Float(-5.0, 5.0), y=ut.Float(-5.0, 5.0), k=ut.Categorical(["a", "b"]))
N_TRIALS = 8
FAILING_CALL = 3  # one trial fails: the tools must count it as failed, not plot it


def _objective():
    calls = [0]

    def objective(params):
        calls[0] += 1
        if calls[0] == FAILING_CALL:
            raise RuntimeError("this trial fails on purpose")
        return (params["x"] - 1) ** 2 + params["y"] ** 2 + (params["k"] == "b")

    return objective


def _as_user_gives(kind: str, folder: Path) -> str:
    """The storage as a user writes it for unitune and for optuna-dashboard's command."""
    return str(folder / "studies.journal") if kind == "journal" else f"sqlite:///{folder}/s.db"


def _plain_optuna(storage: str):
    """The storage opened by plain Optuna, as a user of ``optuna.visualization`` does."""
    if "://" in storage:
        return storage
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(storage))


@pytest.fixture(scope="module", params=[("skopt:gp", "journal"), ("skopt:gp", "sqlite"),
                                        ("pymoo:ga", "journal")],
                ids=lambda p: "-".join(p))
def single(request, tmp_path_factory):
    backend, kind = request.param
    storage = _as_user_gives(kind, tmp_path_factory.mktemp(kind))
    options = {"n_initial_points": 4} if backend == "skopt:gp" else {"pop_size": 4}
    result = ut.optimize(_objective(), SPACE, backend=backend, n_trials=N_TRIALS, seed=0,
                         storage=storage, study_name="tools", options=options)
    return storage, result


@pytest.fixture(scope="module", params=["journal", "sqlite"])
def multi(request, tmp_path_factory):
    storage = _as_user_gives(request.param, tmp_path_factory.mktemp(request.param))

    def two(params):
        return (params["x"] ** 2, (params["x"] - 2) ** 2 + params["y"] ** 2)

    result = ut.optimize(two, SPACE, backend="pymoo:nsga2", directions=["minimize"] * 2,
                         n_trials=N_TRIALS, seed=0, storage=storage, study_name="tools2",
                         options={"pop_size": 4})
    return storage, result


def _completed(result: ut.Result) -> list[ut.TrialRecord]:
    return [t for t in result.trials if t.state == ut.TrialState.COMPLETE]


def _load(storage: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=_plain_optuna(storage))


def test_the_study_holds_a_failed_trial(single):
    _, result = single
    assert (len(result.trials), len(_completed(result))) == (N_TRIALS, N_TRIALS - 1)


def test_optimization_history_plots_every_completed_trial(single):
    storage, result = single
    figure = vis.plot_optimization_history(_load(storage, "tools"))
    points, best_line = figure.data[0], figure.data[1]
    completed = _completed(result)
    assert list(points.x) == [t.number for t in completed]
    assert list(points.y) == pytest.approx([t.value for t in completed])
    assert best_line.y[-1] == pytest.approx(result.best_value)


def test_param_importances_name_every_parameter(single):
    storage, _ = single
    figure = vis.plot_param_importances(_load(storage, "tools"))
    assert sorted(figure.data[0].y) == ["k", "x", "y"]
    assert sum(figure.data[0].x) == pytest.approx(1.0, abs=0.02)  # shares, as rounded


def test_pareto_front_plots_the_same_front(multi):
    storage, result = multi
    figure = vis.plot_pareto_front(_load(storage, "tools2"))
    front = sorted(tuple(t.values) for t in result.pareto_front)
    (best,) = [trace for trace in figure.data if "Best Trial" in trace.hovertemplate]
    assert sorted(zip(best.x, best.y)) == front
    assert sum(len(trace.x) for trace in figure.data) == N_TRIALS


def _dashboard_get(storage: str, path: str) -> dict:
    """GET ``path`` from optuna-dashboard serving ``storage`` (the string its command
    takes), through the WSGI application: the JSON body of a 200 answer."""
    app = optuna_dashboard.wsgi(storage)
    environ: dict = {}
    setup_testing_defaults(environ)
    environ["PATH_INFO"] = path
    status = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    assert status == ["200 OK"], (path, status, body[:300])
    return json.loads(body)


def _dashboard_study(storage: str, name: str) -> dict:
    listed = _dashboard_get(storage, "/api/studies")["study_summaries"]
    (study_id,) = [s["study_id"] for s in listed if s["study_name"] == name]
    return _dashboard_get(storage, f"/api/studies/{study_id}")


def test_dashboard_serves_every_trial_and_the_best(single):
    storage, result = single
    study = _dashboard_study(storage, "tools")
    assert study["directions"] == ["minimize"]
    assert [(t["number"], t["state"]) for t in study["trials"]] == [
        (t.number, t.state.value.capitalize()) for t in result.trials]
    assert [t["values"] for t in study["trials"] if t["state"] == "Complete"] == [
        [t.value] for t in _completed(result)]
    (best,) = study["best_trials"]
    assert (best["number"], best["values"]) == (result.best_trial.number, [result.best_value])
    assert {p["name"]: p["param_external_value"] for p in best["params"]} == {
        k: str(v) for k, v in result.best_params.items()}


def test_dashboard_serves_the_pareto_front(multi):
    storage, result = multi
    study = _dashboard_study(storage, "tools2")
    assert study["directions"] == ["minimize", "minimize"]
    assert len(study["trials"]) == N_TRIALS
    assert sorted(t["number"] for t in study["best_trials"]) == sorted(
        t.number for t in result.pareto_front)
