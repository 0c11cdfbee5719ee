"""Pictures of a study (``result.plot``, ``ut.plot``, ``unitune plot``): every kind on a
study made by each engine, saved as PNG and read back as an image that shows
something; a kind that does not fit the study is refused in one line, nothing drawn.

The four studies (one per engine, the Ray one the session's only Ray study) are made
once for the module, in one journal file; each reports three steps, and its trial 2
fails."""

from __future__ import annotations

import os
import socket
import sys
import warnings
from datetime import datetime

import pytest

import unitune as ut
from unitune.cli import main
from unitune.plots import KINDS

PIL = pytest.importorskip("PIL.Image")

SPACE = ut.Space(x=ut.Float(1e-3, 10, log=True), n=ut.Int(1, 8), k=ut.Categorical(["a", "b"]))
ENGINES = {  # study name -> backend, options, directions
    "tpe": ("optuna:tpe", {}, ["minimize"]),
    "gp": ("skopt:gp", {"n_initial_points": 5}, ["minimize"]),
    "asha": ("ray:asha", {"max_t": 3, "grace_period": 1}, ["minimize"]),
    "nsga2": ("pymoo:nsga2", {"pop_size": 6}, ["minimize", "minimize"]),
}
ONE_OBJECTIVE = ("tpe", "gp", "asha")


def single(params, trial):
    """Reports three steps; trial 2 fails (the export and the timeline show it)."""
    value = params["x"] + params["n"] + (params["k"] == "a")
    for step in range(3):
        trial.report(value * (3 - step), step)
    if trial.number == 2:
        raise ValueError("trial 2 fails on purpose")
    return value


def double(params, trial):
    return single(params, trial), (10 - params["x"]) * params["n"]


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("plots") / "studies.journal")
    for name, (backend, options, directions) in ENGINES.items():
        with warnings.catch_warnings():  # skopt and pymoo say that they do not prune
            warnings.filterwarnings("ignore", message=".*does not prune")
            ut.optimize(double if len(directions) > 1 else single, SPACE, backend=backend,
                        n_trials=12, seed=0, options=options, directions=directions,
                        metrics=["cost", "size"] if len(directions) > 1 else None,
                        storage=path, study_name=name)
    return path


