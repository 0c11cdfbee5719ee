"""The search recipes (grid, random, Bayesian) with tiny budgets: what a
user relies on is that the flags are honoured, every trial lands inside the space, and
the grid recipe is GridSearchCV's search."""

from __future__ import annotations

import re

import unitune as ut
from recipes import bayesian, grid, quickstart, random_search


def _check(result: ut.Result, recipe, backend: str, n_trials: int) -> None:
    assert result.backend == backend
    assert len(result.trials) == n_trials
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
    assert all(recipe.SPACE.contains(t.params) for t in result.trials)
    assert recipe.SPACE.contains(result.best_params)
    assert 0.5 < result.best_value <= 1.0
    assert result.best_value == max(t.values[0] for t in result.trials)


def test_grid_visits_every_point_once_and_matches_gridsearchcv(capsys):
    assert grid.SLIDE == 1 and grid.PARAM_GRID == {  # the slide's grid, as written
        "C": [0.1, 1, 10], "kernel": ["rbf", "linear"], "gamma": ["scale", "auto", 0.1, 1]}
    result = grid.main(["--cv", "2"])
    points = grid.SPACE.grid()
    assert len(points) == 3 * 2 * 4
    _check(result, grid, "optuna:grid", len(points))
    key = lambda p: repr(sorted(p.items(), key=str))  # noqa: E731
    assert sorted(map(key, (t.params for t in result.trials))) == sorted(map(key, points))
    score, params = grid.gridsearchcv_best(cv=2)
    assert result.best_value == score
    assert grid.objective(params, cv=2) == score
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "maximize 2-fold accuracy of an SVC with optuna:grid, its whole grid, seed 0"
    assert sum(line.startswith("trial ") for line in out) == 24  # a line per trial
    assert "24 trials, 24 of 24 grid points" in out[-2]
    assert out[-1].startswith(f"GridSearchCV: best 2-fold accuracy {score:.6f}")
    assert out[-1].endswith("(equal)")


def test_grid_with_fewer_trials_runs_that_many_distinct_points_and_skips_the_check(capsys):
    result = grid.main(["--cv", "2", "--n-trials", "5", "--quiet"])
    _check(result, grid, "optuna:grid", 5)
    assert len({repr(sorted(t.params.items(), key=str)) for t in result.trials}) == 5
    out = capsys.readouterr().out
    assert "GridSearchCV" not in out and "trial " not in out  # --quiet: no line per trial


def test_grid_on_a_sampler_runs_as_many_trials_as_points_and_says_it_samples(capsys):
    result = grid.main(["--cv", "2", "--backend", "optuna:random", "--quiet"])
    _check(result, grid, "optuna:random", 24)  # one trial per grid point, sampled
    points = {repr(sorted(p.items(), key=str)) for p in grid.SPACE.grid()}
    assert {repr(sorted(t.params.items(), key=str)) for t in result.trials} <= points
    out = capsys.readouterr().out
    assert "optuna:random, 24 trials" in out.splitlines()[0]
    assert "optuna:random samples the grid's values" in out


def test_random_search_reads_the_slides_param_dist():
    assert random_search.SLIDE == 2
    # randint excludes its upper end, uniform(loc, scale) is [loc, loc + scale]
    assert random_search.SPACE == ut.Space(
        n_estimators=ut.Int(100, 499), max_depth=ut.Categorical([None, *range(5, 30)]),
        min_samples_split=ut.Int(2, 19), min_samples_leaf=ut.Int(1, 9),
        max_features=ut.Float(0.1, 1.0))
    unlimited = {"n_estimators": 100, "max_depth": None, "min_samples_split": 2,
                 "min_samples_leaf": 1, "max_features": 0.5}
    assert random_search.SPACE.contains(unlimited)
    assert 0.8 < random_search.objective(unlimited, cv=2) <= 1.0  # None reaches the forest


def test_random_search_honours_backend_and_budget(capsys):
    result = random_search.main(["--n-trials", "3", "--cv", "2", "--backend", "optuna:tpe"])
    _check(result, random_search, "optuna:tpe", 3)
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("maximize 2-fold accuracy of a random forest "
                                          "with optuna:tpe, 3 trials")
    assert f"optuna:tpe: 3 trials, best 2-fold accuracy {result.best_value:.4f}" in out


def test_bayesian_searchcv_reads_the_slides_space_and_prints_a_best_so_far_curve(capsys,
                                                                                 recwarn):
    assert bayesian.SLIDE == 3
    assert bayesian.SPACE == ut.Space(  # skopt's Integer/Real, log-uniform priors as log
        hidden_layer_sizes=ut.Int(50, 200), learning_rate_init=ut.Float(1e-4, 0.1, log=True),
        max_iter=ut.Int(100, 500), alpha=ut.Float(1e-5, 0.1, log=True))
    result = bayesian.main(["--n-trials", "6", "--n-initial-points", "3", "--cv", "2",
                            "--every", "2", "--n-samples", "300"])
    _check(result, bayesian, "skopt:gp", 6)
    out = capsys.readouterr().out
    # SearchCV's best (best_score_, best_params_) is the study's
    assert (f"skopt:gp: 6 candidates, best 2-fold accuracy {result.best_value:.4f} with "
            f"{dict(sorted(result.best_params.items()))}") in out
    assert sum(line.startswith("trial ") for line in out.splitlines()) == 6
    curve = [(int(n), float(v)) for n, v in re.findall(r"after +(\d+) trials: best (\S+)", out)]
    assert [n for n, _ in curve] == [2, 4, 6]
    values = [v for _, v in curve]
    assert values == sorted(values) and values[-1] == round(result.best_value, 4)
    for n, v in curve:
        assert v == round(max(t.values[0] for t in result.trials[:n]), 4)
    # max_iter is searched: hitting it is not warned about once per fold
    assert not [w for w in recwarn if w.category.__name__ == "ConvergenceWarning"]


def test_quickstart_maximises_accuracy_and_prints_each_trial(capsys):
    assert quickstart.SLIDE is None and quickstart.DIRECTION == "maximize"
    result = quickstart.main(["--n-trials", "3", "--backend", "optuna:random"])
    assert len(result.trials) == 3 and result.backend == "optuna:random"
    assert all(quickstart.SPACE.contains(t.params) for t in result.trials)
    assert result.best_value == max(t.values[0] for t in result.trials)  # maximised
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("maximize 5-fold accuracy of an SVM on digits with optuna:random, "
                      "3 trials, seed 0")
    assert sum(line.startswith("trial ") for line in out) == 3



def test_model_choice_searches_a_conditional_space_with_active_params_only(capsys):
    from recipes import model_choice

    assert model_choice.SPACE.conditional
    result = model_choice.main(["--n-trials", "6", "--cv", "2", "--seed", "0"])
    _check(result, model_choice, "optuna:tpe", 6)
    for t in result.trials:  # each trial holds its model's parameters only
        assert set(t.params) == set(model_choice.SPACE.active(t.params))
    out = capsys.readouterr().out
    assert f"optuna:tpe: 6 trials, best 2-fold accuracy {result.best_value:.4f}" in out
