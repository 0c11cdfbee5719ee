"""``ut.compare``: every backend on the same objective, budget and seeds; each (backend,
seed) a study in the ledger, so a comparison cut short is finished by the same call and a
fresh one repeats bit for bit."""

from __future__ import annotations

import math
import signal
from concurrent.futures import ProcessPoolExecutor

import pytest

import unitune as ut
from benchmarks.problems import BRANIN
from unitune.compare._fairness import population

OPTIMUM = BRANIN.optimum


class Counted:
    """Branin that counts its calls (and can raise Ctrl-C at one of them)."""

    def __init__(self, interrupt_at: int | None = None):
        self.calls = 0
        self.interrupt_at = interrupt_at

    def __call__(self, params):
        self.calls += 1
        if self.calls == self.interrupt_at:
            signal.raise_signal(signal.SIGINT)
        return BRANIN.objective(params)


def _compare(objective, storage=None, **kw):
    args = dict(backends=["optuna:tpe", "pymoo:ga"], n_trials=12, seeds=3,
                optimum=OPTIMUM, storage=storage, study_name="b")
    args.update(kw)
    return ut.compare(objective, BRANIN.space, **args)


def _bests(cmp):
    return {(r.label, r.seed): [t.values for t in r.result.trials] for r in cmp.runs}


def test_a_fresh_comparison_repeats_bit_for_bit_and_adds_the_random_baseline():
    first, again = _compare(Counted()), _compare(Counted())
    assert [(r.label, r.seed) for r in first.runs] == [
        (b, s) for b in ("optuna:tpe", "pymoo:ga", "optuna:random") for s in (0, 1, 2)]
    assert _bests(first) == _bests(again)
    finals = first.finals()
    assert finals["best"].tolist() == again.finals()["best"].tolist()
    assert (finals["regret"] >= 0).all() and (finals["trials"] == 12).all()
    # normalised: 0 at random search's median, 1 at the optimum
    random = finals[finals["label"] == "optuna:random"]
    assert random["normalised"].median() == 0.0
    best = finals["best"].min()
    row = finals[finals["best"] == best].iloc[0]
    expected = (random["best"].median() - best) / (random["best"].median() - OPTIMUM)
    assert row["normalised"] == pytest.approx(expected)


def test_a_comparison_cut_short_is_finished_by_the_same_call_rerunning_nothing(tmp_path):
    storage = str(tmp_path / "c.journal")
    cut = Counted(interrupt_at=30)  # in the third study (seed 2 of optuna:tpe: 24 < 30)
    with pytest.raises(KeyboardInterrupt):
        _compare(cut, storage)
    again = Counted()
    cmp = _compare(again, storage)
    # 9 studies of 12 trials: 29 finished before the cut, the cut trial runs again
    assert again.calls == 9 * 12 - 29
    assert all(r.result.trials and sum(t.state.is_finished() for t in r.result.trials) >= 12
               for r in cmp.runs)
    fresh = _compare(Counted())
    untouched = [k for k in _bests(fresh) if k != ("optuna:tpe", 2)]
    assert all(_bests(cmp)[k] == _bests(fresh)[k] for k in untouched)
    third = Counted()
    table = _compare(third, storage).summary()
    assert third.calls == 0 and table.equals(cmp.summary())


def test_fairness_sizes_populations_to_the_budget_and_options_given_win():
    cmp = _compare(Counted(), backends=["pymoo:ga", ("ga-big", "pymoo:ga", {"pop_size": 6})],
                   seeds=1, n_trials=20)
    options = {v["label"]: v["options"] for v in cmp.meta["variants"]}
    assert options == {"pymoo:ga": {"pop_size": population(20, 100)},
                       "ga-big": {"pop_size": 6}, "optuna:random": {}}
    assert cmp.meta["fairness"]["population"].startswith("population = min(")
    assert ut.compare(Counted(), BRANIN.space, backends=["pymoo:ga"], n_trials=20, seeds=1,
                      fair=False).meta["variants"][0]["options"] == {}


@pytest.mark.parametrize("kwargs, words", [
    ({"backends": ["optuna:tpee"]}, "unknown backend 'optuna:tpee'"),
    ({"backends": ["optuna:grid"]}, "'optuna:grid'"),
    ({"backends": ["skopt:gp"], "directions": ["minimize", "minimize"]},
     "'skopt:gp' is single-objective"),
    ({"seeds": 0}, "seeds=0 must be at least 1"),
    ({"seeds": [1, 1]}, "distinct"),
    ({"backends": ["optuna:tpe", ("optuna:tpe", "optuna:random", {})]}, "appear twice"),
    ({"backends": [("a/b", "optuna:tpe", {})]}, "'/'"),
    ({"backends": "optuna:tpe"}, "must be a list"),
    ({"cell_map": map}, "give storage="),
    ({"reference": [1.0, 2.0]}, "reference= is the hypervolume reference point"),
])
def test_bad_input_is_one_line_before_any_trial(kwargs, words):
    objective = Counted()
    with pytest.raises(ut.UnituneError) as err:
        _compare(objective, **kwargs)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert objective.calls == 0