@pytest.fixture(autouse=True)
def _close_figures():
    """A Figure stays open in pyplot, as Optuna's do, until closed: close each test's."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def picture(path) -> tuple[int, int]:
    """The size of the PNG at ``path``, checked to be an image of more than one colour."""
    with PIL.open(path) as image:
        assert image.format == "PNG"
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is None or len(colours) > 10, f"{path} is blank"
        return image.size


def plot_cli(*args: str) -> int:
    return main(["plot", *args])


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("study", list(ENGINES))
def test_every_kind_of_every_engine_as_a_png(study, kind, journal, tmp_path, capsys):
    out = tmp_path / f"{kind}.png"
    code = plot_cli("--study", study, "--storage", journal, "--kind", kind, "--out", str(out))
    if kind == "pareto" and study in ONE_OBJECTIVE:
        assert code == 2 and not out.exists()
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "2 or 3 objectives" in err and repr(study) in err
        return
    assert code == 0, capsys.readouterr().err
    width, height = picture(out)
    assert width > 300 and height > 200


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("study", ["tpe", "nsga2"])
def test_result_plot_gives_a_matplotlib_figure(study, kind, journal, tmp_path):
    from matplotlib.figure import Figure

    result = ut.load(study, journal)
    if kind == "pareto" and study in ONE_OBJECTIVE:
        with pytest.raises(ut.InvalidOption, match="needs a study of 2 or 3 objectives"):
            result.plot(kind)
        return
    figure = result.plot(kind)
    assert isinstance(figure, Figure) and figure.axes
    figure.savefig(tmp_path / "f.png", dpi=60)
    picture(tmp_path / "f.png")


def test_a_result_in_memory_draws_with_its_spaces_log_scale():
    result = ut.optimize(single, SPACE, n_trials=10, seed=0)  # storage=None
    assert result.space == SPACE
    figure = result.plot("slice", params=["x"])
    assert figure.axes[0].get_xscale() == "log"
    assert ut.plot(result, "history").axes  # ut.plot is the same function


def test_a_result_built_by_hand_draws_without_a_space_but_has_no_timeline():
    trials = tuple(ut.TrialRecord(i, {"x": float(i), "k": "ab"[i % 2]}, ut.TrialState.COMPLETE,
                                  values=(i * i,), duration=1.0) for i in range(5))
    result = ut.Result("by-hand", ("minimize",), trials)
    assert result.plot("parallel").axes
    with pytest.raises(ut.InvalidOption, match="start times"):
        result.plot("timeline")
    dated = ut.Result("dated", ("minimize",), tuple(
        ut.TrialRecord(t.number, t.params, t.state, values=t.values, duration=1.0,
                       datetime_start=datetime(2024, 1, 1, 0, t.number)) for t in trials))
    assert dated.plot("timeline").axes


def test_edf_draws_several_studies_of_every_engine(journal, tmp_path):
    out = tmp_path / "edf.png"
    names = [arg for study in ENGINES for arg in ("--study", study)]
    assert plot_cli(*names, "--storage", journal, "--kind", "edf", "--out", str(out)) == 0
    picture(out)
    results = [ut.load(name, journal) for name in ENGINES]
    assert ut.plot(results, "edf", target=0).axes  # the first value of each


def test_html_is_drawn_by_plotly(journal, tmp_path):
    out = tmp_path / "front.html"
    assert plot_cli("--study", "nsga2", "--storage", journal, "--kind", "pareto",
                    "--out", str(out), "--target", "size") == 2  # pareto takes no target
    assert plot_cli("--study", "nsga2", "--storage", journal, "--kind", "pareto",
                    "--out", str(out)) == 0
    assert "plotly" in out.read_text()[:100_000]


MISFITS = [  # (study, args for kind and the rest, what the one line says)
    ("tpe", ["--kind", "contour", "--params", "x", "nope"], "param 'nope' is not a param"),
    ("tpe", ["--kind", "contour", "--params", "x"], "needs 2 params or more"),
    ("tpe", ["--kind", "history", "--params", "x"], "takes no params"),
    ("tpe", ["--kind", "history", "--target", "size"], "target 'size' is not a value"),
    ("nsga2", ["--kind", "slice", "--target", "2"], "target 2 is not a value"),
    ("tpe", ["--kind", "timeline", "--study", "gp"], "draws one study, not 2"),
    ("tpe", ["--kind", "history", "--out", "x.jpg"], "--out 'x.jpg'"),
    ("tpe", ["--kind", "history", "--out", "no/such/folder/x.png"], "does not exist"),
    ("missing", ["--kind", "history"], "study 'missing' is not in storage"),
]


@pytest.mark.parametrize("study, args, says", MISFITS)
def test_a_kind_that_does_not_fit_is_refused_in_one_line(study, args, says, journal,
                                                         tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert plot_cli("--study", study, "--storage", journal, *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err
    assert os.listdir(tmp_path) == []  # nothing drawn


def test_studies_without_reports_or_enough_trials_are_refused_in_python():
    quiet = ut.optimize(lambda p: p["x"] + p["n"], SPACE, n_trials=3, seed=0)
    with pytest.raises(ut.InvalidOption, match="no trial of study 'unitune' reported"):
        quiet.plot("intermediate")
    one = ut.optimize(lambda p: p["x"], ut.Space(x=ut.Float(0, 1)), n_trials=3, seed=0)
    with pytest.raises(ut.InvalidOption, match="needs 2 params every completed trial holds"):
        one.plot("importance")
    failing = ut.optimize(lambda p, trial: p["x"] if trial.number == 0 else 1 / 0, SPACE,
                          n_trials=4, seed=0)
    with pytest.raises(ut.InvalidOption, match="importance' needs 2 completed"):
        failing.plot("importance")
    with pytest.raises(ut.InvalidOption, match="kind 'bars' is not a kind of plot"):
        quiet.plot("bars")
    with pytest.raises(ut.InvalidOption, match="edf' compares studies that go the same way"):
        ut.plot([quiet, ut.optimize(lambda p: p["x"], SPACE, n_trials=2,
                                    direction="maximize")], "edf")


def test_a_ray_trial_names_the_worker_process_that_ran_it(journal):
    trials = ut.load("asha", journal).trials
    workers = {t.worker for t in trials}
    assert all(w and w.rpartition(":")[2].isdigit() for w in workers)
    assert f"{socket.gethostname()}:{os.getpid()}" not in workers  # not the driver
    local = {t.worker for t in ut.load("tpe", journal).trials}
    assert local == {f"{socket.gethostname()}:{os.getpid()}"}


def test_the_pareto_plot_tells_infeasible_trials_apart(tmp_path):
    def objective(params, trial):
        trial.constraint(0.5 - params["x"])  # feasible when x >= 0.5
        return params["x"], 1 - params["x"]

    result = ut.optimize(objective, ut.Space(x=ut.Float(0, 1)), n_trials=12, seed=0,
                         directions=["minimize", "minimize"])
    assert {t.feasible for t in result.trials} == {True, False}
    labels = [t.get_text() for t in result.plot("pareto").axes[0].get_legend().get_texts()]
    assert "Infeasible Trial" in labels
