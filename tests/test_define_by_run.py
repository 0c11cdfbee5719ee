"""Define-by-run objectives (``optimize(objective, space=None)``), Optuna style, on every
engine: slide 4's objective pasted as it is; a conditional objective whose trials each
store exactly the params they asked; a re-declaration that fails the trial with Optuna's
message; a resumed study that continues from the space it recorded; ``unitune run`` and
``unitune show`` on an objective file without SPACE."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import xgboost
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import cross_val_score

import unitune as ut

# -- slide 4, as the slide writes it ---------------------------------------------------------
# The slide's `import optuna` and `from xgboost import XGBClassifier` are the lines that
# differ. XGBClassifier is xgboost's, fitted with at most 20 trees on one thread so that the
# test takes seconds (the trial still suggests, and stores, n_estimators in 100..1000). The
# slide leaves X, y undefined: a third of scikit-learn's breast-cancer data.


class XGBClassifier(xgboost.XGBClassifier):
    def fit(self, X, y, **kwargs):
        self.set_params(n_estimators=min(self.n_estimators, 20), n_jobs=1)
        return super().fit(X, y, **kwargs)


X, y = (a[::3] for a in load_breast_cancer(return_X_y=True))


def objective(trial):
    # Define hyperparameters to optimize
    params = {
        'n_estimators': trial.suggest_int('n_estimators', 100, 1000),
        'max_depth': trial.suggest_int('max_depth', 2, 10),
        'learning_rate': trial.suggest_float('learning_rate', 1e-4, 1e-1, log=True),
        'min_child_weight': trial.suggest_int('min_child_weight', 1, 7),
        'subsample': trial.suggest_float('subsample', 0.6, 1.0),
        'colsample_bytree': trial.suggest_float('colsample_bytree', 0.6, 1.0)
    }

    # Create model with current hyperparameters
    model = XGBClassifier(**params)

    # Perform cross-validation
    scores = cross_val_score(model, X, y, cv=5, scoring='accuracy')

    return scores.mean()


SLIDE_4_SPACE = ut.Space(
    n_estimators=ut.Int(100, 1000), max_depth=ut.Int(2, 10),
    learning_rate=ut.Float(1e-4, 1e-1, log=True), min_child_weight=ut.Int(1, 7),
    subsample=ut.Float(0.6, 1.0), colsample_bytree=ut.Float(0.6, 1.0))
ENGINES = ["optuna:tpe", "skopt:gp", "ray:asha", "pymoo:ga"]


@pytest.mark.parametrize("backend", ENGINES)
def test_slide_4_objective_runs_as_written_on_every_engine(backend):
    result = ut.optimize(objective, None, backend=backend, direction="maximize", n_trials=3,
                         seed=0)
    assert [t.state for t in result.trials] == [ut.TrialState.COMPLETE] * 3
    assert result.space == SLIDE_4_SPACE  # the six suggest_* calls, recorded as the space
    for t in result.trials:
        assert SLIDE_4_SPACE.contains(t.params), t.params
        assert 0.5 < t.value <= 1.0
    best = result.best_trial  # its value is the slide's number for its params
    again = cross_val_score(XGBClassifier(**best.params), X, y, cv=5, scoring="accuracy")
    assert best.value == pytest.approx(again.mean())


# -- a conditional objective: two levels of nesting -----------------------------------------
def conditional(trial):
    classifier = trial.suggest_categorical("classifier", ["SVC", "RandomForest"])
    if classifier == "SVC":
        C = trial.suggest_float("C", 1e-3, 1e3, log=True)
        kernel = trial.suggest_categorical("kernel", ["linear", "rbf"])
        if kernel == "rbf":
            gamma = trial.suggest_float("gamma", 1e-4, 1.0, log=True)
            return abs(C - 1.0) + gamma
        return abs(C - 10.0)
    return 1.0 / trial.suggest_int("max_depth", 2, 32, log=True)


def asked(params):
    """The names ``conditional`` asks, given the values it got."""
    if params["classifier"] == "RandomForest":
        return {"classifier", "max_depth"}
    names = {"classifier", "C", "kernel"}
    return names | {"gamma"} if params["kernel"] == "rbf" else names


CONDITIONAL_SPACE = {
    "classifier": ut.Categorical(["SVC", "RandomForest"]),
    "C": ut.Float(1e-3, 1e3, log=True), "kernel": ut.Categorical(["linear", "rbf"]),
    "gamma": ut.Float(1e-4, 1.0, log=True), "max_depth": ut.Int(2, 32, log=True)}


@pytest.mark.parametrize("backend", ENGINES)
def test_conditional_trials_store_what_they_asked_and_a_resume_continues(backend, tmp_path):
    storage = str(tmp_path / "ledger.journal")
    # skopt: its random start throughout (a GP fit per trial costs seconds on a busy machine)
    options = {"n_initial_points": 16} if backend.startswith("skopt") else {}
    first = ut.optimize(conditional, None, backend=backend, n_trials=8, seed=0,
                        storage=storage, study_name="svc-or-forest", options=options)
    resumed = ut.optimize(conditional, None, backend=backend, n_trials=16, seed=0,
                          storage=storage, study_name="svc-or-forest", options=options)
    assert [t.params for t in resumed.trials[:8]] == [t.params for t in first.trials]
    assert len(resumed.trials) == 16
    assert all(t.state is ut.TrialState.COMPLETE for t in resumed.trials)
    for t in resumed.trials:  # no inactive param stored, no active one missing
        assert set(t.params) == asked(t.params), (t.number, t.params)
        assert all(CONDITIONAL_SPACE[n].contains(v) for n, v in t.params.items()), t.params
    branches = {(t.params["classifier"], t.params.get("kernel")) for t in resumed.trials}
    assert branches == {("SVC", "linear"), ("SVC", "rbf"), ("RandomForest", None)}
    # the space the trials declared, recorded in the study and read back on resume
    assert dict(resumed.space) == CONDITIONAL_SPACE
    assert ut.load("svc-or-forest", storage).space == resumed.space


# -- a name declared twice otherwise --------------------------------------------------------
def redeclares(trial):
    if trial.number == 0:
        return trial.suggest_float("x", 0.0, 1.0)
    if trial.number == 1:
        return float(trial.suggest_int("x", 0, 1))  # another kind
    if trial.number == 2:
        return trial.suggest_float("x", 0.0, 2.0)  # other bounds
    return float(trial.suggest_categorical("y", [1, 2]) + trial.suggest_float("x", 0.0, 1.0))


@pytest.mark.parametrize("backend", ENGINES)
def test_a_redeclared_parameter_fails_the_trial_with_optunas_message(backend):
    result = ut.optimize(redeclares, None, backend=backend, n_trials=4, seed=0)
    states = [t.state for t in result.trials]
    assert states == [ut.TrialState.COMPLETE, ut.TrialState.FAIL, ut.TrialState.FAIL,
                      ut.TrialState.COMPLETE]
    kind, bounds = result.trials[1].error, result.trials[2].error
    assert "Cannot set different distribution kind to the same parameter name." in kind
    assert "parameter 'x'" in kind and "Float(low=0.0, high=1.0)" in kind
    assert "Int(low=0, high=1)" in kind
    assert "Cannot set different bounds or step to the same parameter name." in bounds
    assert set(result.trials[3].params) == {"x", "y"}
    assert dict(result.space) == {"x": ut.Float(0.0, 1.0), "y": ut.Categorical([1, 2])}


def test_other_choices_for_a_categorical_fail_with_optunas_message():
    def objective(trial):
        choices = ["a", "b"] if trial.number == 0 else ["a", "b", "c"]
        return float(len(trial.suggest_categorical("letter", choices)))

    result = ut.optimize(objective, None, backend="optuna:tpe", n_trials=2)
    assert "CategoricalDistribution does not support dynamic value space." in \
        result.trials[1].error


def test_a_parameter_asked_twice_in_a_trial_gets_one_value_as_in_optuna():
    def objective(trial):
        assert trial.suggest_float("x", 0, 1) == trial.suggest_float("x", 0, 1)
        return trial.suggest_float("x", 0, 1)

    result = ut.optimize(objective, None, backend="skopt:gp", n_trials=2)
    assert [t.state for t in result.trials] == [ut.TrialState.COMPLETE] * 2


def test_optuna_sees_the_define_by_run_space_natively():
    import optuna

    result = ut.optimize(conditional, None, backend="optuna:tpe", n_trials=5, seed=3)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=3))
    study.optimize(conditional, n_trials=5)
    # TPE's suggestions are those of the same objective in plain Optuna
    assert [t.params for t in result.trials] == [t.params for t in study.trials]


def test_an_objective_of_params_given_no_space_is_refused_naming_both_ways():
    def forgot_the_space(params):
        return params["x"]

    with pytest.raises(ut.InvalidOption, match=r"space=None, but objective 'forgot_the_"
                       r"space' takes \(params\): give its search space .* define-by-run"):
        ut.optimize(forgot_the_space, None, n_trials=2)


def test_a_finite_grid_backend_refuses_a_define_by_run_objective():
    with pytest.raises(ut.errors.UnsupportedFeature, match="optuna:grid.*define-by-run"):
        ut.optimize(conditional, None, backend="optuna:grid", n_trials=2)


# -- the command -------------------------------------------------------------------------------
def test_unitune_run_worker_and_show_a_define_by_run_file_without_space(tmp_path):
    (tmp_path / "dbr.py").write_text(textwrap.dedent("""
        def objective(trial):
            kind = trial.suggest_categorical("kind", ["sq", "abs"])
            x = trial.suggest_float("x", -3.0, 3.0)
            return x * x if kind == "sq" else abs(x)
        """))
    env = {"PYTHONPATH": str(Path(ut.__file__).parents[1]), "PATH": "/usr/bin:/bin"}

    def unitune(*args):
        proc = subprocess.run([sys.executable, "-m", "unitune.cli", *args, "--storage",
                               "s.journal"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc

    unitune("run", "dbr.py:objective", "--backend", "skopt:gp", "--n-trials", "3")
    # a worker joins the study with the space its trials declared
    unitune("worker", "dbr.py:objective", "--study", "dbr:objective", "--n-trials", "5")
    result = ut.load("dbr:objective", str(tmp_path / "s.journal"))
    assert len(result.trials) == 5
    assert all(set(t.params) == {"kind", "x"} for t in result.trials)
    show = unitune("show", "--study", "dbr:objective")
    assert "define-by-run space (as the trials declared it):" in show.stdout
    assert "  kind: Categorical(choices=['sq', 'abs'])" in show.stdout
    assert "  x: Float(low=-3.0, high=3.0)" in show.stdout
