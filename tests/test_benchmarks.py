"""The backend comparison: the same problems, budgets and seeds for every engine, and the
same figures when it is run again."""

from __future__ import annotations

import pytest

import unitune as ut
from benchmarks import compare
from benchmarks.problems import BRANIN, HARTMANN6


def test_problems_have_their_known_optima():
    assert BRANIN.objective({"x1": 3.14159265, "x2": 2.275}) == pytest.approx(0.397887, abs=1e-5)
    best = {"x0": 0.20169, "x1": 0.150011, "x2": 0.476874, "x3": 0.275332, "x4": 0.311652,
            "x5": 0.6573}
    assert HARTMANN6.objective(best) == pytest.approx(-3.32237, abs=1e-4)


def test_comparison_is_reproducible_and_fair(tmp_path):
    argv = ["--problems", "branin", "--backends", "optuna:tpe", "skopt:gp", "pymoo:ga",
            "--trials", "12", "--seeds", "2", "--out", str(tmp_path / "c.json")]
    first = compare.main(argv)
    again = compare.main(argv)
    assert [r["bests"] for r in first["rows"]] == [r["bests"] for r in again["rows"]]
    assert [(r["backend"], r["trials"], r["seeds"]) for r in first["rows"]] == [
        ("optuna:tpe", 12, [0, 1]), ("skopt:gp", 12, [0, 1]), ("pymoo:ga", 12, [0, 1])]
    assert all(r["median_best"] >= BRANIN.optimum and r["gap"] >= 0 for r in first["rows"])
    assert (tmp_path / "c.json").is_file()


def test_a_missing_backend_fails_before_any_run():
    with pytest.raises(ut.UnknownBackend, match="optuna:tpx"):
        compare.main(["--backends", "optuna:tpe", "optuna:tpx", "--out", ""])
