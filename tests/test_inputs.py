"""Bad input is refused before anything is written, in one line naming what is wrong.

Every test here is one bad input (a parametrised case each), through the Python API
or the `unitune` command: a wrong-typed value for every option of every backend,
wrong values for every argument of ``optimize()``, malformed space files, bad storage
strings, a directory for a journal, a journal nobody may write. Each must raise a
``ut.UnituneError`` (the command: exit 2) whose message is one line naming the wrong
thing, and leave the folder of the study exactly as it was (no journal, no lock).
``pytest tests/test_inputs.py -q`` therefore counts the bad inputs refused cleanly.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from objectives import NeverCalled

import unitune as ut
from unitune import adapters, cli

SPACE = ut.Space(x=ut.Float(-1.0, 1.0, step=0.5), n=ut.Int(0, 3))  # every backend takes it


def snapshot(folder):
    """Every file and folder under ``folder`` with its size: what "nothing written" means."""
    return {str(p.relative_to(folder)): p.stat().st_size if p.is_file() else None
            for p in folder.rglob("*") if "__pycache__" not in p.parts}


def one_line_naming(message, *names):
    assert message and "\n" not in message.strip(), message
    for name in names:
        assert name in message, (name, message)


# -- one wrong-typed value for each option of each backend ---------------------------------
# options whose right value is a string get a number; every other option gets "ten"
STRING_OPTIONS = {"acq_func", "initial_point_generator", "acq_optimizer", "strategy",
                  "variant", "searcher", "scheduler", "address", "storage_path", "pruner",
                  "qmc_type", "restart_strategy"}
OPTIONS = [(b.name, option) for b in ut.backends()
           for option in sorted(adapters.get(b.name).accepted_options())]


@pytest.mark.parametrize("backend,option", OPTIONS, ids=[f"{b}-{o}" for b, o in OPTIONS])
def test_a_wrong_typed_option_is_refused_before_the_ledger(tmp_path, backend, option):
    value = 10 if option in STRING_OPTIONS else "ten"
    journal = tmp_path / "study.journal"
    objective = NeverCalled()
    with pytest.raises(ut.InvalidOption) as info:
        ut.optimize(objective, SPACE, backend=backend, n_trials=3, storage=str(journal),
                    options={option: value})
    one_line_naming(str(info.value), option)
    assert not journal.exists() and objective.calls == 0


# -- every argument of optimize() ------------------------------------------------------------
def f(params):
    return 0.0


# (id, keyword arguments (STORAGE: the journal of the case), what the message names)
STORAGE = "<journal>"
ARGUMENTS = [
    ("objective-int", dict(objective=3), ["objective"]),
    ("objective-str", dict(objective="f"), ["objective"]),
    ("objective-no-args", dict(objective=lambda: 0), ["objective", "(params)"]),
    ("objective-3-args", dict(objective=lambda a, b, c: 0), ["objective", "(params)"]),
    ("space-int", dict(space=3), ["search space"]),
    ("space-str", dict(space="x"), ["search space"]),
    ("space-none", dict(space=None), ["search space"]),
    ("space-param-int", dict(space={"x": 5}), ["parameter 'x'"]),
    ("space-name-int", dict(space={3: ut.Float(0, 1)}), ["parameter names", "3"]),
    ("backend-int", dict(backend=3), ["backend", "3"]),
    ("backend-none", dict(backend=None), ["backend", "None"]),
    ("backend-unknown", dict(backend="nope"), ["backend 'nope'"]),
    ("backend-unknown-algorithm", dict(backend="optuna:nope"), ["backend 'optuna:nope'"]),
    ("direction-int", dict(direction=3), ["direction 3"]),
    ("direction-word", dict(direction="up"), ["direction 'up'"]),
    ("directions-int", dict(directions=3), ["directions=3"]),
    ("directions-empty", dict(directions=[]), ["directions="]),
    ("directions-none-inside", dict(directions=[None]), ["direction None"]),
    ("directions-and-direction", dict(direction="min", directions=["min"]), ["directions="]),
    ("metrics-int", dict(metrics=3), ["metrics=3"]),
    ("metrics-twice", dict(metrics=["a", "a"]), ["metrics="]),
    ("metrics-not-str", dict(metrics=[1]), ["metrics="]),
    ("metrics-empty-name", dict(metrics=""), ["metrics="]),
    ("metrics-more-than-directions", dict(metrics=["a", "b"]), ["metrics="]),
    ("n_trials-str", dict(n_trials="10"), ["n_trials='10'"]),
    ("n_trials-zero", dict(n_trials=0), ["n_trials=0"]),
    ("n_trials-negative", dict(n_trials=-1), ["n_trials=-1"]),
    ("n_trials-float", dict(n_trials=2.5), ["n_trials=2.5"]),
    ("n_trials-bool", dict(n_trials=True), ["n_trials=True"]),
    ("n_trials-and-timeout-none", dict(n_trials=None), ["n_trials=", "timeout="]),
    ("timeout-str", dict(timeout="10"), ["timeout='10'"]),
    ("timeout-zero", dict(timeout=0), ["timeout=0"]),
    ("timeout-negative", dict(timeout=-1), ["timeout=-1"]),
    ("timeout-nan", dict(timeout=math.nan), ["timeout=nan"]),
    ("timeout-bool", dict(timeout=True), ["timeout=True"]),
    ("n_workers-zero", dict(n_workers=0), ["n_workers=0"]),
    ("n_workers-str", dict(n_workers="2"), ["n_workers='2'"]),
    ("n_workers-float", dict(n_workers=1.5), ["n_workers=1.5"]),
    ("n_workers-none", dict(n_workers=None), ["n_workers=None"]),
    ("seed-negative", dict(seed=-1), ["seed=-1"]),
    ("seed-str", dict(seed="1"), ["seed='1'"]),
    ("seed-float", dict(seed=1.5), ["seed=1.5"]),
    ("seed-bool", dict(seed=True), ["seed=True"]),
    ("storage-int", dict(storage=3), ["storage", "3"]),
    ("storage-bytes", dict(storage=b"s.journal"), ["storage", "b's.journal'"]),
    ("storage-empty", dict(storage=""), ["storage=''", "empty"]),
    ("storage-blank", dict(storage="   "), ["storage='   '", "empty"]),
    ("storage-scheme", dict(storage="redis://localhost"), ["storage=", "'redis'"]),
    ("storage-directory", dict(storage="<dir>"), ["is a directory"]),
    ("storage-under-a-file", dict(storage="<file>/s.journal"), ["is a file, not a folder"]),
    ("study_name-int", dict(study_name=123), ["study_name=123"]),
    ("study_name-empty", dict(study_name=""), ["study_name=''"]),
    ("study_name-blank", dict(study_name="  "), ["study_name='  '"]),
    ("study_name-list", dict(study_name=["a"]), ["study_name=['a']"]),
    ("options-str", dict(options="x"), ["options", "'x'"]),
    ("options-list", dict(options=["pruner"]), ["options", "['pruner']"]),
    ("options-unknown", dict(options={"nope": 1}), ["option 'nope'"]),
    ("options-unknown-not-str", dict(options={1: 2, "b": 3}), ["option 'b'"]),
    ("callbacks-function", dict(callbacks=f), ["callbacks", "callbacks=[f]"]),
    ("callbacks-int", dict(callbacks=3), ["callbacks", "3"]),
    ("callbacks-str", dict(callbacks="abc"), ["callbacks", "'abc'"]),
    ("callbacks-not-callable", dict(callbacks=[3]), ["callbacks", "[3]"]),
    ("callbacks-dict", dict(callbacks={"a": f}), ["callbacks"]),
    ("on_failure-word", dict(on_failure="ignore"), ["on_failure='ignore'"]),
    ("on_failure-int", dict(on_failure=3), ["on_failure=3"]),
    ("on_failure-none", dict(on_failure=None), ["on_failure=None"]),
]


@pytest.mark.parametrize("kwargs,names", [(k, n) for _, k, n in ARGUMENTS],
                         ids=[i for i, _, _ in ARGUMENTS])
def test_a_bad_argument_is_refused_before_the_ledger(tmp_path, kwargs, names):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("")
    kwargs = dict(kwargs)
    storage = kwargs.setdefault("storage", STORAGE)
    if isinstance(storage, str):
        kwargs["storage"] = (storage.replace(STORAGE, str(tmp_path / "study.journal"))
                             .replace("<dir>", str(tmp_path / "dir"))
                             .replace("<file>", str(tmp_path / "file")))
    kwargs.setdefault("n_trials", 3)
    if kwargs["n_trials"] is None:
        del kwargs["n_trials"]
    objective = kwargs.pop("objective", NeverCalled())
    before = snapshot(tmp_path)
    with pytest.raises(ut.UnituneError) as info:
        ut.optimize(objective, kwargs.pop("space", SPACE), **kwargs)
    assert isinstance(info.value, (ValueError, TypeError))
    one_line_naming(str(info.value), *names)
    assert snapshot(tmp_path) == before
    assert getattr(objective, "calls", 0) == 0


# -- space files -----------------------------------------------------------------------------
# (file name, content, what the message names)
SPACE_FILES = [
    ("flow.yaml", "x: {type: float, low: 0\ny: 3\n", ["flow.yaml:2:2: invalid YAML: ",
                                                     "expected ',' or '}'"]),
    ("indent.yaml", "x:\n  type: float\n low: 1\n", ["indent.yaml:3:2: invalid YAML: "]),
    ("unclosed.yaml", "x: [1, 2\n", ["unclosed.yaml:2:1: invalid YAML: "]),
    ("tab.yaml", "\tx: 1\n", ["tab.yaml:1:1: invalid YAML: ", "'\\t'"]),
    ("tag.yaml", "x: !!python/object:os.system {}\n", ["tag.yaml:1:4: invalid YAML: "]),
    ("twice.yaml", "x: [1, 2]\nx: [3]\n", ["twice.yaml:2:1: invalid YAML: ",
                                          "key 'x' is given twice"]),
    ("comma.json", '{"x": {"type": "float",, }}', ["comma.json:1:24: invalid JSON: "]),
    ("trailing.json", '{"x": [1, 2]} and more', ["trailing.json:1:15: invalid JSON: Extra"]),
    ("twice.json", '{"x": [1], "x": [2]}', ["twice.json: invalid JSON: key 'x' is given twice"]),
    ("binary.yaml", b"\xff\xfe\x00x", ["binary.yaml", "not UTF-8"]),
    ("empty.yaml", "", ["empty.yaml", "is empty"]),
    ("scalar.yaml", "hello\n", ["scalar.yaml", "'hello'"]),
    ("bounds.yaml", "x: {type: float, low: 5, high: -5}\n", ["bounds.yaml", "parameter 'x'"]),
    ("folder.yaml", None, ["folder.yaml", "cannot read"]),
    ("missing.yaml", ..., ["missing.yaml", "cannot read"]),
]


def write_space_file(folder, name, content):
    path = folder / name
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not ...:
        path.write_text(content)
    return path


@pytest.mark.parametrize("name,content,names", SPACE_FILES, ids=[s[0] for s in SPACE_FILES])
def test_a_bad_space_file_is_refused_with_its_line_and_column(tmp_path, name, content, names):
    path = write_space_file(tmp_path, name, content)
    before = snapshot(tmp_path)
    with pytest.raises((ut.InvalidSpace, ut.SpaceTypeError)) as info:
        ut.Space.from_file(path)
    one_line_naming(str(info.value), *names)
    assert snapshot(tmp_path) == before


# -- the command -----------------------------------------------------------------------------
OBJECTIVE = "def f(params):\n    return params['x'] ** 2\n\nSPACE = {'x': [1, 2]}\nvalue = 3\n"


@pytest.fixture(autouse=True)
def _forget_objective_modules():
    """The command, run in this process, imports each test's obj.py: forget those modules
    afterwards, so that no later test imports this folder's obj by its name."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name == "obj" or name.startswith("_unitune_objective_"):
            del sys.modules[name]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with an objective, a space and a stored study; the command runs in it,
    in this process (its errors take the same path as from a shell: main() -> exit 2)."""
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: -1, high: 1}\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("")
    ut.optimize(f, {"x": ut.Float(-1, 1)}, n_trials=2, storage=str(tmp_path / "s.journal"),
                study_name="s")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the command puts obj.py's folder first
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    return tmp_path


def run_command(*argv, capsys):
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


RUN = ["run", "obj.py:f", "--space", "space.yaml", "--n-trials", "3"]
COMMANDS = [
    ("option-wrong-type", [*RUN, "--option", "n_startup_trials=ten"], ["n_startup_trials"]),
    ("option-not-yaml", [*RUN, "--option", "pruner=[a"], ["--option", "YAML"]),
    ("option-not-key-value", [*RUN, "--option", "pruner"], ["--option 'pruner'"]),
    ("option-unknown", [*RUN, "--option", "population=3"], ["option 'population'"]),
    ("option-pruner-options", [*RUN, "--option", "pruner=hyperband", "--option",
                               "pruner_options={reduction_factor: -5}"],
     ["pruner_options.reduction_factor=-5"]),
    ("option-skopt", [*RUN, "--backend", "skopt:gp", "--option", "acq_func=best"],
     ["acq_func='best'"]),
    ("option-ray", [*RUN, "--backend", "ray:asha", "--option", "max_t=0"], ["max_t=0"]),
    ("option-pymoo", [*RUN, "--backend", "pymoo:ga", "--option", "pop_size=1"],
     ["pop_size=1"]),
    ("space-malformed", [*RUN[:3], "flow.yaml", "--n-trials", "3"], ["flow.yaml:2:2"]),
    ("space-json", [*RUN[:3], "comma.json", "--n-trials", "3"], ["comma.json:1:24"]),
    ("space-key-twice", [*RUN[:3], "twice.yaml", "--n-trials", "3"], ["twice.yaml:2:1"]),
    ("space-missing", [*RUN[:3], "missing.yaml", "--n-trials", "3"], ["missing.yaml"]),
    ("storage-empty", [*RUN, "--storage", ""], ["--storage ''"]),
    ("storage-directory", [*RUN, "--storage", "dir"], ["'dir'", "is a directory"]),
    ("storage-under-a-file", [*RUN, "--storage", "file/s.journal"], ["'file/s.journal'"]),
    ("storage-scheme", [*RUN, "--storage", "redis://x"], ["'redis'"]),
    ("study-empty", [*RUN, "--study", ""], ["study_name=''"]),
    ("study-other-space", [*RUN, "--study", "s", "--storage", "s.journal", "--space",
                           "other.yaml"], ["study 's'"]),
    ("metric-twice", [*RUN, "--metric", "a", "--metric", "a"], ["metrics="]),
    ("objective-not-a-function", ["run", "obj.py:value", "--n-trials", "3"], ["'value'"]),
    ("objective-file-missing", ["run", "nope.py:f", "--n-trials", "3"], ["'nope.py'"]),
    ("objective-no-colon", ["run", "obj.py", "--n-trials", "3"], ["'obj.py'"]),
    ("backend-unknown", [*RUN, "--backend", "optuna:nope"], ["'optuna:nope'"]),
    ("n-trials-zero", [*RUN[:4], "--n-trials", "0"], ["--n-trials", "'0'"]),
    ("n-trials-word", [*RUN[:4], "--n-trials", "ten"], ["--n-trials", "'ten'"]),
    ("workers-zero", [*RUN, "--workers", "0"], ["--workers"]),
    ("timeout-negative", [*RUN, "--timeout", "-1"], ["--timeout"]),
    ("seed-negative", [*RUN, "--seed", "-1"], ["--seed"]),
    ("direction-word", [*RUN, "--direction", "up"], ["--direction"]),
    ("on-failure-word", [*RUN, "--on-failure", "ignore"], ["--on-failure"]),
    ("show-directory", ["show", "--study", "s", "--storage", "dir"],
     ["'dir'", "is a directory"]),
    ("show-empty-storage", ["show", "--study", "s", "--storage", ""], ["--storage ''"]),
    ("show-missing-file", ["show", "--study", "s", "--storage", "none.journal"],
     ["'none.journal'", "does not exist"]),
    ("show-missing-study", ["show", "--study", "t", "--storage", "s.journal"], ["'t'"]),
    ("show-last-zero", ["show", "--study", "s", "--storage", "s.journal", "--last", "0"],
     ["--last"]),
    ("studies-directory", ["studies", "--storage", "dir"], ["'dir'", "is a directory"]),
    ("worker-directory", ["worker", "--study", "s", "--storage", "dir"],
     ["'dir'", "is a directory"]),
    ("worker-missing-study", ["worker", "--study", "t", "--storage", "s.journal", "--wait",
                              "0"], ["'t'"]),
    ("command-unknown", ["frobnicate"], ["'frobnicate'"]),
]


@pytest.mark.parametrize("argv,names", [(a, n) for _, a, n in COMMANDS],
                         ids=[i for i, _, _ in COMMANDS])
def test_a_bad_command_line_exits_2_in_one_line(workdir, capsys, argv, names):
    for name, content, _ in SPACE_FILES:
        if name in argv:
            write_space_file(workdir, name, content)
    (workdir / "other.yaml").write_text("y: {type: int, low: 0, high: 3}\n")
    before = snapshot(workdir)
    code, out, err = run_command(*argv, capsys=capsys)
    assert code == 2, (out, err)
    assert ": error: " in err and "Traceback" not in err, err
    one_line_naming(err.strip(), *names)
    assert snapshot(workdir) == before


# -- a ledger nobody may write ---------------------------------------------------------------
def read_only(path, on):
    """Make ``path`` read-only for this process: its mode, and for root (whom modes do
    not stop) the immutable attribute, which stops root too."""
    if on:
        os.chmod(path, 0o444 if path.is_file() else 0o555)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)
    if not on:
        os.chmod(path, 0o644 if path.is_file() else 0o755)


@pytest.mark.parametrize("via", ["api", "command"])
@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_journal_nobody_may_write_is_refused_in_one_line_and_still_shown(
        tmp_path, capsys, monkeypatch, via, what):
    folder = tmp_path / "studies"
    folder.mkdir()
    journal = folder / "s.journal"
    ut.optimize(f, {"x": ut.Float(-1, 1)}, n_trials=2, storage=str(journal), study_name="s")
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    target = journal if what == "file" else folder
    storage = str(journal) if what == "file" else str(folder / "new.journal")
    read_only(target, True)
    try:
        before = snapshot(tmp_path)
        if via == "api":
            with pytest.raises(ut.InvalidOption) as info:
                ut.optimize(f, {"x": ut.Float(-1, 1)}, n_trials=4, storage=storage,
                            study_name="s")
            message = str(info.value)
        else:
            code, _, err = run_command("run", "obj.py:f", "--n-trials", "4", "--storage",
                                       storage, "--study", "s", capsys=capsys)
            assert code == 2
            message = err.strip()
        one_line_naming(message, repr(storage), "is not writable")
        assert snapshot(tmp_path) == before
        # reading needs no writing: the study is shown, as it is
        code, out, err = run_command("show", "--study", "s", "--storage", str(journal),
                                     capsys=capsys)
        assert code == 0, err
        assert "2 trials (2 COMPLETE)" in out
        assert len(ut.load("s", str(journal)).trials) == 2
        assert snapshot(tmp_path) == before
    finally:
        read_only(target, False)
