"""A writer of the journal file killed (SIGKILL) every ``--every`` seconds and started
again, ``--restarts`` times: how many restarts got on with the study, with unitune's
lock (which names its owner) and, for the figure before, Optuna's symlink lock with
the 10 s grace unitune used to give it.

A killed writer often dies holding the lock (it appends thousands of lines a second
here). With the symlink lock, the next writer waits 10 s from the moment it first
sees the lock, so writers killed more often than that never write again; with the
owner's lock, the next writer breaks it at once. The file must stay readable.

    python benchmarks/kill_restarts.py [--restarts 11] [--every 1.5] [--lock optuna]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WRITER = """
import os, sys
sys.path.insert(0, {root!r})
from unitune.ledger._journal import GroupCommitJournalFile
if {lock!r} == "optuna":
    from optuna.storages.journal import JournalFileSymlinkLock as Lock
else:
    from unitune.ledger._lock import OwnedFileLock as Lock
path = {path!r}
backend = GroupCommitJournalFile(path, lock_obj=Lock(path, grace_period=10))
open(path + ".started", "w").close()
i = 0
while True:
    backend.append_logs([{{"op_code": 2, "worker_id": "w", "study_id": 0,
                          "user_attr": {{f"{{os.getpid()}}-{{i}}": "x" * (i % 300)}}}}])
    i += 1
"""


def lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=11)
    parser.add_argument("--every", type=float, default=1.5, help="seconds a writer runs "
                        "after it has started (imports done)")
    parser.add_argument("--lock", choices=["unitune", "optuna"], default="unitune")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.journal"
        path.touch()
        started = Path(f"{path}.started")
        code = WRITER.format(root=str(ROOT), lock=args.lock, path=str(path))
        progress, died_holding = [], 0
        for _ in range(args.restarts):
            before = lines(path)
            started.unlink(missing_ok=True)
            proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
            while not started.exists() and proc.poll() is None:
                time.sleep(0.01)
            time.sleep(args.every)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            died_holding += os.path.lexists(f"{path}.lock")
            progress.append(lines(path) - before)
        complete = path.read_bytes().split(b"\n")[:-1]  # a last kill may leave a torn tail
        valid = all(isinstance(json.loads(line), dict) for line in complete)
    report = {"lock": args.lock, "restarts": args.restarts, "every_s": args.every,
              "restarts_that_wrote": sum(p > 0 for p in progress),
              "killed_holding_the_lock": died_holding, "lines_written": progress,
              "file_readable": valid}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
