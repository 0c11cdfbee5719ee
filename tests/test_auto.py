"""``backend="auto"``: the rules table's choices on representative studies, a schedule
that switches engines mid-study (each trial names the backend that proposed it), an auto
study resumed, the one-line explanation on the command line, and the refusals."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import unitune as ut
from unitune.adapters import auto
from unitune.adapters._auto_rules import SH_PRUNER

NUMERIC = ut.Space(x=ut.Float(-5.0, 5.0), y=ut.Float(-5.0, 5.0), k=ut.Int(0, 9))
TABULAR = ut.Space(a=ut.Categorical(list("abcdef")), b=ut.Categorical([1, 2, 3]),
                   c=ut.Categorical(["x", "y"]))
MIXED = ut.Space(**{f"x{i}": ut.Float(0.0, 1.0) for i in range(7)},
                 basin=ut.Categorical(["a", "b", "c"]))


def _choice(space, n_trials, directions=("minimize",), reports=False, engine=None,
            n_workers=1):
    facts = auto.facts_of(space, directions, n_trials=n_trials, reports=reports,
                          n_workers=n_workers)
    return auto.choose(space, directions, facts, engine)


@pytest.mark.parametrize("space, n_trials, directions, reports, rule, backends", [
    (NUMERIC, 30, ("minimize",), False, "numeric-small-budget", ["skopt:gp"]),  # t1 ml
    (NUMERIC, 100, ("minimize",), False, "numeric", ["optuna:gp"]),  # t1 synthetic
    (MIXED, 100, ("minimize",), False, "numeric", ["optuna:gp"]),  # ackley-mixed's shape
    (NUMERIC, 1000, ("minimize",), False, "numeric", ["optuna:gp", "optuna:tpe"]),
    (TABULAR, 50, ("minimize",), False, "categorical", ["optuna:tpe"]),  # t1 tabular
    (NUMERIC, 2000, ("minimize", "maximize"), False, "multi-objective", ["optuna:nsga2"]),
    (NUMERIC, 30, ("maximize",), True, "reports-steps", ["optuna:tpe"]),  # multi-fidelity
])
def test_the_rules_table_chooses_by_what_is_known_before_the_first_trial(
        space, n_trials, directions, reports, rule, backends):
    choice = _choice(space, n_trials, directions, reports)
    assert (choice.rule, [s.backend for s in choice.steps]) == (rule, backends)
    assert choice.label == "auto: " + " > ".join(backends)
    assert choice.why.startswith("t1 ")  # every rule a t1 figure backs cites it
    if reports:  # successive halving, as t1's tpe+sh ran it
        assert choice.steps[0].options == SH_PRUNER


BRANCHES = ut.Space(model=ut.Categorical(["a", "b"]),
                    x=ut.Float(-5.0, 5.0, when={"model": "a"}),
                    y=ut.Float(1e-4, 1.0, log=True, when={"model": "b"}))


def _bowl_by_run(trial):
    return trial.suggest_float("x", -5.0, 5.0) ** 2


@pytest.mark.parametrize("n_trials, rule, backend", [
    (40, "conditional-small-budget", "skopt:gp"),  # tc's budget
    (300, "conditional", "optuna:tpe"),
])
def test_a_conditional_space_goes_by_the_tc_figures(n_trials, rule, backend):
    choice = _choice(BRANCHES, n_trials)
    assert (choice.rule, [s.backend for s in choice.steps]) == (rule, [backend])
    assert choice.why.startswith("tc")
    result = ut.optimize(lambda p: p.get("x", 0.0) ** 2 + p.get("y", 0.0), BRANCHES,
                         backend="auto", n_trials=3, seed=0)
    assert result.backend == "auto: skopt:gp"  # 3 trials: a small budget
    assert all(set(t.params) in ({"model", "x"}, {"model", "y"}) for t in result.trials)


def test_a_define_by_run_objective_goes_to_tpe_whatever_the_budget():
    result = ut.optimize(_bowl_by_run, None, backend="auto", n_trials=4, seed=0)
    assert result.backend == "auto: optuna:tpe"
    assert all(set(t.params) == {"x"} for t in result.trials)


def test_a_timeout_only_budget_and_workers_are_facts_too():
    choice = _choice(NUMERIC, None, n_workers=4)
    assert [s.backend for s in choice.steps] == ["optuna:gp", "optuna:tpe"]
    assert choice.steps[0].until == 200 and choice.steps[0].switch == "cheap"
    assert "3 numeric params" in choice.line() and "4 workers" in choice.line()


def test_auto_engine_keeps_to_that_engine():
    assert _choice(NUMERIC, 100, engine="optuna").label == "auto: optuna:gp"
    assert _choice(NUMERIC, 100, engine="pymoo").label == "auto: pymoo:ga"
    assert _choice(NUMERIC, 100, ("minimize", "minimize"),
                   engine="pymoo").label == "auto: pymoo:nsga2"
    with pytest.raises(ut.errors.UnknownBackend, match=r"unknown backend 'auto:nope'; auto "
                       r"keeps to one of the engines optuna, pymoo, ray, skopt"):
        ut.optimize(lambda p: 0.0, NUMERIC, backend="auto:nope", n_trials=1)


def test_it_refuses_only_what_no_installed_backend_can_do():
    # "only skopt installed" is auto:skopt: skopt cannot search two objectives
    with pytest.raises(ut.UnsupportedFeature) as info:
        ut.optimize(lambda p: (0.0, 0.0), NUMERIC, backend="auto:skopt",
                    directions=["minimize", "minimize"], n_trials=3)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("backend 'auto:skopt': no installed backend can run this "
                              "study (3 numeric params, 2 objectives")
    # a union of continuous sub-spaces: no backend of unitune searches it
    union = ut.Space(branches=[ut.Space(a=ut.Float(0.0, 1.0)), ut.Space(b=ut.Float(0.0, 1.0))])
    with pytest.raises(ut.UnsupportedFeature, match="no backend of unitune can"):
        ut.optimize(lambda p: 0.0, union, backend="auto", n_trials=3)
    # ... but a union of grids is optuna:grid's, and auto runs it
    grid = ut.Space(branches=[ut.Space(a=ut.Int(0, 2)), ut.Space(b=ut.Categorical([1, 2]))])
    result = ut.optimize(lambda p: p.get("a", 0) + p.get("b", 0), grid, backend="auto",
                         n_trials=5, seed=0)
    assert result.backend == "auto: optuna:grid" and len(result.trials) == 5
    with pytest.raises(ut.InvalidOption, match=r"backend 'auto:any' chooses its backends' "
                       r"options itself; options \['n_startup_trials'\] need a named backend"):
        ut.optimize(lambda p: 0.0, NUMERIC, backend="auto", n_trials=3,
                    options={"n_startup_trials": 3})


SCHEDULE = [{"id": "test-schedule", "when": {},
             "plans": [[("optuna:random", {}, 4, "always"), ("pymoo:ga", {}, 8, "cheap"),
                        ("optuna:tpe", {}, None, "always")]],
             "why": "a schedule across three engines"}]


def test_a_schedule_switches_engines_through_the_ledger(monkeypatch, tmp_path):
    monkeypatch.setattr(auto, "RULES", SCHEDULE)
    storage = str(tmp_path / "study.journal")  # shared: each step's budget is the study's
    result = ut.optimize(lambda p: (p["x"] - 1) ** 2 + p["k"], NUMERIC, backend="auto",
                         n_trials=12, seed=3, storage=storage, study_name="s")
    # the objective takes microseconds, far less than a proposal: the "cheap" switch is due
    assert [t.backend for t in result.trials] == (
        ["optuna:random"] * 4 + ["pymoo:ga"] * 4 + ["optuna:tpe"] * 4)
    assert result.backend == "auto: optuna:random > pymoo:ga > optuna:tpe"
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
    stored = ut.load("s", storage)  # what the ledger keeps, read back by any tool
    assert [t.backend for t in stored.trials] == [t.backend for t in result.trials]
    # the same seed, the same study: the schedule repeats
    again = ut.optimize(lambda p: (p["x"] - 1) ** 2 + p["k"], NUMERIC, backend="auto",
                        n_trials=12, seed=3)
    assert [t.params for t in again.trials] == [t.params for t in result.trials]


def _bowl(params):
    return (params["x"] - 1) ** 2 + params["k"]


def test_a_schedule_runs_its_trials_in_worker_processes(monkeypatch):
    monkeypatch.setattr(auto, "RULES", SCHEDULE)
    result = ut.optimize(_bowl, NUMERIC, backend="auto", n_trials=12, seed=3,
                         executor="process", n_workers=2)
    assert [t.backend for t in result.trials] == (
        ["optuna:random"] * 4 + ["pymoo:ga"] * 4 + ["optuna:tpe"] * 4)
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)
    assert len({t.worker for t in result.trials}) == 2  # both processes of the pool ran trials


def _resumable(storage, seed):
    """Runs of one auto study in ``storage``, each to ``n`` trials (a resume after the
    first)."""
    return lambda n: ut.optimize(lambda p: p["x"] ** 2, NUMERIC, backend="auto", n_trials=n,
                                 seed=seed, storage=storage, study_name="s")


def test_an_auto_study_resumes_at_the_step_the_ledger_is_at(monkeypatch, tmp_path):
    monkeypatch.setattr(auto, "RULES", SCHEDULE)
    run = _resumable(str(tmp_path / "study.journal"), seed=1)
    first = run(6)
    assert [t.backend for t in first.trials] == ["optuna:random"] * 4 + ["pymoo:ga"] * 2
    assert first.backend == "auto: optuna:random > pymoo:ga"
    resumed = run(11)  # pymoo:ga, warm-started from the ledger, then TPE
    assert [t.backend for t in resumed.trials] == (
        ["optuna:random"] * 4 + ["pymoo:ga"] * 4 + ["optuna:tpe"] * 3)
    assert resumed.backend == "auto: pymoo:ga > optuna:tpe"
    assert [t.params for t in resumed.trials[:6]] == [t.params for t in first.trials]


def test_a_resumed_study_keeps_a_step_that_had_run_on(monkeypatch, tmp_path):
    monkeypatch.setattr(auto, "RULES", SCHEDULE)
    monkeypatch.setattr(auto, "EXTEND", 2)
    monkeypatch.setattr(auto, "CHEAP", 0.0)  # the objective is never cheap: GA runs on
    run = _resumable(str(tmp_path / "study.journal"), seed=2)
    first = run(10)
    assert [t.backend for t in first.trials] == ["optuna:random"] * 4 + ["pymoo:ga"] * 6
    monkeypatch.setattr(auto, "CHEAP", 1e9)  # from now on, the switch is due at once
    resumed = run(13)
    # the ledger's last trial is GA's, past its 8: GA goes on (2 more), then TPE
    assert [t.backend for t in resumed.trials] == (
        ["optuna:random"] * 4 + ["pymoo:ga"] * 8 + ["optuna:tpe"])
    assert resumed.backend == "auto: pymoo:ga > optuna:tpe"


def test_a_cheap_switch_waits_while_the_objective_is_the_slower():
    step = auto.Step("optuna:gp", {}, 200, "cheap")
    assert auto.switch_now(step, objective_seconds=0.01, own_seconds=40.0)  # GP refits
    assert not auto.switch_now(step, objective_seconds=600.0, own_seconds=40.0)
    assert auto.extended(step, 200).until == 300
    assert auto.switch_now(auto.Step("optuna:gp", {}, 200), 600.0, 40.0)  # "always"


def test_searchcv_and_compare_take_auto():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from unitune.sklearn import SearchCV

    X, y = load_iris(return_X_y=True)
    space = {"C": ut.Float(0.01, 10, log=True)}
    search = SearchCV(LogisticRegression(max_iter=200), space, backend="auto", n_trials=3,
                      cv=2, seed=0).fit(X, y)
    # one numeric parameter, a small budget: the GP; its objective takes the trial only
    # for its number, so auto does not count it as reporting steps
    assert search.result_.backend == "auto: skopt:gp"
    assert len(search.cv_results_["params"]) == 3
    pruned = SearchCV(LogisticRegression(max_iter=200), space, backend="auto", n_trials=3,
                      cv=3, seed=0, pruning=True).fit(X, y)
    # pruning=True reports the folds' running mean: the pruning rule
    assert pruned.result_.backend == "auto: optuna:tpe"
    assert [t.backend for t in pruned.result_.trials] == ["optuna:tpe"] * 3
    cmp = ut.compare(lambda p: p["x"] ** 2, NUMERIC, backends=["auto", "optuna:random"],
                     n_trials=5, seeds=1)
    runs = {run.label: run for run in cmp.runs}
    assert runs["auto"].result.backend == "auto: skopt:gp"


OBJECTIVE = textwrap.dedent("""
    def quadratic(params):
        return (params["x"] - 1.0) ** 2 + params["n"]
    """)
SPACE = "x: {type: float, low: -5, high: 5}\nn: {type: int, low: 0, high: 3}\n"


def _cli(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "unitune.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    return proc


def test_the_command_line_says_what_auto_chose_and_why(tmp_path):
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    (tmp_path / "space.yaml").write_text(SPACE)
    explained = _cli("backends", "--explain", "space.yaml", "--n-trials", "60", cwd=tmp_path)
    assert explained.returncode == 0, explained.stderr
    first, why = explained.stdout.splitlines()
    assert first == "auto: optuna:gp (2 numeric params, 60 trials; rule 'numeric')"
    assert why.startswith("why: t1 synthetic (100 trials): optuna:gp best of 7")
    assert not (tmp_path / ".unitune").exists()  # explaining runs nothing
    two = _cli("backends", "--explain", "space.yaml", "--timeout", "60", "--direction",
               "minimize", "--direction", "maximize", cwd=tmp_path)
    assert two.stdout.startswith("auto: optuna:nsga2 (2 numeric params, 2 objectives, 60 s")
    no_budget = _cli("backends", "--explain", "space.yaml", cwd=tmp_path)
    assert (no_budget.returncode, no_budget.stderr) == (
        2, "unitune: error: --explain needs the budget: --n-trials N (or --timeout SECONDS)\n")
    listed = _cli("backends", cwd=tmp_path).stdout
    assert any(line.startswith("auto:any *") for line in listed.splitlines())
    run = _cli("run", "obj.py:quadratic", "--space", "space.yaml", "--backend", "auto",
               "--n-trials", "4", "--seed", "0", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "auto: skopt:gp (2 numeric params, 4 trials; rule 'numeric-small-budget')\n" \
        in run.stdout
    refused = _cli("run", "obj.py:quadratic", "--space", "space.yaml", "--backend",
                   "auto:skopt", "--direction", "minimize", "--direction", "minimize",
                   "--n-trials", "4", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith("unitune: error: backend 'auto:skopt': no installed "
                                     "backend can run this study")
    assert refused.stderr.count("\n") == 1
