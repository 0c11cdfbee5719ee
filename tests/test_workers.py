"""Several processes on one study: ``unitune worker`` joins a stored study with what the
ledger recorded, the budget is the study's (not each process's), and a trial whose
machine went silent is failed and re-run by the workers that carry on (heartbeats)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

import unitune as ut
from unitune.ledger import RUN_ATTR

_SCRIPT = Path(sys.executable).parent / "unitune"
UNITUNE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "unitune.cli"]
POSTGRES = os.environ.get("UNITUNE_TEST_POSTGRES_URL",
                          "postgresql://unitune:unitune@127.0.0.1:5432/unitune")

OBJECTIVE = textwrap.dedent("""
    import os
    import time

    SPACE = {"x": {"type": "float", "low": -5, "high": 5}}

    def slow(params):
        time.sleep(0.3)
        if os.environ.get("ROLE") == "worker":
            open("worker.joined", "w").close()
        elif os.environ.get("ROLE") == "run":  # hold on until the worker has joined
            deadline = time.monotonic() + 120
            while not os.path.exists("worker.joined") and time.monotonic() < deadline:
                time.sleep(0.05)
        return (params["x"] - 1.0) ** 2

    def paired(params):
        # the run's trial lasts until the worker has run all the others, and the worker's
        # wait until the run's has started: the study ends at its budget exactly (no race
        # between the two for the last trial)
        deadline = time.monotonic() + 120
        if os.environ.get("ROLE") == "worker":
            while not os.path.exists("run.started") and time.monotonic() < deadline:
                time.sleep(0.05)
            with open("worker.trials", "a") as f:
                f.write("done\\n")
        else:
            open("run.started", "w").close()
            n = int(os.environ["N"])
            while time.monotonic() < deadline and not (os.path.exists("worker.trials") and
                    len(open("worker.trials").read().split()) >= n - 1):
                time.sleep(0.05)
        return (params["x"] - 1.0) ** 2

    def forever(params):
        if os.environ.get("HANG"):
            time.sleep(3600)
        return (params["x"] - 1.0) ** 2
    """)


def owners(storage, study):
    reader = ut.ledger.open_storage(storage)
    study_id = reader.get_study_id_from_name(study)
    return [(t.state.name, (t.system_attrs.get(RUN_ATTR) or {}).get("owner"))
            for t in reader.get_all_trials(study_id, deepcopy=False)]


def wait_for(condition, what, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except KeyError:  # the file is there, the study not yet written to it
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    return tmp_path


def test_a_worker_joins_a_running_study_and_they_share_its_budget(workdir):
    n = 32
    journal = workdir / ".unitune" / "studies.journal"
    run = subprocess.Popen([*UNITUNE, "run", "obj.py:slow", "--n-trials", str(n), "--seed",
                            "0", "--quiet"], cwd=workdir, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env={**os.environ, "ROLE": "run"})
    wait_for(lambda: journal.is_file() and owners(str(journal), "obj:slow"),
             "the run's first trial")
    # the worker is given nothing but the study (and the consent to run the objective file
    # the ledger names): objective, space, backend, budget and direction come from the ledger
    worker = subprocess.run([*UNITUNE, "worker", "--study", "obj:slow",
                             "--objective-from-ledger"], cwd=workdir,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "ROLE": "worker"})
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0 and worker.returncode == 0, err + worker.stderr
    assert "worker joins study 'obj:slow' (minimize): optuna:tpe, until it holds 32 trials" in worker.stdout
    recorded = ut.ledger.open_existing("obj:slow", str(journal)).settings()["objective"]
    assert f"worker runs the objective the ledger names: {recorded!r}" in worker.stderr

    trials = owners(str(journal), "obj:slow")
    assert all(state == "COMPLETE" for state, _ in trials)
    # n_trials is the study's: together they ran 32, not 32 each. Two processes that check
    # the count at the same instant may both start the last one (as Optuna's
    # MaxTrialsCallback may), so at most one more.
    assert n <= len(trials) <= n + 1
    by_owner = {owner for _, owner in trials}
    assert len(by_owner) == 2  # both processes ran trials of the study
    result = ut.load("obj:slow", str(journal))
    assert len({t.params["x"] for t in result.trials}) == len(trials)  # no point twice
    assert result.best_value < 1.0
    # The worker (unseeded) left the run's recorded settings alone: the next worker, and
    # `unitune show`, still see how the run started the study.
    settings = ut.ledger.open_existing("obj:slow", str(journal)).settings()
    path, _, function = settings["objective"].rpartition(":")
    assert settings["seed"] == 0 and function == "slow"
    assert Path(path).samefile(workdir / "obj.py")


def test_worker_refuses_what_it_cannot_join(workdir):
    journal = str(workdir / "s.journal")
    ut.optimize(lambda p: p["x"], ut.Space(x=ut.Float(0, 1)), n_trials=2, storage=journal,
                study_name="lambda")

    def worker(*args):
        return subprocess.run([*UNITUNE, "worker", *args, "--storage", journal],
                              cwd=workdir, capture_output=True, text=True, timeout=120)

    missing = worker("--study", "nope", "--wait", "0")
    assert missing.returncode == 2
    assert "study 'nope' is not in storage" in missing.stderr and "lambda" in missing.stderr

    # a study with trials but no run settings will never get them: no wait (subprocess's
    # timeout is shorter than --wait)
    optuna.create_study(study_name="plain", storage=ut.ledger.open_storage(journal)).optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    plain = worker("obj.py:slow", "--study", "plain", "--wait", "600")
    assert plain.returncode == 2 and "was not started by unitune" in plain.stderr

    anonymous = worker("--study", "lambda", "--objective-from-ledger")
    assert anonymous.returncode == 2
    assert "not a function in a file" in anonymous.stderr
    assert "unitune worker FILE.py:FUNCTION --study lambda" in anonymous.stderr

    ut.optimize(lambda p: p["x"], ut.Space(x=ut.Float(0, 1)), backend="ray:random",
                n_trials=1, storage=journal, study_name="on-ray")
    ray_study = worker("obj.py:slow", "--study", "on-ray")
    assert ray_study.returncode == 2
    assert "Ray backends scale out through a Ray cluster" in ray_study.stderr
    assert "--ray-address" in ray_study.stderr

    # given the objective, it joins: the budget recorded by the first run is already met
    joined = worker("obj.py:slow", "--study", "lambda", "--n-trials", "3", "--quiet")
    assert joined.returncode == 0, joined.stderr
    assert len(ut.load("lambda", journal).trials) == 3


def test_worker_names_the_objective_file_missing_on_this_machine(workdir, tmp_path_factory):
    journal = str(workdir / "s.journal")
    run = subprocess.run([*UNITUNE, "run", "obj.py:slow", "--n-trials", "1", "--storage",
                          journal, "--quiet"], cwd=workdir, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    (workdir / "obj.py").unlink()
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    worker = subprocess.run([*UNITUNE, "worker", "--study", "obj:slow", "--storage", journal,
                             "--objective-from-ledger"], cwd=elsewhere, capture_output=True,
                            text=True, timeout=120)
    assert worker.returncode == 2
    assert f"objective file {str(workdir / 'obj.py')!r} is not on this machine" in worker.stderr


def test_a_worker_started_before_the_run_waits_for_the_study(workdir):
    """The worker comes first: it says once that it waits, joins the study when the run
    has started it, and together they run the study's budget exactly."""
    n = 4
    env = {**os.environ, "N": str(n)}
    worker = subprocess.Popen([*UNITUNE, "worker", "obj.py:paired", "--study", "obj:paired",
                               "--wait", "300"], cwd=workdir, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**env, "ROLE": "worker"})
    try:
        waits = worker.stderr.readline()  # the run starts once the worker says it waits
        assert waits == ("worker waits up to 300 s for study 'obj:paired' in "
                         ".unitune/studies.journal\n"), waits + worker.stderr.read()
        assert not (workdir / ".unitune").exists()
        run = subprocess.run([*UNITUNE, "run", "obj.py:paired", "--n-trials", str(n), "--seed",
                              "0", "--quiet"], cwd=workdir, capture_output=True, text=True,
                             timeout=300, env={**env, "ROLE": "run"})
        assert run.returncode == 0, run.stderr
        out, err = worker.communicate(timeout=300)
    finally:
        worker.kill()  # no-op once it has ended
        worker.communicate()
    assert worker.returncode == 0, err
    assert err == ""  # it said it waits once
    assert "worker joins study 'obj:paired' (minimize): optuna:tpe, until it holds 4 trials" in out
    assert f"study 'obj:paired' in .unitune/studies.journal: {n} trials ({n} COMPLETE)" \
        in run.stdout
    trials = owners(str(workdir / ".unitune" / "studies.journal"), "obj:paired")
    assert [state for state, _ in trials] == ["COMPLETE"] * n  # the budget, exactly
    by_owner = [owner for _, owner in trials]
    assert sorted(by_owner.count(o) for o in set(by_owner)) == [1, n - 1]


