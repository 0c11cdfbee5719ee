"""``unitune compare`` as a user types it: a report directory, a second run that reruns
nothing and prints the same table, and bad input that exits 2 with one line."""

from __future__ import annotations

import textwrap

import pytest
from test_cli import cli

OBJECTIVE = textwrap.dedent("""
    import math
    from pathlib import Path

    import unitune as ut

    SPACE = ut.Space(x1=ut.Float(-5.0, 10.0), x2=ut.Float(0.0, 15.0))

    def branin(params):
        with open(Path(__file__).with_name("calls.txt"), "a") as calls:
            calls.write("1")
        x1, x2 = params["x1"], params["x2"]
        return ((x2 - 5.1 / (4 * math.pi ** 2) * x1 ** 2 + 5 / math.pi * x1 - 6) ** 2
                + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10)
    """)


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    return tmp_path


def _table(out):
    return out[out.index("backend "):]


def test_compare_writes_a_report_and_a_second_run_reruns_nothing(workdir):
    args = ["compare", "obj.py:branin", "--backends", "optuna:tpe", "skopt:rf", "pymoo:ga",
            "--n-trials", "10", "--seeds", "3", "--optimum", "0.397887", "--report", "rep",
            "--storage", "c.journal"]
    first = cli(*args, cwd=workdir).stdout
    calls = workdir / "calls.txt"
    assert len(calls.read_text()) == 4 * 3 * 10  # 3 backends + random search, 3 seeds
    rows = [line.split()[0] for line in _table(first).splitlines()[2:6]]
    assert rows == ["optuna:tpe", "skopt:rf", "pymoo:ga", "optuna:random"]
    report = (workdir / "rep" / "README.md").read_text()
    assert "| skopt:rf | skopt:rf |" in report
    assert (workdir / "rep" / "curves.png").stat().st_size > 10_000
    calls.write_text("")
    again = cli(*args, cwd=workdir).stdout
    assert calls.read_text() == "" and _table(again) == _table(first)


@pytest.mark.parametrize("flags, words", [
    (["--backends", "optuna:tpee"], "unknown backend 'optuna:tpee'"),
    (["--backends", "optuna:grid"], "'optuna:grid' needs a finite set of values"),
    (["--backends", "skopt:gp", "--direction", "minimize", "--direction", "minimize"],
     "'skopt:gp' is single-objective"),
    (["--backends", "optuna:tpe", "--seeds", "0"], "--seeds: '0' must be > 0"),
])
def test_bad_input_exits_2_with_one_line_before_any_trial(workdir, flags, words):
    proc = cli("compare", "obj.py:branin", "--n-trials", "5", "--storage", "c.journal",
               *flags, cwd=workdir, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and words in proc.stderr
    assert not (workdir / "calls.txt").exists()
