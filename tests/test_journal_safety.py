"""The embedded journal file loses nothing and leaks nothing: a file that is not a
journal is refused and left as it is, a damaged journal is refused with its line
number (by runs and by `unitune show`), the one damage a kill leaves (a last line
without its newline) is shown for what it is, a lock left by a killed process is broken
at once, and the files unitune creates are private."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

import unitune as ut
from unitune import cli
from unitune.ledger import _storage
from unitune.ledger._lock import OwnedFileLock, owner_is_dead, this_process

ROOT = Path(__file__).resolve().parents[1]
SPACE = ut.Space(x=ut.Float(-3.0, 3.0))


def objective(params):
    return params["x"] ** 2


def journal(path, n=2):
    """A journal of study "s" holding ``n`` complete trials; its bytes."""
    ut.optimize(objective, SPACE, n_trials=n, storage=str(path), study_name="s", seed=0)
    return path.read_bytes()


def run(path, n=4):
    return ut.optimize(objective, SPACE, n_trials=n, storage=str(path), study_name="s",
                       seed=0)


def show(path, capsys, command="show"):
    """`unitune show` (or `studies`) in this process: (exit status, stdout, stderr)."""
    args = ["show", "--study", "s"] if command == "show" else ["studies"]
    status = cli.main([*args, "--storage", str(path)])
    out, err = capsys.readouterr()
    return status, out, err


def sqlite_database(path):
    connection = sqlite3.connect(path)
    connection.execute("create table t (a text)")
    connection.execute("insert into t values ('{\"op_code\": 0}')")
    connection.commit()
    connection.close()


NOT_JOURNALS = {
    "one JSON line without its newline": b'{"model": "svm", "C": 1.0}',
    "binary without a newline": bytes(range(11)) + bytes(range(14, 256)),
    "binary with newlines": bytes(range(256)) * 4,
    "a CSV": b"x,value\n0.5,0.25\n1.0,1.0\n",
    "a JSON record without op_code": b'{"study_name": "s"}\n{"op_code": 0}\n',
    "a blank first line": b"\n" + b'{"op_code":0,"worker_id":"w","study_name":"s",'
                          b'"directions":[1]}\n',
    "a journal record cut before its newline": b'{"op_code":0,"worker_id":"w","stu',
}


@pytest.mark.parametrize("kind", [*NOT_JOURNALS, "an SQLite database"])
def test_a_file_that_is_not_a_journal_is_refused_and_left_unchanged(tmp_path, kind, capsys):
    path = tmp_path / "results.dat"
    if kind == "an SQLite database":
        sqlite_database(path)
    else:
        path.write_bytes(NOT_JOURNALS[kind])
    before = path.read_bytes()
    with pytest.raises(ut.InvalidOption, match="is not a unitune/Optuna journal") as info:
        run(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    status, _, err = show(path, capsys)
    assert status == 2 and err.count("\n") == 1 and str(path) in err
    assert path.read_bytes() == before
    assert not os.path.lexists(f"{path}.lock")
    if kind == "an SQLite database":
        assert f"give storage='sqlite:///{path}'" in str(info.value)


@pytest.mark.parametrize("last", [b"garbage\n", b'{"op_code": 4, "worker_id": "w"\n',
                                  b'["not", "a", "record"]\n'])
def test_a_last_line_that_is_not_a_record_is_refused_not_buried(tmp_path, last, capsys):
    # Before, the run appended after it: the line was no longer last, and neither
    # unitune nor Optuna could open the file again.
    path = tmp_path / "s.journal"
    lines = journal(path).count(b"\n")
    with open(path, "ab") as fh:
        fh.write(last)
    before = path.read_bytes()
    with pytest.raises(ut.InvalidOption, match=f"line {lines + 1} is not a journal record"):
        run(path)
    status, _, err = show(path, capsys)
    assert status == 2 and err.count("\n") == 1
    assert f"storage {str(path)!r} line {lines + 1} is not a journal record" in err
    assert path.read_bytes() == before


def test_a_torn_line_in_the_middle_is_refused_with_its_line_number(tmp_path, capsys):
    # what a writer that does not cut a killed writer's half line leaves: the half
    # line merged with the next record
    path = tmp_path / "s.journal"
    good = journal(path)
    lines = good.count(b"\n")
    path.write_bytes(good + b'{"op_code":4,"worker_id":"x","stu' + good.splitlines(True)[-1])
    before = path.read_bytes()
    with pytest.raises(ut.InvalidOption, match=f"line {lines + 1} is not a journal record"):
        run(path)
    assert show(path, capsys, "studies")[0] == 2
    assert path.read_bytes() == before


def test_show_names_a_half_written_last_line_and_shows_the_study(tmp_path):
    path = tmp_path / "s.journal"
    good = journal(path, n=3)
    path.write_bytes(good + b'{"op_code":6,"worker_id":"x","trial_id":3,"sta')
    for command in (["show", "--study", "s"], ["studies"]):
        proc = subprocess.run([sys.executable, "-m", "unitune.cli", *command, "--storage",
                               str(path)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == (f"last line of {str(path)!r} is incomplete (a writer was killed "
                               "mid-write); it is ignored\n")
        assert ("3 trials (3 COMPLETE)" if command[0] == "show" else "s ") in proc.stdout
    assert path.read_bytes() == good + b'{"op_code":6,"worker_id":"x","trial_id":3,"sta'


def test_plain_optuna_and_unitune_write_one_journal_in_turn(tmp_path):
    path = tmp_path / "s.journal"
    journal(path, n=2)
    plain = optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(
        JournalFileBackend(str(path))))  # Optuna's own symlink lock on the same FILE.lock
    plain.enqueue_trial({"x": 0.5})
    result = run(path, n=3)
    assert result.trials[2].params == {"x": 0.5}
    plain.optimize(lambda trial: trial.suggest_float("x", -3.0, 3.0) ** 2, n_trials=1)
    assert len(run(path, n=5).trials) == 5


# -- the lock --------------------------------------------------------------------------
HOLDER = textwrap.dedent("""
    import sys
    from unitune.ledger import open_storage
    open_storage(sys.argv[1])._backend._lock.acquire()  # the lock a run takes to append
    open(sys.argv[2], "w").close()
    sys.stdin.read()  # holds the lock until it is killed
    """)


def acquire_in_thread(lock):
    """Start ``lock.acquire()`` in a thread; the event is set once it returns."""
    done = threading.Event()
    threading.Thread(target=lambda: (lock.acquire(), done.set()), daemon=True).start()
    return done


def test_a_lock_whose_owner_was_killed_is_broken_at_once(tmp_path, monkeypatch):
    # After a kill, the next process waited 10 s from the moment it first saw the lock
    # (and a run restarted more often than that never got on). With a grace period of an
    # hour, only the rule "its owner is gone from this host" can free the lock here.
    path = tmp_path / "s.journal"
    journal(path)
    ready = tmp_path / "holding"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(ready)],
                              stdin=subprocess.PIPE, env={**os.environ,
                                                          "PYTHONPATH": str(ROOT)})
    while not ready.exists():  # wait for the holder to hold the lock
        assert holder.poll() is None, "the holder died before taking the lock"
        time.sleep(0.01)
    record = json.loads((tmp_path / "s.journal.lock").read_text())
    assert record["pid"] == holder.pid and record["host"] == this_process()["host"]
    assert owner_is_dead(record) is False
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    assert owner_is_dead(record) is True

    monkeypatch.setattr(_storage, "JOURNAL_LOCK_GRACE", 3600)
    finished = threading.Event()
    threading.Thread(target=lambda: (run(path), finished.set()), daemon=True).start()
    assert finished.wait(timeout=120), "the run waits for the lock of a killed process"
    assert [t.state for t in ut.load("s", str(path)).trials] == [ut.TrialState.COMPLETE] * 4
    assert not os.path.lexists(f"{path}.lock")
    # the killed holder's owner file is gone with its lock; this process's stays until exit
    owners = [json.loads(p.read_text()) for p in tmp_path.glob("s.journal.lock.*")]
    assert [o["pid"] for o in owners] == [os.getpid()]


def test_a_lock_whose_pid_now_names_another_process_is_broken_at_once(tmp_path):
    # the owner's pid is alive, but started at another time: the pid was reused
    path = tmp_path / "s.journal"
    path.touch()
    me = this_process()
    assert me["start"] is not None
    stale = {**me, "start": str(int(me["start"]) - 1)}
    (tmp_path / "s.journal.lock").write_text(json.dumps(stale))
    assert owner_is_dead(stale) is True
    lock = OwnedFileLock(str(path), grace_period=3600)
    assert acquire_in_thread(lock).wait(timeout=60)
    assert json.loads((tmp_path / "s.journal.lock").read_text())["start"] == me["start"]
    lock.release()
    assert not os.path.lexists(f"{path}.lock")


def test_a_lock_this_process_left_when_interrupted_while_taking_it_is_broken(tmp_path):
    # Ctrl-C between the link that takes the lock and the return that says so: the
    # run carries on (it marks the study interrupted) and must not wait on itself
    from unitune.ledger._lock import _owner_file

    path = tmp_path / "s.journal"
    journal(path)
    os.link(_owner_file(f"{path}.lock")[0], f"{path}.lock")
    assert len(run(path).trials) == 4
    assert not os.path.lexists(f"{path}.lock")


def test_a_lock_held_on_this_host_by_a_live_process_is_kept(tmp_path):
    # a live owner may be stopped (Ctrl-Z) and append again on resuming: never broken;
    # the lock of another host keeps the time rule
    me = this_process()
    assert owner_is_dead({**me, "nonce": "x"}) is False
    assert owner_is_dead({**me, "host": "elsewhere"}) is None
    assert owner_is_dead({**me, "pidns": "pid:[1]"}) is None  # another container
    assert owner_is_dead({**me, "boot": "another"}) is None  # a namesake machine, maybe


@pytest.mark.parametrize("left", ["plain Optuna's symlink", "a lock of another host"])
def test_a_lock_that_names_no_owner_here_keeps_the_time_rule(tmp_path, monkeypatch, left):
    path = tmp_path / "s.journal"
    journal(path)
    lock = f"{path}.lock"
    if left == "plain Optuna's symlink":
        os.symlink(str(path), lock)  # what a plain Optuna writer killed mid-append left
    else:
        with open(lock, "w") as fh:
            json.dump({**this_process(), "host": "elsewhere", "nonce": "n"}, fh)
    monkeypatch.setattr(_storage, "JOURNAL_LOCK_GRACE", 1)
    assert len(run(path).trials) == 4
    assert not os.path.lexists(lock)


def test_a_plain_optuna_lock_is_waited_for_and_excludes_unitune(tmp_path):
    path = tmp_path / "s.journal"
    path.touch()
    theirs = JournalFileSymlinkLock(str(path), grace_period=None)
    assert theirs.acquire()
    released = threading.Event()
    seen_released = []
    mine = OwnedFileLock(str(path), grace_period=3600)
    done = threading.Event()

    def take():
        mine.acquire()
        seen_released.append(released.is_set())
        done.set()

    threading.Thread(target=take, daemon=True).start()
    released.set()
    theirs.release()
    assert done.wait(timeout=60) and seen_released == [True]
    with pytest.raises(FileExistsError):  # what Optuna's lock does: it waits for this one
        os.symlink(str(path), f"{path}.lock")
    mine.release()


# -- file modes --------------------------------------------------------------------------
@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_journal_and_the_folders_unitune_creates_are_private(tmp_path, umask_022):
    tmp_path.chmod(0o755)
    path = tmp_path / "runs" / "a" / "s.journal"
    run(path)
    assert [mode(path), mode(tmp_path / "runs" / "a"), mode(tmp_path / "runs")] == [
        0o600, 0o700, 0o700]
    assert mode(tmp_path) == 0o755  # a folder that was there is left as it was
    kept = tmp_path / "kept.journal"
    kept.touch(mode=0o640)
    run(kept)
    assert mode(kept) == 0o640  # nor is a file that was there


def test_the_sqlite_file_unitune_creates_is_private(tmp_path, umask_022):
    here = tmp_path / "ledger.sqlite"
    assert len(run(f"sqlite:///{here}", n=1).trials) == 1
    assert mode(here) == 0o600  # SQLite gives its journal and WAL files this mode too
    assert len(ut.load("s", f"sqlite:///{here}").trials) == 1
    # a missing folder is refused (a mistyped path), not created: tests/test_secrets.py


# -- the figure --------------------------------------------------------------------------
def test_no_corrupt_file_is_overwritten_or_broken(tmp_path):
    from benchmarks import corrupt_files

    report = corrupt_files.main(["--dir", str(tmp_path), "--out", str(tmp_path / "r.json")])
    assert report["kinds"] >= 15
    assert report["overwritten_or_broken"] == 0, report["cases"]
    assert report["not_as_expected"] == [] and report["tracebacks"] == 0
