"""ut.ScriptParser: the flags every tuning script shares, and a backend the script cannot
run on refused when the flags are read, in one line that says why."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import unitune as ut

DOC = """Tune something: the first line.

More words for --help.
"""


def _refused(parser, argv, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line, no usage block
    return err.strip()


def test_the_shared_flags_and_their_defaults():
    parser = ut.ScriptParser(DOC, backend="skopt:gp", n_trials=40, workers=2, seed=7,
                             prog="x.py")
    args = parser.parse_args([])
    assert (args.backend, args.n_trials, args.workers, args.seed, args.storage, args.study,
            args.quiet) == ("skopt:gp", 40, 2, 7, None, "x/skopt:gp", False)
    args = parser.parse_args(["--backend", "pymoo", "--n-trials", "3", "--workers", "1",
                              "--seed", "0", "--storage", "s.journal", "--quiet"])
    assert (args.backend, args.n_trials, args.seed, args.storage, args.study, args.quiet) \
        == ("pymoo:nsga2", 3, 0, "s.journal", "x/pymoo:nsga2", True)  # the engine's default
    assert parser.parse_args(["--study", "mine"]).study == "mine"
    assert parser.description == "Tune something: the first line."
    assert "More words for --help." in parser.format_help()


def test_an_unknown_backend_is_refused_with_the_known_ones(capsys):
    parser = ut.ScriptParser(DOC, backend="optuna:tpe", n_trials=3, prog="x.py")
    err = _refused(parser, ["--backend", "optuna:bogus"], capsys)
    assert err.startswith("x.py: error: --backend: unknown backend 'optuna:bogus'; known "
                          "backends: auto:any, optuna:cmaes, ")


def test_a_backend_without_a_needed_capability_is_refused_naming_those_with_it(capsys):
    parser = ut.ScriptParser(DOC, backend="pymoo:nsga2", n_trials=3, prog="x.py",
                             needs={"multi_objective"})
    err = _refused(parser, ["--backend", "skopt:gp"], capsys)
    able = [b.name for b in ut.backends() if b.capabilities.multi_objective]
    assert err == ("x.py: error: --backend skopt:gp: this script needs several objectives, "
                   f"which skopt:gp does not do; backends that do: {', '.join(able)}")
    assert parser.parse_args(["--backend", "ray:optuna"]).backend == "ray:optuna"


def test_a_refused_engine_or_backend_gets_the_scripts_reason(capsys):
    parser = ut.ScriptParser(DOC, backend="optuna:tpe", n_trials=3, prog="x.py",
                             refuse={"pymoo": "no reason at all", "optuna:grid": "too big"})
    assert _refused(parser, ["--backend", "pymoo:ga"], capsys) == \
        "x.py: error: --backend pymoo:ga: no reason at all"
    assert _refused(parser, ["--backend", "optuna:grid"], capsys) == \
        "x.py: error: --backend optuna:grid: too big"
    assert _refused(parser, ["--n-trials", "0"], capsys) == \
        "x.py: error: argument --n-trials: '0' must be > 0"


def test_a_capability_name_the_script_gets_wrong_is_a_programming_error():
    with pytest.raises(ValueError, match=r"needs=\['multiobjective'\]: capabilities are"):
        ut.ScriptParser(DOC, backend="optuna:tpe", n_trials=3, needs={"multiobjective"})


def test_the_banner_and_a_line_per_trial(capsys):
    parser = ut.ScriptParser(DOC, backend="optuna:random", n_trials=3, prog="x.py")
    args = parser.parse_args(["--workers", "2"])
    assert parser.banner(args, "maximize accuracy") == \
        "maximize accuracy with optuna:random, 3 trials, seed 0, 2 workers"
    result = ut.optimize(lambda p: p["x"], ut.Space(x=ut.Int(0, 9)), backend=args.backend,
                         n_trials=3, seed=0, callbacks=parser.callbacks(args))
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[:3] for ln in lines] == [
        ["trial", str(t.number), "COMPLETE"] for t in result.trials]
    quiet = parser.parse_args(["--quiet"])
    assert parser.callbacks(quiet) == []


def test_a_recipe_run_again_with_the_same_storage_resumes_its_study(tmp_path):
    recipe = str(Path(__file__).resolve().parents[1] / "recipes" / "quickstart.py")

    def run(*flags):
        proc = subprocess.run([sys.executable, recipe, "--storage", "s.journal", *flags],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              check=True)
        return [ln for ln in proc.stdout.splitlines() if ln.startswith("trial ")]

    assert len(run("--n-trials", "2")) == 2
    assert run("--n-trials", "2") == []  # nothing redone
    assert len(run("--n-trials", "3")) == 1  # only the missing trial
    assert len(run("--n-trials", "1", "--backend", "optuna:random")) == 1  # its own study
    stored = ut.load("quickstart/optuna:tpe", str(tmp_path / "s.journal"))
    assert len(stored.trials) == 3


def test_the_execution_flags_reach_optimize_and_a_misfit_names_its_flag(capsys):
    assert "--executor" not in ut.ScriptParser(DOC, backend="optuna:random",
                                               n_trials=3).format_help()  # opt-in only
    parser = ut.ScriptParser(DOC, backend="optuna:random", n_trials=3, prog="x.py",
                             execution=True)
    assert ut.ScriptParser.execution(parser.parse_args([])) == {
        "executor": None, "trial_timeout": None, "trial_memory": None, "deterministic": False}
    args = parser.parse_args(["--executor", "process", "--trial-timeout", "60",
                              "--trial-memory", "4GB", "--deterministic"])
    assert ut.ScriptParser.execution(args) == {
        "executor": "process", "trial_timeout": 60.0, "trial_memory": "4GB",
        "deterministic": True}
    result = ut.optimize(_quadratic, ut.Space(x=ut.Int(0, 9)), backend=args.backend,
                         n_trials=args.n_trials, **ut.ScriptParser.execution(args))
    assert len(result.completed) == 3
    err = _refused(parser, ["--trial-timeout", "60"], capsys)
    assert err == ("x.py: error: --trial-timeout needs --executor process: a trial running in "
                   "a thread cannot be stopped or limited on its own, a worker process can")
    err = _refused(parser, ["--executor", "process", "--trial-memory", "4XB"], capsys)
    assert err == ("x.py: error: argument --trial-memory: '4XB' must be a size such as 512MB, "
                   "4GB or 4GiB, or a number of bytes")
    err = _refused(parser, ["--executor", "process", "--trial-timeout", "0"], capsys)
    assert err.startswith("x.py: error: argument --trial-timeout: '0' must be > 0")
    if importlib.util.find_spec("ray") is not None:
        err = _refused(parser, ["--backend", "ray:asha", "--deterministic"], capsys)
        assert err.startswith("x.py: error: --deterministic: not supported on ray:asha: Ray "
                              "Tune runs its trials asynchronously")


def _quadratic(params):
    return (params["x"] - 3) ** 2


def test_a_ray_backend_takes_the_trial_timeout_flag_and_refuses_the_memory_cap(capsys):
    parser = ut.ScriptParser(DOC, backend="ray:random", n_trials=3, prog="x.py",
                             execution=True)
    args = parser.parse_args(["--trial-timeout", "60"])  # Ray's trials run in processes
    assert ut.ScriptParser.execution(args)["trial_timeout"] == 60.0
    err = _refused(parser, ["--trial-memory", "4GB"], capsys)
    assert err == ("x.py: error: --trial-memory: not supported on ray:random: Ray starts its "
                   "worker processes, and unitune cannot cap them; use an ask/tell backend "
                   "with --executor process")
