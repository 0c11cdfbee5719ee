"""Conditional spaces (``when=``) on every registered backend: a space with two levels
of nesting is searched, no trial ever receives an inactive parameter or misses an
active one, every branch is visited, the ledger stores the active parameters only,
and a stored study resumes."""

from __future__ import annotations

import zlib

import pytest

import unitune as ut
from unitune.adapters import backends

BACKENDS = backends()

# small budgets, as in test_conformance.py
OPTIONS = {
    "optuna:gp": {"n_startup_trials": 15},
    "optuna:nsga2": {"population_size": 10},
    "optuna:nsga3": {"population_size": 10},
    "ray:hyperband": {"max_t": 8, "reduction_factor": 2},
    **{f"pymoo:{a}": {"pop_size": 10} for a in ("nsga2", "nsga3", "ga", "de")},
    **{f"skopt:{a}": {"n_initial_points": 20, "acq_optimizer_kwargs": {"n_points": 500}}
       for a in ("gp", "rf", "et", "gbrt")},
}


def space(continuous: bool) -> ut.Space:
    """model -> (svm: C, kernel -> degree), (rf: depth -> leaf), (knn: k)."""
    return ut.Space(
        model=ut.Categorical(["svm", "rf", "knn"]),
        C=(ut.Float(1e-3, 1e3, log=True, when={"model": "svm"}) if continuous
           else ut.Float(0.1, 1.0, step=0.3, when={"model": "svm"})),
        kernel=ut.Categorical(["rbf", "poly"], when={"model": "svm"}),
        degree=ut.Int(2, 4, when={"kernel": "poly"}),
        depth=ut.Int(1, 5, when={"model": "rf"}),
        leaf=ut.Int(1, 4, when={"depth": (">=", 4)}),
        k=ut.Int(1, 5, when={"model": ["knn"]}),
    )


CONTINUOUS, DISCRETE = space(True), space(False)


def objective(params):
    """Fails the trial (so the test sees it) if the params are not exactly the active
    ones."""
    if not (CONTINUOUS.contains(params) or DISCRETE.contains(params)):
        raise AssertionError(f"not exactly the active params: {params}")
    # structureless but deterministic, as test_conformance's noise: samplers keep exploring
    return (zlib.crc32(repr(sorted(params.items(), key=str)).encode()) % 10_000) / 10_000


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def info(request):
    info = request.param
    if not info.installed:
        pytest.skip(f"{info.name}: engine not installed here")
    return info


def test_conditional_space_on_every_backend(info, tmp_path):
    sp = CONTINUOUS if info.capabilities.continuous else DISCRETE
    path = str(tmp_path / "cond.journal")
    opts = OPTIONS.get(info.name)
    kwargs = dict(space=sp, backend=info.name, storage=path, study_name="c", options=opts)
    fn = objective
    grid = not info.capabilities.continuous
    # auto takes no options: at 20-30 trials it runs skopt:gp with its 10 random start-up
    # points (skopt:gp's own run here has 20, to visit every branch), so its run here is
    # past its small-budget rule: 60 then 90 trials (its choice at 3 trials: test_auto.py)
    n = 60 if info.name.startswith("auto:") else 20
    first = ut.optimize(fn, n_trials=None if grid else n, seed=0, **kwargs)
    if grid:
        assert len(first.trials) == len(sp.grid())
        second = first
    else:
        assert len(first.trials) == n
        second = ut.optimize(fn, n_trials=n + n // 2, seed=0, **kwargs)  # resumes the study
        assert [t.number for t in second.trials] == list(range(n + n // 2))
    trials = second.trials
    assert all(t.state is ut.TrialState.COMPLETE for t in trials), [
        t.error for t in trials if t.error][:1]
    stored = ut.load("c", path).trials
    for t in stored:  # the ledger holds the active params only
        assert sp.contains(t.params), t.params
        assert set(t.params) == set(sp.active(t.params))
    assert {t.params["model"] for t in stored} == {"svm", "rf", "knn"}
    assert any("degree" in t.params for t in stored)  # second level under svm
    assert any("leaf" in t.params for t in stored)  # second level under rf
    df = second.to_dataframe()
    knn = df[df["params_model"] == "knn"]
    assert knn["params_C"].isna().all() and knn["params_depth"].isna().all()


@pytest.mark.parametrize("backend", ["optuna:tpe", "skopt:gp", "pymoo:ga", "ray:optuna"])
def test_conditional_declared_in_a_space_file_runs(tmp_path, backend):
    path = tmp_path / "space.yaml"
    CONTINUOUS.to_file(path)
    assert "when:" in path.read_text()
    sp = ut.Space.from_file(path)
    assert sp == CONTINUOUS
    result = ut.optimize(objective, sp, backend=backend, n_trials=12, seed=1,
                         options=OPTIONS.get(backend))
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
