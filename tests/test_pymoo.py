"""The pymoo backends: equivalence with pymoo called directly, generations, parallel
evaluation, mixed spaces, failures, warm start from the ledger, options."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import unitune as ut
from benchmarks.problems import BRANIN

pytest.importorskip("pymoo")


def zdt1_objective(problem):
    """ZDT1 on one individual, with pymoo's own formula (the same floats as its
    vectorised call on a whole population)."""
    names = [f"x{i}" for i in range(problem.n_var)]

    def objective(params):
        return tuple(problem.evaluate(np.array([[params[n] for n in names]]))[0])

    space = ut.Space({n: ut.Float(float(lo), float(hi))
                      for n, lo, hi in zip(names, problem.xl, problem.xu)})
    return objective, space


def direct_run(problem, algorithm, n_evals, seed):
    """pymoo's minimize, keeping every evaluated point in order."""
    from pymoo.core.callback import Callback
    from pymoo.optimize import minimize

    class Keep(Callback):
        def __init__(self):
            super().__init__()
            self.X, self.F = [], []

        def notify(self, algorithm):
            self.X.extend(algorithm.off.get("X").tolist())
            self.F.extend(algorithm.off.get("F").tolist())

    keep = Keep()
    res = minimize(problem, algorithm, ("n_evals", n_evals), seed=seed, callback=keep)
    return res, keep


@pytest.mark.parametrize("seed", [1, 7])
def test_nsga2_on_zdt1_gives_the_same_front_as_pymoo_directly(seed):
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.problems import get_problem

    problem = get_problem("zdt1", n_var=10)
    objective, space = zdt1_objective(problem)
    result = ut.optimize(objective, space, backend="pymoo:nsga2", n_trials=1000, seed=seed,
                         directions=["minimize", "minimize"], options={"pop_size": 50})
    res, keep = direct_run(problem, NSGA2(pop_size=50), 1000, seed)

    assert len(result.trials) == 1000 == len(keep.X)
    # every evaluation, in order: the same points and the same objective values
    assert [[t.params[f"x{i}"] for i in range(10)] for t in result.trials] == keep.X
    assert [list(t.values) for t in result.trials] == keep.F
    # the final front: pymoo's result holds exactly our Pareto front's values
    ours = sorted(t.values for t in result.pareto_front)
    assert ours == sorted(tuple(f) for f in res.F.tolist())


def test_nsga3_reference_directions_follow_the_number_of_objectives():
    from pymoo.algorithms.moo.nsga3 import NSGA3
    from pymoo.problems import get_problem
    from pymoo.util.ref_dirs import get_reference_directions

    problem = get_problem("dtlz2", n_var=7, n_obj=3)
    objective, space = zdt1_objective(problem)
    # pop_size 92 fits Das-Dennis with 12 partitions (91 directions), pymoo's own example
    result = ut.optimize(objective, space, backend="pymoo:nsga3", n_trials=368, seed=3,
                         directions=["minimize"] * 3, options={"pop_size": 92})
    ref_dirs = get_reference_directions("das-dennis", 3, n_partitions=12)
    res, keep = direct_run(problem, NSGA3(ref_dirs, pop_size=92), 368, 3)
    # the same 368 evaluations in order: the same 91 directions drive the niching
    assert [list(t.values) for t in result.trials] == keep.F
    # pymoo's result (the niched survivors) lies on our front of every evaluation
    assert {tuple(f) for f in res.F.tolist()} <= {t.values for t in result.pareto_front}


@pytest.mark.parametrize("backend", ["pymoo:ga", "pymoo:de"])
def test_single_objective_algorithms_reach_the_branin_optimum(backend):
    result = ut.optimize(BRANIN.objective, BRANIN.space, backend=backend, n_trials=400,
                         seed=0, options={"pop_size": 20})
    assert len(result.trials) == 400
    assert result.best_value == pytest.approx(BRANIN.optimum, abs=0.02)


