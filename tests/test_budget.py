"""``n_trials`` is exact when several processes work on one study: the count and the
trial it allows are one step under a lock (``unitune/ledger/_budget.py``), on the
embedded journal, SQLite and PostgreSQL; and what counts is read incrementally."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from pathlib import Path

import optuna
import pytest

import unitune as ut
from unitune.ledger import open_storage

ROOT = Path(__file__).resolve().parents[1]
PROCESSES, REPEATS, N_TRIALS = 4, 10, 12

# Each process runs the same repetitions; before each one the processes meet (tests/
# rendezvous.py: files, no timing), so that all four start the same study together and
# race for its last trials. Even repetitions go through an engine that writes its own
# trials (Optuna's Study.ask), odd ones through an ask/tell engine (the driver writes).
WORKER = textwrap.dedent("""
    import sys
    sys.path[:0] = [{root!r}, {tests!r}]
    import unitune as ut
    from rendezvous import meet

    storage, prefix, folder = sys.argv[1], sys.argv[2], sys.argv[3]
    for rep in range({repeats}):
        meet(f"{{folder}}/rep{{rep}}", {processes})
        ut.optimize(lambda p: (p["x"] - 1) ** 2, {{"x": ut.Float(-5, 5)}},
                    backend="optuna:random" if rep % 2 == 0 else "pymoo:ga",
                    n_trials={n_trials}, storage=storage, study_name=f"{{prefix}}-{{rep}}")
""")


@pytest.fixture(params=["journal", "sqlite", "postgresql"])
def shared_storage(request, tmp_path):
    if request.param == "journal":
        return str(tmp_path / "ledger.journal")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    url = os.environ.get("UNITUNE_TEST_POSTGRES_URL")
    if not url:
        pytest.fail("UNITUNE_TEST_POSTGRES_URL is not set (.ci/run sets it and starts "
                    "PostgreSQL)")
    return url


def test_four_processes_on_one_study_end_with_exactly_n_trials(shared_storage, tmp_path):
    prefix = f"exact-{uuid.uuid4().hex[:8]}"
    for rep in range(REPEATS):
        (tmp_path / f"rep{rep}").mkdir()
    script = WORKER.format(root=str(ROOT), tests=str(ROOT / "tests"), repeats=REPEATS,
                           processes=PROCESSES, n_trials=N_TRIALS)
    procs = [subprocess.Popen([sys.executable, "-c", script, shared_storage, prefix,
                               str(tmp_path)], stderr=subprocess.PIPE, text=True)
             for _ in range(PROCESSES)]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, errors

    storage = open_storage(shared_storage)
    for rep in range(REPEATS):
        study = optuna.load_study(study_name=f"{prefix}-{rep}", storage=storage)
        states = Counter(t.state.name for t in study.trials)
        # exactly n_trials, and no refused reservation shows as a trial of any state
        assert states == {"COMPLETE": N_TRIALS}, (rep, states)


def test_the_count_reads_only_what_changed(tmp_path):
    """The count of a stored study does not list the study: on the embedded journal it
    reads the trials created since the last count and those unfinished then."""
    path = tmp_path / "ledger.journal"
    ut.optimize(lambda p: p["x"], {"x": ut.Float(0, 1)}, backend="optuna:random",
                n_trials=30, storage=path, study_name="s")
    storage = open_storage(path)
    study_id = storage.get_study_id_from_name("s")
    everything = storage.get_all_trials(study_id, deepcopy=False)
    assert storage.trials_from(study_id, 0) == everything
    assert storage.trials_from(study_id, 25) == everything[25:]
    assert storage.trials_from(study_id, 30) == []



def test_the_count_follows_the_study_on_every_storage(shared_storage):
    from unitune.ledger import Ledger

    name = f"count-{uuid.uuid4().hex[:8]}"
    ut.optimize(lambda p: p["x"], {"x": ut.Float(0, 1)}, backend="optuna:random",
                n_trials=30, storage=shared_storage, study_name=name)
    ledger = Ledger.existing(name, shared_storage)
    assert ledger.used_budget() == (30, 0, False)
    ledger.enqueue({"x": 0.5})  # a WAITING trial does not count, and is seen
    assert ledger.used_budget() == (30, 0, True)
    claimed = ledger.claim_waiting()
    assert claimed is not None
    assert ledger.used_budget() == (31, 0, False)  # RUNNING (ours) counts
    ledger.finish(claimed[0], ut.TrialState.COMPLETE, [0.5])
    assert ledger.used_budget() == (31, 0, False)  # once, when it finishes too


def test_a_budget_reservation_refused_writes_nothing(tmp_path):
    from unitune.ledger import Ledger

    path = tmp_path / "ledger.journal"
    ut.optimize(lambda p: p["x"], {"x": ut.Float(0, 1)}, backend="optuna:random",
                n_trials=3, storage=path, study_name="s")
    ledger = Ledger.existing("s", path)
    ledger.limit_budget(3)
    assert ledger.start({"x": 0.25}) is None
    ledger.limit_budget(4)
    started = ledger.start({"x": 0.25})
    assert started is not None and started[1] == 3
    assert [r.state.name for r in ledger.records()] == ["COMPLETE"] * 3 + ["RUNNING"]
