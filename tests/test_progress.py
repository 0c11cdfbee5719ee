"""The progress of a running study: a bar on a terminal (the `unitune` command under a
pseudo-terminal), a plain line in logs, and the study's own count (trials finished before
this run, by other workers or by Ray's processes count too)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import textwrap

import pytest

import unitune as ut

_SCRIPT = os.path.join(os.path.dirname(sys.executable), "unitune")
UNITUNE = [_SCRIPT] if os.path.exists(_SCRIPT) else [sys.executable, "-m", "unitune.cli"]
SPACE = {"x": ut.Float(-3.0, 3.0)}


def square(params):
    return (params["x"] - 1.0) ** 2


def _through_a_terminal(argv, cwd, columns=160):
    """Run ``argv`` with stdout and stderr on a pseudo-terminal ``columns`` wide; all it
    wrote, decoded."""
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm"}
    proc = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, cwd=cwd,
                            env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the follower side closed: the process is gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=300) == 0, b"".join(chunks).decode(errors="replace")[-2000:]
    return b"".join(chunks).decode(errors="replace")


def test_the_command_on_a_terminal_draws_a_bar_that_ends_at_30_of_30_with_the_best(tmp_path):
    (tmp_path / "obj.py").write_text(textwrap.dedent("""
        def square(params):
            return (params["x"] - 1.0) ** 2
    """))
    (tmp_path / "space.yaml").write_text("x: {type: float, low: -3, high: 3}\n")
    out = _through_a_terminal([*UNITUNE, "run", "obj.py:square", "--space", "space.yaml",
                               "--n-trials", "30", "--seed", "0", "--study", "s",
                               "--storage", "s.journal"], tmp_path)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)  # the bar's colours and moves
    best = ut.load("s", str(tmp_path / "s.journal")).best_value
    assert "30/30" in plain
    last_bar = [part for part in re.split(r"[\r\n]", plain) if "30/30" in part][-1]
    assert f"best {best:.6g}" in last_bar
    assert f"value={best:.6g}" in plain  # the summary after the bar


def test_in_a_log_it_is_a_plain_line_now_and_then_and_one_at_the_end(capsys):
    result = ut.optimize(square, SPACE, n_trials=30, seed=0, progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert all("\x1b" not in line for line in lines)  # no terminal codes in a log
    counts = [int(re.search(r"(\d+)/30 trials", ln).group(1)) for ln in lines]
    # every tenth of the budget (a slow machine may add the 30-second lines), the last at
    # the end
    assert set(range(3, 31, 3)) <= set(counts) and counts == sorted(set(counts))
    assert counts[-1] == 30
    assert f"best {result.best_value:.6g}" in lines[-1] and "left" not in lines[-1]


def test_it_counts_the_studys_trials_not_this_runs(tmp_path, capsys):
    storage = str(tmp_path / "s.journal")
    ut.optimize(square, SPACE, n_trials=10, seed=0, storage=storage, study_name="s")
    capsys.readouterr()
    # resumed to 30 with two workers: 20 run here, the bar counts the study's 30
    ut.optimize(square, SPACE, n_trials=30, seed=0, storage=storage, study_name="s",
                n_workers=2, progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert re.search(r"(\d+)/30", lines[0]).group(1) not in {"1", "2"}  # 10 were there
    assert "30/30 trials" in lines[-1]


@pytest.mark.parametrize("backend", ["ray:random", "pymoo:ga", "skopt:rf"])
def test_every_engine_reports_its_progress(backend, capsys):
    result = ut.optimize(square, SPACE, backend=backend, n_trials=8, seed=0, progress=True)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "8/8 trials" in last and f"best {result.best_value:.6g}" in last


def test_failures_and_prunes_are_counted(capsys):
    def flaky(params, trial):
        if params["x"] < 0:
            raise ValueError("negative")
        return square(params)

    result = ut.optimize(flaky, SPACE, n_trials=20, seed=0, progress=True)
    failed = sum(t.state is ut.TrialState.FAIL for t in result.trials)
    assert failed > 0
    assert f"{failed} failed" in capsys.readouterr().err.strip().splitlines()[-1]


def test_progress_must_be_a_bool():
    with pytest.raises(ut.InvalidOption, match="progress='yes' must be True or False"):
        ut.optimize(square, SPACE, n_trials=3, progress="yes")
