"""The backend comparison: the same problems, budgets and seeds for every engine, and the
same figures when it is run again."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.problems import BRANIN, HARTMANN6

ROOT = Path(__file__).resolve().parents[1]


def test_problems_have_their_known_optima():
    assert BRANIN.objective({"x1": 3.14159265, "x2": 2.275}) == pytest.approx(0.397887, abs=1e-5)
    best = {"x0": 0.20169, "x1": 0.150011, "x2": 0.476874, "x3": 0.275332, "x4": 0.311652,
            "x5": 0.6573}
    assert HARTMANN6.objective(best) == pytest.approx(-3.32237, abs=1e-4)


def test_interleave_takes_the_sides_in_turn():
    from benchmarks._timing import interleave, ratio, ratios

    calls = []
    runs = interleave({"a": lambda r: calls.append(("a", r)) or r,
                       "b": lambda r: calls.append(("b", r)) or 2 * r + 2,
                       "slow": lambda r: calls.append(("slow", r)) or -r},
                      3, warmup=[lambda: calls.append("warm")], alternate=True,
                      max_runs={"slow": 1})
    assert calls == ["warm", ("a", 0), ("b", 0), ("slow", 0), ("b", 1), ("a", 1),
                     ("a", 2), ("b", 2)]
    assert runs == {"a": [0, 1, 2], "b": [2, 4, 6], "slow": [0]}
    assert ratios(runs["b"], [1, 2, 3]) == [2, 2, 2]
    assert ratio(runs["b"], [1, 2, 3]) == 2


# script, tiny arguments, the committed figures it would have replaced before
SCRIPTS_WRITING_FIGURES = [
    ("auto_overhead", ["--n-trials", "5", "--repeats", "1"]),
    ("corrupt_files", []),
    ("overhead_optuna", ["--trials", "5", "--repeats", "1"]),
    ("resume_kills", ["--backends", "optuna:random", "--kills", "1", "--trials", "4"]),
]


@pytest.mark.parametrize("script,argv", SCRIPTS_WRITING_FIGURES,
                         ids=[s for s, _ in SCRIPTS_WRITING_FIGURES])
def test_a_run_without_out_leaves_the_committed_figures_as_they_are(script, argv):
    """Run as a user runs it, without --out, a script writes its figures to a new file in
    benchmarks/results/ (and says which); the committed NAME.json stays byte for byte."""
    results = ROOT / "benchmarks" / "results"
    committed = results / f"{script}.json"
    before = committed.read_bytes()
    proc = subprocess.run([sys.executable, f"benchmarks/{script}.py", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    after = committed.read_bytes()
    committed.write_bytes(before)  # put back, should the test fail
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert after == before
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("figures written to "), last
    written = Path(last.removeprefix("figures written to "))
    try:
        assert written.parent == results and written.name.startswith(f"{script}-")
        assert json.loads(written.read_text())  # the figures are there
    finally:
        written.unlink(missing_ok=True)


def test_no_script_names_a_committed_file_itself():
    """Only benchmarks/_results.py knows the results folder; a script that builds a path
    into it (a default --out) would overwrite the committed figures again."""
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        if path.name == "_results.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        named = [node.value for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 and id(node) not in docstrings
                 and (node.value == "results" or "results/" in node.value)]
        assert not named, (path.name, named)


def test_process_parallel_writes_its_figures(tmp_path):
    """benchmarks/process_parallel.py with a tiny budget: every figure the lead reads is
    in the JSON (the speed-ups themselves need a quiet 2-core machine, not a test)."""
    out = tmp_path / "pp.json"
    proc = subprocess.run([sys.executable, "benchmarks/process_parallel.py", "--trials", "4",
                           "--repeats", "1", "--target-ms", "2", "--overhead-trials", "10",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["command"].startswith("python benchmarks/process_parallel.py --trials 4")
    assert report["machine"]["cpus"] == os.cpu_count()
    assert {"platform", "python", "versions", "commit"} <= set(report["machine"])
    assert len(report["load_average_before"]) == len(report["load_average_after"]) == 3
    assert report["objective"]["loops"] >= 1
    assert set(report["speedup_2_over_1"]) == {"optuna:tpe", "optuna:tpe deterministic",
                                               "skopt:gp batch", "skopt:gp", "pymoo:ga",
                                               "optuna n_jobs"}
    for row in report["speedup_2_over_1"].values():
        assert row["trials_per_s_1"] > 0 and row["trials_per_s_2"] > 0
        assert row["speedup"] == pytest.approx(row["trials_per_s_2"] / row["trials_per_s_1"])
        assert len(row["speedup_per_repeat"]) == 1
    cost = report["process_overhead"]
    assert set(cost["ms_per_trial"]) == {"thread", "process"} and cost["trials"] == 10
    assert cost["process_extra_ms"] == pytest.approx(
        cost["ms_per_trial"]["process"] - cost["ms_per_trial"]["thread"])