def _zdt1(params):
    x = [params[f"x{i}"] for i in range(4)]
    g = 1 + 9 * sum(x[1:]) / 3
    return x[0], g * (1 - math.sqrt(x[0] / g))


def test_several_objectives_are_compared_by_hypervolume():
    space = ut.Space({f"x{i}": ut.Float(0.0, 1.0) for i in range(4)})
    true_hv = 1.1 * 1.1 - 2 / 3  # the front f2 = 1 - sqrt(f1) against (1.1, 1.1)
    cmp = ut.compare(_zdt1, space, backends=["pymoo:nsga2", "optuna:nsga2"], n_trials=40,
                     seeds=2, directions=["minimize", "minimize"], reference=[1.1, 1.1],
                     optimum=true_hv)
    finals = cmp.finals()
    assert ((finals["hypervolume"] >= 0) & (finals["hypervolume"] < true_hv)).all()
    assert (finals[finals["label"] == "pymoo:nsga2"]["hypervolume"] > 0).all()
    assert finals["ratio"].tolist() == pytest.approx((finals["hypervolume"] / true_hv).tolist())
    for run in cmp.runs:  # the curve's last point is the study's own hypervolume
        assert finals.set_index(["label", "seed"]).loc[(run.label, run.seed), "hypervolume"] \
            == pytest.approx(run.result.hypervolume([1.1, 1.1]))
    curves = cmp.curves()
    assert curves.groupby(["label", "seed"])["best"].apply(
        lambda s: s.is_monotonic_increasing).all()
    auto = ut.compare(_zdt1, space, backends=["pymoo:nsga2"], n_trials=20, seeds=1,
                      directions=["minimize", "minimize"], baseline=None)
    assert len(auto.reference) == 2 and auto.finals()["hypervolume"].iloc[0] > 0


def test_cells_run_in_other_processes_give_the_same_numbers(tmp_path):
    storage = str(tmp_path / "p.journal")
    with ProcessPoolExecutor(2) as pool:
        parallel = _compare(BRANIN.objective, storage, cell_map=pool.map)
    assert _bests(parallel) == _bests(_compare(BRANIN.objective))


def test_a_folder_storage_gives_each_cell_its_own_journal_that_optuna_reads(tmp_path):
    import optuna

    folder = str(tmp_path / "ledger") + "/"
    with ProcessPoolExecutor(2) as pool:
        cmp = _compare(BRANIN.objective, folder, cell_map=pool.map)
    assert _bests(cmp) == _bests(_compare(BRANIN.objective))
    journals = sorted(p.relative_to(tmp_path / "ledger").as_posix()
                      for p in (tmp_path / "ledger").rglob("*.journal"))
    assert journals == sorted(f"b/{label}/seed{k}.journal" for label in
                              ("optuna:tpe", "pymoo:ga", "optuna:random") for k in range(3))
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(
        str(tmp_path / "ledger" / "b" / "pymoo:ga" / "seed1.journal")))
    [summary] = optuna.get_all_study_summaries(storage)
    assert summary.study_name == "b/pymoo:ga/seed1" and summary.n_trials == 12
    again = Counted()
    assert _compare(again, folder).summary().equals(cmp.summary()) and again.calls == 0


def test_the_report_holds_the_tables_and_the_anytime_figures(tmp_path):
    cmp = _compare(Counted(), seeds=2)
    path = cmp.report(tmp_path / "report")
    text = path.read_text()
    assert "| optuna:tpe | optuna:tpe |" in text and "![by trial](curves.png)" in text
    for png in ("curves.png", "curves-time.png"):
        data = (tmp_path / "report" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    summary = cmp.summary()
    assert list(summary.index) == ["optuna:tpe", "pymoo:ga", "optuna:random"]
    assert set(summary.columns) >= {"median", "q25", "q75", "normalised", "regret",
                                    "mean_rank", "trials_per_s", "failures"}
    assert summary["mean_rank"].sum() == pytest.approx(6.0)  # 3 labels: ranks 1+2+3 a seed
    curves = cmp.curves()
    assert set(curves.columns) >= {"label", "seed", "trial", "seconds", "best"}
    assert len(curves) == 3 * 2 * 12


def test_checking_the_backends_prints_no_engine_warning(capfd):
    """Each variant is checked by building its sampler once; an unseeded QMCSampler
    printed Optuna's 'No seed is provided' warning for every comparison."""
    ut.compare(BRANIN.objective, BRANIN.space, backends=["optuna:qmc"], n_trials=4, seeds=1,
               baseline=None)
    assert "No seed is provided" not in capfd.readouterr().err
