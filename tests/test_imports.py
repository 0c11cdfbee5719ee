"""`import unitune` stays light: engines load only when a backend that needs them runs,
plotting libraries only when a study is drawn."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("ray", "skopt", "pymoo", "sklearn", "xgboost", "torch", "pandas", "optuna",
         "matplotlib", "plotly", "pyarrow")


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} "
         "if m in sys.modules))"], capture_output=True, text=True, check=True).stdout
    return set(filter(None, out.strip().split(",")))


def test_import_unitune_loads_no_engine():
    assert loaded_after("import unitune") == set()


def test_listing_backends_and_building_spaces_loads_no_engine():
    code = ("import unitune as ut\nut.backends()\n"
            "s = ut.Space(x=ut.Float(0, 1), k=ut.Categorical(['a']))\n"
            "ut.Space.from_dict(s.to_dict())\nimport unitune.cli")
    assert loaded_after(code) == set()


def test_an_optuna_study_loads_optuna_only():
    code = "import unitune as ut\nut.optimize(lambda p: p['x'], {'x': ut.Float(0, 1)}, n_trials=2)"
    assert loaded_after(code) == {"optuna"}


def test_plotting_loads_matplotlib_only_when_a_study_is_drawn():
    code = ("import unitune as ut\nr = ut.optimize(lambda p: p['x'], {'x': ut.Float(0, 1)}, "
            "n_trials=2)\nassert r.plot\nimport unitune.plots, unitune._plot_cli")
    assert loaded_after(code) == {"optuna"}
    assert "matplotlib" in loaded_after(code + "\nr.plot('history')")


def test_tracking_and_the_dashboard_load_when_used_not_on_import():
    code = ("import sys\nimport unitune as ut\nimport unitune.cli\n"
            "callback = ut.integrations.MLflowCallback(tracking_uri='sqlite:///unused.db')\n"
            "print(','.join(m for m in ('mlflow', 'optuna_dashboard', 'bottle', 'wsgiref', "
            "'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == ""