def test_a_worker_told_not_to_wait_exits_at_once(workdir):
    def worker(*args):
        return subprocess.run([*UNITUNE, "worker", "obj.py:slow", "--study", "obj:slow", *args],
                              cwd=workdir, capture_output=True, text=True, timeout=120)

    at_once = worker("--wait", "0")
    assert at_once.returncode == 2
    assert at_once.stderr == ("unitune: error: storage file '.unitune/studies.journal' does "
                              "not exist\n")
    waited = worker("--wait", "0.3", "--storage", "later.journal")
    assert waited.returncode == 2
    assert waited.stderr == (
        "worker waits up to 0.3 s for study 'obj:slow' in later.journal\n"
        "unitune: error: storage file 'later.journal' does not exist (waited 0.3 s for a run "
        "to create it)\n")
    assert not (workdir / ".unitune").exists() and not (workdir / "later.journal").exists()
    bad = worker("--wait", "soon")
    assert bad.returncode == 2 and "argument --wait: 'soon' must be a number of seconds >= 0" \
        in bad.stderr


def test_a_worker_runs_the_code_on_its_command_line_not_the_ledgers(workdir):
    """Whoever can write the ledger can change the objective file it names: a worker runs
    that file only when told to (--objective-from-ledger), and says which file it runs."""
    journal = str(workdir / "s.journal")
    run = subprocess.run([*UNITUNE, "run", "obj.py:slow", "--n-trials", "1", "--storage",
                          journal, "--quiet"], cwd=workdir, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    evil = workdir / "evil.py"
    evil.write_text("open('pwned', 'w').close()\ndef slow(params):\n    return 0.0\n")
    ledger = ut.ledger.open_existing("obj:slow", journal)
    ledger.record_settings({**ledger.settings(), "objective": f"{evil}:slow"})

    def worker(*args, n_trials=2):
        return subprocess.run([*UNITUNE, "worker", *args, "--study", "obj:slow", "--storage",
                               journal, "--n-trials", str(n_trials), "--quiet"], cwd=workdir,
                              capture_output=True, text=True, timeout=120)

    refused = worker()
    assert refused.returncode == 2
    assert refused.stderr == (
        "unitune: error: give the objective this worker runs: unitune worker "
        "FILE.py:FUNCTION --study obj:slow; or --objective-from-ledger to run the one the "
        f"ledger names, {str(evil) + ':slow'!r}\n")
    assert worker("obj.py:slow").returncode == 0
    assert not (workdir / "pwned").exists()  # the ledger's file never ran
    both = worker("obj.py:slow", "--objective-from-ledger")
    assert both.returncode == 2 and "not both" in both.stderr

    consented = worker("--objective-from-ledger", n_trials=3)
    assert consented.returncode == 0, consented.stderr
    assert consented.stderr == f"worker runs the objective the ledger names: " \
                               f"{str(evil) + ':slow'!r}\n"
    assert (workdir / "pwned").exists()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hb.db'}"
    storage = optuna.storages.RDBStorage(POSTGRES)
    for study in storage.get_all_studies():  # this session's only: another may run
        if study.study_name == f"unitune-hb-{os.getpid()}":
            storage.delete_study(study._study_id)
    return POSTGRES


def test_a_trial_whose_machine_went_silent_is_failed_and_run_again(workdir, database):
    """A worker on 'another host' (its owner tag says so, so its pid cannot be checked)
    keeps its trial while its heartbeats come; once they stop for the grace period the
    next worker fails that trial and runs its params again."""
    name = f"unitune-hb-{os.getpid()}"
    grace = 6
    code = textwrap.dedent(f"""
        import sys, optuna, unitune as ut
        sys.path.insert(0, {str(workdir)!r})
        from obj import SPACE, forever
        storage = optuna.storages.RDBStorage({database!r}, heartbeat_interval=1,
                                             grace_period={grace})
        ut.optimize(forever, SPACE, storage=storage, study_name={name!r}, n_trials=1, seed=0)
        """)
    reader = ut.ledger.open_storage(database)  # one connection pool, polled; makes the tables
    hung = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "HANG": "1"})
    try:
        # the trial is created, then its params are set: wait for both
        wait_for(lambda: [t for t in _running(reader, name) if t.params], "the hung trial")
        stuck = _running(reader, name)[0]
        reader.set_trial_system_attr(stuck._trial_id, RUN_ATTR,
                                     {"backend": "optuna:tpe", "owner": "another-host:1"})

        def resume(n_trials):
            storage = optuna.storages.RDBStorage(database, heartbeat_interval=1,
                                                 grace_period=grace)
            sys.path.insert(0, str(workdir))
            from obj import SPACE, forever
            return ut.optimize(forever, SPACE, storage=storage, study_name=name,
                               n_trials=n_trials, seed=1)

        time.sleep(grace + 1)  # longer than the grace period, but the heartbeats go on
        alive = resume(2)
        assert [t.state for t in alive.trials] == [ut.TrialState.RUNNING,
                                                   ut.TrialState.COMPLETE]
    finally:
        os.kill(hung.pid, signal.SIGKILL)
        hung.wait(timeout=30)

    time.sleep(grace + 1.5)  # silence past the grace period
    final = resume(2)
    states = [t.state for t in final.trials]
    assert states == [ut.TrialState.FAIL, ut.TrialState.COMPLETE, ut.TrialState.COMPLETE]
    assert final.trials[0].error == f"interrupted: no heartbeat from another-host:1 for {grace} s"
    assert final.trials[2].params == stuck.params  # its point ran again
    assert len(final.completed) == 2  # the failed one does not count toward n_trials


