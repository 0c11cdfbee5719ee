"""The search recipes (grid, random, Bayesian) with tiny budgets: what a
user relies on is that the flags are honoured, every trial lands inside the space, and
the grid recipe is GridSearchCV's search."""

from __future__ import annotations

import re

import pytest

import unitune as ut
from recipes import bayesian, grid, random_search


def _check(result: ut.Result, recipe, backend: str, n_trials: int) -> None:
    assert result.backend == backend
    assert len(result.trials) == n_trials
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
    assert all(recipe.SPACE.contains(t.params) for t in result.trials)
    assert recipe.SPACE.contains(result.best_params)
    assert 0.5 < result.best_value <= 1.0
    assert result.best_value == max(t.values[0] for t in result.trials)


def test_grid_visits_every_point_once_and_matches_gridsearchcv(capsys):
    result = grid.main(["--cv", "2"])
    points = grid.SPACE.grid()
    assert len(points) == 4 * 2 * 3
    _check(result, grid, "optuna:grid", len(points))
    key = lambda p: repr(sorted(p.items()))  # noqa: E731
    assert sorted(map(key, (t.params for t in result.trials))) == sorted(map(key, points))
    score, params = grid.gridsearchcv_best(cv=2)
    assert result.best_value == score
    assert grid.objective(params, cv=2) == score
    out = capsys.readouterr().out
    assert "24 trials, 24 of 24 grid points" in out
    assert f"GridSearchCV: best 2-fold accuracy {score:.6f}" in out and "(equal)" in out


def test_grid_with_fewer_trials_runs_that_many_distinct_points_and_skips_the_check(capsys):
    result = grid.main(["--cv", "2", "--n-trials", "5"])
    _check(result, grid, "optuna:grid", 5)
    assert len({repr(sorted(t.params.items())) for t in result.trials}) == 5
    assert "GridSearchCV" not in capsys.readouterr().out


@pytest.mark.parametrize("backend", ["optuna:random", "optuna:tpe"])
def test_random_search_honours_backend_and_budget(backend, capsys):
    argv = ["--n-trials", "4", "--cv", "2"]
    result = random_search.main(argv if backend == "optuna:random" else
                                argv + ["--backend", backend])
    _check(result, random_search, backend, 4)
    for t in result.trials:  # stepped parameters stay on their lattice
        assert t.params["n_estimators"] % 25 == 0
        assert round(t.params["max_features"] * 10, 9).is_integer()
    assert f"{backend}: 4 trials, best 2-fold accuracy {result.best_value:.4f}" \
        in capsys.readouterr().out


def test_bayesian_prints_a_best_so_far_curve(capsys):
    result = bayesian.main(["--n-trials", "6", "--n-initial-points", "3", "--cv", "2",
                            "--every", "2"])
    _check(result, bayesian, "skopt:gp", 6)
    out = capsys.readouterr().out
    curve = [(int(n), float(v)) for n, v in re.findall(r"after +(\d+) trials: best (\S+)", out)]
    assert [n for n, _ in curve] == [2, 4, 6]
    values = [v for _, v in curve]
    assert values == sorted(values) and values[-1] == round(result.best_value, 4)
    for n, v in curve:
        assert v == round(max(t.values[0] for t in result.trials[:n]), 4)