def test_parallel_workers_evaluate_a_generation_at_once_and_change_nothing():
    # Generations of 10: trials 0-9, 10-19 and 20-24 (n_trials cuts the third). With 3
    # workers the first 3 trials of each generation start together, so they wait for each
    # other at a barrier (60 s is only the bound of a failing run); each trial records
    # whether it got through. No trial of a generation can finish before its first 3 have
    # all started, so the barrier passes only if 3 ran at once.
    gates = {g: threading.Barrier(3, timeout=60) for g in range(3)}
    met, running, peak, lock = [], [0], [0], threading.Lock()

    def meeting(params, trial):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            if trial.number % 10 < 3:
                gates[trial.number // 10].wait()
                with lock:
                    met.append(trial.number)
        finally:
            with lock:
                running[0] -= 1
        return BRANIN.objective(params)

    kwargs = dict(backend="pymoo:ga", n_trials=25, seed=4, options={"pop_size": 10})
    par = ut.optimize(meeting, BRANIN.space, n_workers=3, **kwargs)
    seq = ut.optimize(BRANIN.objective, BRANIN.space, **kwargs)
    # every generation was evaluated 3 at a time, and never more than 3 at once
    assert sorted(met) == [0, 1, 2, 10, 11, 12, 20, 21, 22]
    assert peak[0] == 3
    # n_trials counts evaluations: the third generation of 10 is cut to 5
    assert len(par.trials) == len(seq.trials) == 25
    # pymoo takes a whole generation at once, so parallel runs repeat the sequential one
    assert [(t.number, t.params, t.values) for t in par.trials] == [
        (t.number, t.params, t.values) for t in seq.trials]


def test_mixed_space_values_come_back_as_the_users_and_repeat_under_a_seed():
    space = ut.Space(lr=ut.Float(1e-5, 1.0, log=True), n=ut.Int(10, 200, step=10),
                     big=ut.Int(1, 4096, log=True), q=ut.Float(0.0, 1.0, step=0.1),
                     kind=ut.Categorical(["a", 1, None, 2.5]), fixed=ut.Categorical(["k"]))

    def objective(params):
        return (abs(np.log10(params["lr"]) + 3) + params["n"] / 100 + params["q"]
                + (params["kind"] != 1) + abs(np.log2(params["big"]) - 5)), params["n"]

    two = ["minimize", "minimize"]
    kwargs = dict(seed=11, n_trials=60, options={"pop_size": 12})
    runs = [ut.optimize(objective, space, backend="pymoo:nsga2", directions=two, **kwargs),
            ut.optimize(objective, space, backend="pymoo:nsga2", directions=two, **kwargs),
            ut.optimize(lambda p: objective(p)[0], space, backend="pymoo:ga", **kwargs)]
    assert [t.params for t in runs[0].trials] == [t.params for t in runs[1].trials]
    for result in runs:
        for t in result.trials:
            assert space.contains(t.params)
            assert type(t.params["n"]) is int and type(t.params["q"]) is float
            assert t.params["fixed"] == "k"
        kinds = {(type(t.params["kind"]), t.params["kind"]) for t in result.trials}
        assert kinds == {(str, "a"), (int, 1), (type(None), None), (float, 2.5)}
    # the search learns across the mixed space: later generations beat the random first one
    ga = runs[2].trials
    assert min(t.value for t in ga[-12:]) < np.median([t.value for t in ga[:12]])
    assert runs[2].best_params["kind"] == 1


def test_failed_trials_are_recorded_and_never_preferred():
    def fragile(params):
        if params["x1"] > 5.0:
            raise RuntimeError("diverged")
        return BRANIN.objective(params)

    result = ut.optimize(fragile, BRANIN.space, backend="pymoo:ga", n_trials=200, seed=2,
                         options={"pop_size": 20})
    states = [t.state for t in result.trials]
    assert len(states) == 200 and ut.TrialState.FAIL in states
    first, last = states[:20], states[-20:]
    # failures are infeasible to pymoo: the population leaves the failing region
    assert last.count(ut.TrialState.FAIL) < first.count(ut.TrialState.FAIL)
    assert result.best_params["x1"] <= 5.0
    assert result.best_value == pytest.approx(0.397887, abs=0.02)  # the optimum at x1=-pi


def test_a_study_continues_from_the_ledger_with_its_best_trials(tmp_path):
    space = ut.Space(x=ut.Float(0.0, 100.0))

    def bowl(params):
        return (params["x"] - 50.0) ** 2

    path = str(tmp_path / "ledger.journal")
    first = ut.optimize(bowl, space, backend="optuna:tpe", n_trials=40, seed=0,
                        storage=path, study_name="s")
    more = ut.optimize(bowl, space, backend="pymoo:ga", n_trials=50, seed=5,
                       storage=path, study_name="s", options={"pop_size": 10})
    fresh = ut.optimize(bowl, space, backend="pymoo:ga", n_trials=10, seed=5,
                        options={"pop_size": 10})
    new = more.trials[40:]
    assert len(new) == 10 and all(t.backend == "pymoo:ga" for t in new)
    best10 = sorted(t.value for t in first.trials)[9]
    # the first pymoo generation is bred from the 10 best recorded trials, not sampled
    assert np.median([t.value for t in new]) <= best10
    assert np.median([t.value for t in new]) < np.median([t.value for t in fresh.trials]) / 10


@pytest.mark.parametrize("options, match", [
    ({"pop_size": 1}, "pop_size=1"),
    ({"pop_size": 2.5}, "pop_size=2.5"),
    ({"crossover_prob": 1.5}, "crossover_prob=1.5"),
    ({"mutation_eta": "wide"}, "mutation_eta='wide'"),
    ({"eliminate_duplicates": "yes"}, "eliminate_duplicates='yes'"),
    ({"popsize": 10}, "'popsize'.*accepted: .*pop_size"),
])
def test_bad_options_are_refused_before_any_trial(options, match):
    called = []
    with pytest.raises(ut.InvalidOption, match=match):
        ut.optimize(lambda p: called.append(p) or 0.0, BRANIN.space, backend="pymoo:nsga2",
                    n_trials=5, options=options)
    assert called == []


def test_de_refuses_a_bad_variant_and_ga_refuses_two_objectives():
    with pytest.raises(ut.InvalidOption, match="variant='DE/worst/1/bin'"):
        ut.optimize(BRANIN.objective, BRANIN.space, backend="pymoo:de", n_trials=5,
                    options={"variant": "DE/worst/1/bin"})
    with pytest.raises(ut.UnsupportedFeature, match="pymoo:ga.*single-objective"):
        ut.optimize(lambda p: (0.0, 0.0), BRANIN.space, backend="pymoo:ga", n_trials=5,
                    directions=["minimize", "minimize"])


def test_a_space_with_nothing_to_search_is_refused():
    with pytest.raises(ut.UnsupportedFeature, match="pymoo:nsga2.*nothing to search"):
        ut.optimize(lambda p: 0.0, ut.Space(a=ut.Int(3, 3), b=ut.Categorical(["x"])),
                    backend="pymoo", n_trials=5)


def test_operator_options_reach_pymoo():
    """A crossover/mutation setting changes the search; the same setting repeats it."""
    def run(**options):
        r = ut.optimize(BRANIN.objective, BRANIN.space, backend="pymoo:ga", n_trials=40,
                        seed=0, options={"pop_size": 10, **options})
        return [t.params for t in r.trials]

    default, tight = run(), run(crossover_eta=30, mutation_eta=40, mutation_prob=0.5)
    assert default[:10] == tight[:10]  # the first generation is sampled, not bred
    assert default[10:] != tight[10:]
    assert tight == run(crossover_eta=30, mutation_eta=40, mutation_prob=0.5)
    assert default == run(crossover_eta=15, crossover_prob=0.9, mutation_eta=20,
                          mutation_prob=0.9)  # GA's own defaults, spelled out


def test_mixed_runs_repeat_whatever_the_global_numpy_rng_does():
    """Choice sampling and mutation draw from the seeded generator of the run, not from
    numpy's global RNG, which the objective (or another thread) may use."""
    space = ut.Space(kind=ut.Categorical(["a", "b", "c", "d"]), n=ut.Int(0, 9),
                     x=ut.Float(0.0, 1.0))

    def objective(params):
        np.random.random(3)  # a user's code drawing from the global RNG
        return "abcd".index(params["kind"]) + params["n"] + params["x"]

    runs = []
    for global_seed in (0, 123):
        np.random.seed(global_seed)
        runs.append(ut.optimize(objective, space, backend="pymoo:ga", n_trials=40, seed=9,
                                n_workers=2, options={"pop_size": 8}))
    assert [t.params for t in runs[0].trials] == [t.params for t in runs[1].trials]


@pytest.mark.parametrize("box", [False, True])
def test_recorded_trials_map_back_to_themselves_for_the_warm_start(box):
    """A warm start encodes recorded params for pymoo; decoding gives them back exactly,
    on huge ranges too (no lattice is ever listed)."""
    from unitune.adapters.pymoo._codec import Codec

    space = ut.Space(lr=ut.Float(1e-6, 1.0, log=True), q=ut.Float(-1.0, 1.0, step=0.1),
                     n=ut.Int(0, 10**12, step=4), big=ut.Int(1, 4096, log=True),
                     x=ut.Float(-3.0, 3.0), c=ut.Categorical([None, True, 3, 2.5, "a"]),
                     one=ut.Int(7, 7))
    codec = Codec(space, box=box)
    assert codec.mixed is not box and codec.fixed == {"one": 7}
    rng = np.random.default_rng(0)
    for _ in range(200):
        params = {"lr": float(np.exp(rng.uniform(np.log(1e-6), 0.0))),
                  "q": [g for g in space["q"].grid()][rng.integers(11)],
                  "n": int(rng.integers(0, 250_000_000_001)) * 4,
                  "big": int(rng.integers(1, 4097)), "x": float(rng.uniform(-3, 3)),
                  "c": space["c"].choices[rng.integers(5)], "one": 7}
        back = codec.decode(codec.encode(params))
        assert space.contains(back)
        assert back["c"] == params["c"] and type(back["c"]) is type(params["c"])
        assert {k: v for k, v in back.items() if k not in ("lr", "x")} == {
            k: v for k, v in params.items() if k not in ("lr", "x")}
        assert back["lr"] == pytest.approx(params["lr"], rel=1e-12)
        assert back["x"] == params["x"]