def _running(reader, name):
    try:
        study_id = reader.get_study_id_from_name(name)
    except KeyError:
        return []
    return reader.get_all_trials(study_id, deepcopy=False,
                                 states=(optuna.trial.TrialState.RUNNING,))


@pytest.mark.parametrize("backend", ["optuna:tpe", "skopt:gp", "pymoo:ga"])
def test_a_worker_whose_trial_was_taken_over_carries_on(backend, tmp_path, caplog):
    """If a worker's heartbeats were late past the grace period, another worker fails its
    trial and queues it again; when the late worker finishes that trial, it keeps going
    and leaves the ledger as the other worker left it."""
    url = f"sqlite:///{tmp_path / 'late.db'}"
    space = ut.Space(x=ut.Float(-5.0, 5.0))

    def objective(params, trial):
        if trial.number == 0:
            time.sleep(3)  # one beat at the start, none for 3 s (interval 60 s)
            other = ut.ledger.open_existing("late", optuna.storages.RDBStorage(
                url, heartbeat_interval=60, grace_period=1))
            assert other.recover_stale() == [params]  # another worker takes it over
        return params["x"] ** 2

    owner = optuna.storages.RDBStorage(url, heartbeat_interval=60)
    result = ut.optimize(objective, space, backend=backend, storage=owner, study_name="late",
                         n_trials=2, seed=0)
    assert [t.state for t in result.trials] == [ut.TrialState.FAIL, ut.TrialState.COMPLETE,
                                                ut.TrialState.COMPLETE]
    assert result.trials[0].error.startswith("interrupted: no heartbeat from")
    assert result.trials[0].values is None  # the late result was not written over it
    assert result.trials[1].params == result.trials[0].params  # queued again and re-run
    assert "was failed by another worker" in caplog.text
