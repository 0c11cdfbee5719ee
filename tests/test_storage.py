"""The ledger: trials are written when they start and when they end, to memory, the
embedded journal file, SQLite or PostgreSQL, in a form plain Optuna reads."""

from __future__ import annotations

import os

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend

import unitune as ut

SPACE = ut.Space(x=ut.Float(-3.0, 3.0), k=ut.Categorical(["a", "b", None]))
POSTGRES = os.environ.get("UNITUNE_TEST_POSTGRES_URL",
                          "postgresql://unitune:unitune@127.0.0.1:5432/unitune")


def objective(params):
    return params["x"] ** 2 + (params["k"] == "b")


def test_each_trial_is_in_the_file_while_it_runs(tmp_path):
    path = str(tmp_path / "live.journal")
    seen = []

    def watched(params, trial):
        reader = optuna.storages.JournalStorage(JournalFileBackend(path))
        study_id = reader.get_study_id_from_name("live")
        frozen = reader.get_all_trials(study_id)[trial.number]
        seen.append((frozen.state.name, frozen.params == params))
        return objective(params)

    ut.optimize(watched, SPACE, n_trials=5, storage=path, study_name="live", seed=0)
    assert seen == [("RUNNING", True)] * 5


def test_plain_optuna_reads_the_embedded_store(tmp_path):
    path = str(tmp_path / "plain.journal")
    result = ut.optimize(objective, SPACE, n_trials=15, storage=path, study_name="p", seed=0)
    study = optuna.load_study(study_name="p", storage=optuna.storages.JournalStorage(
        JournalFileBackend(path)))
    assert study.best_value == result.best_value
    assert study.best_params == result.best_params
    assert [t.params for t in study.trials] == [dict(t.params) for t in result.trials]


@pytest.fixture(scope="module")
def postgres():
    """The PostgreSQL server that .ci/run starts on 127.0.0.1 (never skipped)."""
    storage = optuna.storages.RDBStorage(POSTGRES)
    for study in storage.get_all_studies():  # this session's names only: another may run
        if study.study_name.startswith("unitune-test-") and study.study_name.endswith(
                f"-{os.getpid()}"):
            storage.delete_study(study._study_id)
    return POSTGRES


def test_postgresql_ledger_resumes_and_checks_the_space(postgres):
    name = f"unitune-test-{os.getpid()}"
    first = ut.optimize(objective, SPACE, n_trials=6, storage=postgres, study_name=name,
                        seed=0)
    resumed = ut.optimize(objective, SPACE, backend="optuna:random", n_trials=10,
                          storage=postgres, study_name=name, seed=0)
    assert [t.params for t in resumed.trials[:6]] == [t.params for t in first.trials]
    assert len(resumed.trials) == 10
    assert [t.backend for t in resumed.trials] == ["optuna:tpe"] * 6 + ["optuna:random"] * 4
    stored = ut.load(name, postgres)
    assert [t.values for t in stored.trials] == [t.values for t in resumed.trials]
    with pytest.raises(ut.StudyMismatch, match="different space"):
        ut.optimize(objective, ut.Space(x=ut.Float(-3.0, 3.0)), n_trials=12, storage=postgres,
                    study_name=name)


def test_parallel_workers_share_a_postgresql_study(postgres):
    name = f"unitune-test-par-{os.getpid()}"
    result = ut.optimize(objective, SPACE, n_trials=12, n_workers=2, storage=postgres,
                         study_name=name, seed=0)
    assert len(result.trials) == 12
    assert sorted(t.number for t in result.trials) == list(range(12))
    assert all(t.state is ut.TrialState.COMPLETE for t in result.trials)


def test_a_half_written_last_line_is_cut_and_the_study_goes_on(tmp_path):
    # A process killed in the middle of an append (or a power cut before the group
    # commit's fsync) leaves a last line without its newline. The next append cuts it:
    # otherwise the new line would merge with it and Optuna would refuse the whole file.
    path = tmp_path / "torn.journal"
    first = ut.optimize(objective, SPACE, n_trials=3, storage=str(path), study_name="t", seed=0)
    with open(path, "ab") as fh:
        fh.write(b'{"op_code":4,"worker_id":"x","study_id":0,"datetime_st')
    result = ut.optimize(objective, SPACE, n_trials=6, storage=str(path), study_name="t", seed=0)
    assert [t.state for t in result.trials] == [ut.TrialState.COMPLETE] * 6
    assert result.trials[:3] == first.trials  # what was there before is kept as it was
    assert path.read_bytes().endswith(b"\n")
    plain = optuna.load_study(study_name="t", storage=optuna.storages.JournalStorage(
        JournalFileBackend(str(path))))
    assert [t.value for t in plain.trials] == [t.value for t in result.trials]


def test_a_process_killed_while_its_engine_samples_leaves_a_trial_that_is_rerun(tmp_path):
    # Optuna's ask creates the trial, then samples (a GP sampler can take a while). A
    # process killed in between leaves a RUNNING trial with no params: it names its dead
    # owner from its first write, so the next run fails it and the study still ends
    # with every trial it asked for.
    import socket
    import subprocess
    import sys
    import textwrap

    from unitune.ledger import RUN_ATTR

    path = str(tmp_path / "ask.journal")
    ut.optimize(objective, SPACE, n_trials=2, storage=path, study_name="a", seed=0)
    script = textwrap.dedent(f"""
        import os, optuna, unitune as ut
        from unitune.ledger import Ledger
        space = ut.Space(x=ut.Float(-3.0, 3.0), k=ut.Categorical(["a", "b", None]))
        ledger = Ledger.open({path!r}, "a", space, ["minimize"])
        ledger.backend = "optuna:tpe"
        study = optuna.Study(study_name="a", storage=ledger.engine_storage())
        study.ask()
        os._exit(0)  # dies before the sampler gave the trial any params
        """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    assert proc.wait(timeout=120) == 0
    reader = optuna.storages.JournalStorage(JournalFileBackend(path))
    cut = reader.get_all_trials(reader.get_study_id_from_name("a"))[-1]
    assert cut.state is optuna.trial.TrialState.RUNNING and cut.params == {}
    assert cut.system_attrs[RUN_ATTR]["owner"] == f"{socket.gethostname()}:{proc.pid}"

    result = ut.optimize(objective, SPACE, n_trials=5, storage=path, study_name="a", seed=0)
    states = [t.state for t in result.trials]
    assert states.count(ut.TrialState.COMPLETE) == 5 and ut.TrialState.RUNNING not in states
    failed = [t for t in result.trials if t.state is ut.TrialState.FAIL]
    assert [t.number for t in failed] == [cut.number]
    assert failed[0].error.startswith("interrupted: process")
