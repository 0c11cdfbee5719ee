"""The `unitune` command as a user types it: backends, run, show, studies, bad input that
exits 2 with one line, and a run killed with SIGKILL that the same command finishes."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import unitune as ut

_SCRIPT = Path(sys.executable).parent / "unitune"  # the console script a user types
UNITUNE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "unitune.cli"]

OBJECTIVE = textwrap.dedent("""
    import time

    def quadratic(params):
        time.sleep(float(params.get("pause", 0)))
        return (params["x"] - 1.0) ** 2 + params["n"]

    def two(params):
        return params["x"] ** 2, (params["x"] - 2) ** 2

    def broken(params):
        raise ValueError("no data")
    """)

SPACE = "x: {type: float, low: -5, high: 5}\nn: {type: int, low: 0, high: 3}\n"


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    (tmp_path / "space.yaml").write_text(SPACE)
    (tmp_path / "slow.yaml").write_text(SPACE + "pause: [0.6]\n")
    return tmp_path


def cli(*args, cwd, check=True):
    proc = subprocess.run([*UNITUNE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def test_backends_table_lists_every_backend_with_capabilities(workdir):
    out = cli("backends", cwd=workdir).stdout
    header = out.splitlines()[0].split()
    assert header[:6] == ["backend", "engine", "installed", "multi-obj", "pruning", "parallel"]
    for info in ut.backends():
        row = next(line for line in out.splitlines() if line.startswith(info.name))
        assert ("yes" if info.installed else "no: pip install") in row
    assert "optuna:tpe *" in out


def test_run_then_show_then_resume(workdir):
    run = cli("run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "12",
              "--seed", "1", cwd=workdir)
    assert run.stdout.count(" COMPLETE ") == 12
    assert "study 'obj:quadratic' in .unitune/studies.journal: 12 trials (12 COMPLETE)" in run.stdout
    assert (workdir / ".unitune" / "studies.journal").is_file()
    stored = ut.load("obj:quadratic", str(workdir / ".unitune" / "studies.journal"))
    best = stored.best_trial
    shown = cli("show", "--study", "obj:quadratic", cwd=workdir).stdout
    assert f"best trial {best.number}: value={best.value:.6g} (minimize)" in shown
    assert (f"last run: optuna:tpe, n_trials=12, seed=1, objective {(workdir / 'obj.py').resolve()}:quadratic"
            in shown)
    assert len([ln for ln in shown.splitlines() if " COMPLETE " in ln]) == 12
    again = cli("run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "15",
                "--seed", "1", cwd=workdir)
    assert again.stdout.count(" COMPLETE ") == 3  # resumed: only the missing trials ran
    studies = cli("studies", cwd=workdir).stdout
    assert "obj:quadratic" in studies and " 15" in studies


def test_multi_objective_and_options_from_the_command_line(workdir):
    out = cli("run", "obj.py:two", "--space", "space.yaml", "--n-trials", "20",
              "--backend", "optuna:nsga2", "--direction", "minimize", "--direction",
              "minimize", "--option", "population_size=10", "--storage", "mo.journal",
              cwd=workdir).stdout
    assert "Pareto front:" in out
    result = ut.load("obj:two", str(workdir / "mo.journal"))
    assert len(result.trials) == 20 and result.directions == ("minimize", "minimize")


SCORED = textwrap.dedent("""
    SPACE = {"x": [0, 1, 2, 3]}
    DIRECTION = "maximize"

    def accuracy(params):
        \"\"\"Accuracy on held-out data.\"\"\"
        return params["x"] / 3
    """)


def test_a_direction_declared_in_the_objective_file_is_used_and_stated_first(workdir):
    (workdir / "scored.py").write_text(SCORED)
    proc = cli("run", "scored.py:accuracy", "--n-trials", "6", "--seed", "0", cwd=workdir)
    assert proc.stdout.splitlines()[0] == ("study 'scored:accuracy': maximize with "
                                           "optuna:tpe, 6 trials, seed 0, in "
                                           ".unitune/studies.journal")
    assert proc.stderr == ""
    result = ut.load("scored:accuracy", str(workdir / ".unitune" / "studies.journal"))
    assert result.directions == ("maximize",)
    assert result.best_value == max(t.value for t in result.completed)


@pytest.mark.parametrize("declared, flags, warned", [
    ("", [], True),  # the name says accuracy: a warning, once
    ("", ["--direction", "maximize"], False),
    ("", ["--direction", "minimize"], False),  # said on purpose: no warning
    ("DIRECTION = 'minimize'", [], False),
])
def test_a_score_run_without_a_direction_is_warned_once(workdir, declared, flags, warned):
    (workdir / "scored.py").write_text(SCORED.replace('DIRECTION = "maximize"', declared))
    proc = cli("run", "scored.py:accuracy", "--n-trials", "2", "--quiet", *flags, cwd=workdir)
    warnings = [ln for ln in proc.stderr.splitlines() if "warning" in ln]
    if warned:
        assert warnings == [
            "unitune: warning: no --direction given (nor DIRECTION in scored.py), so the "
            "study minimizes; the objective looks like a score ('accuracy'): add "
            "--direction maximize if higher is better"]
        assert proc.stdout.splitlines()[0].startswith("study 'scored:accuracy': minimize ")
    else:
        assert warnings == []


def test_a_loss_without_a_direction_is_minimized_without_a_warning(workdir):
    proc = cli("run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "2",
               cwd=workdir)
    assert proc.stderr == "" and ": minimize with optuna:tpe" in proc.stdout.splitlines()[0]


@pytest.mark.parametrize("declared, message", [
    ("DIRECTION = 'max'", "scored.py: DIRECTION = 'max'; it must be 'minimize' or 'maximize'"),
    ("DIRECTIONS = 'maximize'", "scored.py: DIRECTIONS = 'maximize'; it must be a list of "
     "'minimize'/'maximize', one per objective value"),
    ("DIRECTION = 'maximize'\nDIRECTIONS = ['maximize']",
     "scored.py declares both DIRECTION and DIRECTIONS; keep one"),
])
def test_a_wrong_declared_direction_is_refused_in_one_line(workdir, declared, message):
    (workdir / "scored.py").write_text(SCORED.replace('DIRECTION = "maximize"', declared))
    proc = cli("run", "scored.py:accuracy", "--n-trials", "2", cwd=workdir, check=False)
    assert proc.returncode == 2 and proc.stderr == f"unitune: error: {message}\n"
    assert not (workdir / ".unitune").exists()


def test_a_pareto_front_prints_each_distinct_point_once_with_its_count(workdir):
    (workdir / "few.py").write_text(textwrap.dedent("""
        SPACE = {"x": [0, 1]}
        DIRECTIONS = ["minimize", "maximize"]

        def cost_gain(params):
            return params["x"], params["x"]
        """))
    out = cli("run", "few.py:cost_gain", "--n-trials", "12", "--seed", "0",
              "--backend", "optuna:random", cwd=workdir).stdout
    result = ut.load("few:cost_gain", str(workdir / ".unitune" / "studies.journal"))
    counts = {x: sum(t.params["x"] == x for t in result.trials) for x in (0, 1)}
    assert min(counts.values()) >= 2  # both points hit more than once in 12 draws
    assert "Pareto front: 12 trials, 2 distinct points (minimize, maximize)" in out
    rows = out.split("Pareto front:")[1].splitlines()[3:]
    assert len(rows) == 2
    for row, x in zip(rows, (0, 1)):
        first = min(t.number for t in result.trials if t.params["x"] == x)
        assert row.split()[0] == str(first) and row.split()[-1] == str(counts[x])


def test_failing_trials_are_reported_and_the_run_goes_on(workdir):
    out = cli("run", "obj.py:broken", "--space", "space.yaml", "--n-trials", "3", cwd=workdir)
    assert out.stdout.count("FAIL") >= 3 and "(ValueError: no data)" in out.stdout
    assert "no completed trial yet" in out.stdout


@pytest.mark.parametrize("args,message", [
    (["run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "0"],
     "argument --n-trials: '0' must be > 0"),
    (["run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "3", "--workers", "x"],
     "argument --workers: 'x' is not a int"),
    (["run", "obj.py:quadratic", "--space", "space.yaml", "--direction", "up"],
     "argument --direction: invalid choice: 'up'"),
    (["run", "obj.py:quadratic", "--space", "nope.yaml", "--n-trials", "3"],
     "cannot read space file 'nope.yaml'"),
    (["run", "obj.py:quadratic", "--space", "bad.yaml", "--n-trials", "3"],
     "space file 'bad.yaml': parameter 'x': low=5.0 is greater than high=-5.0"),
    (["run", "obj.py:missing", "--space", "space.yaml", "--n-trials", "3"],
     "'obj.py' has no function 'missing'; functions there: broken, quadratic, two"),
    (["run", "nofile.py:f", "--space", "space.yaml", "--n-trials", "3"],
     "objective file 'nofile.py' does not exist"),
    (["run", "obj.py", "--space", "space.yaml", "--n-trials", "3"],
     "objective 'obj.py' must be FILE.py:FUNCTION"),
    (["run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "3", "--backend",
      "optuna:foo"], "unknown backend 'optuna:foo'; known backends:"),
    (["run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "3", "--option",
      "nonsense"], "--option 'nonsense' must be KEY=VALUE"),
    (["run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "3", "--option",
      "population=3"], "option 'population' is not accepted by backend 'optuna:tpe'"),
    (["run", "obj.py:quadratic", "--space", "space.yaml"], "give --n-trials or --timeout"),
    (["show", "--study", "nothing"], "storage file '.unitune/studies.journal' does not exist"),
    (["frobnicate"], "argument command: invalid choice: 'frobnicate'"),
])
def test_bad_input_exits_2_with_one_line(workdir, args, message):
    (workdir / "bad.yaml").write_text("x: {type: float, low: 5, high: -5}\n")
    proc = cli(*args, cwd=workdir, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert not (workdir / ".unitune" / "studies.journal").exists() or args[0] == "show"


def test_a_killed_run_is_finished_by_the_same_command(workdir):
    """SIGKILL mid-study, then the same command: exactly N completed trials, none lost,
    none duplicated, none left RUNNING."""
    n = 12
    command = [*UNITUNE, "run", "obj.py:quadratic", "--space", "slow.yaml", "--n-trials",
               str(n), "--seed", "0", "--quiet"]
    journal = workdir / ".unitune" / "studies.journal"
    proc = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            trials = ut.load("obj:quadratic", str(journal)).trials
        except ut.UnituneError:  # the file or the study is not written yet
            continue
        done = [t for t in trials if t.state is ut.TrialState.COMPLETE]
        # killed inside the objective: a trial with its params (a kill inside the
        # engine's sampling is test_storage's killed-while-its-engine-samples test)
        if len(done) >= 4 and [t for t in trials if t.state is ut.TrialState.RUNNING
                               and t.params]:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed = ut.load("obj:quadratic", str(journal))
    assert 4 <= sum(t.state is ut.TrialState.COMPLETE for t in killed.trials) < n
    cut = [t for t in killed.trials if t.state is ut.TrialState.RUNNING]
    assert len(cut) == 1

    rerun = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    final = ut.load("obj:quadratic", str(journal))
    complete = [t for t in final.trials if t.state is ut.TrialState.COMPLETE]
    assert len(complete) == n
    assert not [t for t in final.trials if t.state is ut.TrialState.RUNNING]
    assert len({t.number for t in complete}) == n
    # the trial cut by the kill is failed with the reason, and its point ran again
    failed = [t for t in final.trials if t.state is ut.TrialState.FAIL]
    assert [t.number for t in failed] == [cut[0].number]
    assert failed[0].error.startswith("interrupted: process")
    assert dict(cut[0].params) in [dict(t.params) for t in complete]
    # nothing finished before the kill was lost or changed
    before = {t.number: t.values for t in killed.trials if t.state is ut.TrialState.COMPLETE}
    assert {t.number: t.values for t in complete if t.number in before} == before


def test_ray_backends_run_an_objective_file_from_the_command_line(workdir):
    """Ray's workers import the objective's file by name (its folder is on their path)."""
    out = cli("run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "4",
              "--backend", "ray:random", "--workers", "2", "--seed", "0", cwd=workdir)
    assert out.stdout.count(" COMPLETE ") == 4
    result = ut.load("obj:quadratic", str(workdir / ".unitune" / "studies.journal"))
    assert [t.backend for t in result.trials] == ["ray:random"] * 4


def test_every_recipe_in_the_readme_exists_and_takes_a_backend_flag():
    import re

    root = Path(__file__).resolve().parents[1]
    named = set(re.findall(r"`(\w+\.py)`", (root / "README.md").read_text()))
    recipes = {p.name for p in (root / "recipes").glob("*.py") if not p.name.startswith("_")}
    assert recipes <= named, f"recipes missing from the README table: {recipes - named}"
    for name in recipes:
        assert "--backend" in (root / "recipes" / name).read_text(), name


def test_deterministic_runs_with_two_workers_repeat_and_ray_refuses_it_in_one_line(workdir):
    def trials(study):
        cli("run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "6",
            "--workers", "2", "--deterministic", "--seed", "4", "--study", study,
            "--quiet", cwd=workdir)
        stored = ut.load(study, str(workdir / ".unitune" / "studies.journal"))
        return [(t.number, t.params, t.values, t.state) for t in stored.trials]

    first = trials("a")
    assert len(first) == 6 and trials("b") == first
    assert "deterministic" in cli("backends", cwd=workdir).stdout.splitlines()[0]
    if importlib.util.find_spec("ray") is None:
        return
    proc = cli("run", "obj.py:quadratic", "--space", "space.yaml", "--n-trials", "2",
               "--backend", "ray:random", "--deterministic", "--study", "r", cwd=workdir,
               check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("unitune: error: --deterministic is not supported on "
                                  "'ray:random': Ray Tune runs its trials asynchronously")
    assert proc.stderr.count("\n") == 1
