"""What SIGKILL costs a seeded study: kill ``unitune run --seed 0`` again and again, run
the same command each time, and count what a user would notice.

    python benchmarks/resume_kills.py [--backends optuna:tpe ...] [--kills 20] [--trials 60]
                                      [--anywhere]

Each round runs ``unitune run obj.py:f --space space.yaml --n-trials N --seed 0
--backend B`` on one journal file, over a continuous space (two Floats). The objective
blocks in its (k+1)-th call of the process (k from 1 to 4, from a fixed seed); once
the journal, read with Optuna, holds k more COMPLETE trials and that blocked RUNNING
trial, the process gets SIGKILL. After the kills the same command finishes the study.
Per backend:

- ``lost``: COMPLETE trials seen after a kill that are gone or changed at the end;
- ``duplicated``: COMPLETE trials whose params an earlier COMPLETE trial already has
  (what a resume that replays its engine's seeded stream does);
- ``stalled``: restarts that did not reach k more COMPLETE trials within 120 s;
- ``complete``: the COMPLETE trials at the end (N when nothing is lost or stuck).

``--anywhere`` kills as soon as the journal holds k more COMPLETE trials, wherever the
process is then (the objective pauses 10 ms): in a trial, in the engine or in a write.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._results import add_out, write_report  # noqa: E402

STUDY = "kills"
BLOCK_AFTER = "UNITUNE_KILLS_BLOCK_AFTER"
PAUSE = "UNITUNE_KILLS_PAUSE"
OBJECTIVE = textwrap.dedent(f"""
    import os
    import threading
    import time

    calls = 0

    def f(params):
        global calls
        calls += 1
        block = int(os.environ.get("{BLOCK_AFTER}", "0"))
        if block and calls > block:
            threading.Event().wait()  # until the SIGKILL
        time.sleep(float(os.environ.get("{PAUSE}", "0")))
        return (params["x"] - 0.3) ** 2 + (params["y"] + 0.2) ** 2
    """)
SPACE = "x: {type: float, low: -5, high: 5}\ny: {type: float, low: -5, high: 5}\n"
# Engines' defaults assume hundreds of trials; these keep 60 trials of them quick.
OPTIONS: dict[str, dict[str, Any]] = {
    "pymoo:ga": {"pop_size": 10},
    "skopt:gp": {"acq_optimizer": "sampling", "acq_optimizer_kwargs": {"n_points": 1000}},
    "optuna:qmc": {"scramble": True},
}
BACKENDS = ("optuna:random", "optuna:tpe", "optuna:cmaes", "optuna:qmc", "skopt:gp",
            "pymoo:ga", "ray:random", "ray:optuna")


def read_trials(journal: Path) -> list[Any]:
    """The study's trials as Optuna reads the journal (none before it is written)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if not journal.is_file():
        return []
    try:
        storage = optuna.storages.JournalStorage(JournalFileBackend(str(journal)))
        return storage.get_all_trials(storage.get_study_id_from_name(STUDY), deepcopy=False)
    except (KeyError, ValueError):  # the study is not created yet
        return []


def _complete(trials: Sequence[Any]) -> list[Any]:
    return [t for t in trials if t.state.name == "COMPLETE"]


def _runs_in(trial: Any, pid: int) -> bool:
    owner = str((trial.system_attrs.get("unitune") or {}).get("owner", ""))
    return trial.state.name == "RUNNING" and bool(trial.params) and owner.endswith(f":{pid}")


def _round(command: list[str], cwd: Path, env: Mapping[str, str], journal: Path,
           target: int | None, inside: bool, timeout: float) -> str:
    """Run the command until the journal holds ``target`` COMPLETE trials (and, with
    ``inside``, the trial blocked in the objective), then SIGKILL it. Returns "killed",
    "stalled", "finished" or why it failed."""
    proc = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            trials = read_trials(journal)
            if target is not None and len(_complete(trials)) >= target and (
                    not inside or any(_runs_in(t, proc.pid) for t in trials)):
                return "killed"
            if time.monotonic() > deadline:
                return "stalled"
            time.sleep(0.02)  # polling the file: the kill waits on what it holds
        _, err = proc.communicate()
        return "finished" if proc.returncode == 0 else f"exit {proc.returncode}: {err[-500:]}"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()


def _key(params: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted(params.items()))


def kill_and_resume(backend: str, workdir: Path, *, trials: int = 60, kills: int = 20,
                    seed: int = 0, most: int = 4, anywhere: bool = False,
                    options: Mapping[str, Any] | None = None,
                    timeout: float = 120.0) -> dict[str, Any]:
    """Kill a seeded run of ``backend`` ``kills`` times (after 1 to ``most`` new
    COMPLETE trials each), finish it with the same command, and count what was lost,
    duplicated or stalled."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "obj.py").write_text(OBJECTIVE)
    (workdir / "space.yaml").write_text(SPACE)
    journal = workdir / "kills.journal"
    command = [sys.executable, "-m", "unitune.cli", "run", "obj.py:f", "--space", "space.yaml",
               "--n-trials", str(trials), "--seed", str(seed), "--backend", backend,
               "--storage", journal.name, "--study", STUDY, "--quiet"]
    for key, value in (OPTIONS.get(backend, {}) if options is None else options).items():
        command += ["--option", f"{key}={json.dumps(value)}"]  # JSON is YAML
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    draws = random.Random(seed)
    seen: dict[int, tuple[Any, Any]] = {}
    outcomes: list[str] = []
    start = time.perf_counter()
    for _ in range(kills):
        k = draws.randint(1, most)
        before = len(_complete(read_trials(journal)))
        round_env = {**env, **({PAUSE: "0.01"} if anywhere else {BLOCK_AFTER: str(k)})}
        outcome = _round(command, workdir, round_env, journal, before + k, not anywhere,
                         timeout)
        outcomes.append(outcome)
        for t in _complete(read_trials(journal)):
            seen.setdefault(t.number, (_key(t.params), tuple(t.values)))
        if outcome != "killed":
            break
    final_outcome = _round(command, workdir, env, journal, None, False, 10 * timeout)
    final = _complete(read_trials(journal))
    by_number = {t.number: (_key(t.params), tuple(t.values)) for t in final}
    keys = [_key(t.params) for t in final]
    return {
        "backend": backend, "trials": trials, "mode": "anywhere" if anywhere else "inside",
        "kills": outcomes.count("killed"),
        "lost": sum(by_number.get(n) != kept for n, kept in seen.items()),
        "duplicated": len(keys) - len(set(keys)),
        "stalled": outcomes.count("stalled") + (final_outcome == "stalled"),
        "complete": len(final), "final": final_outcome,
        "other_outcomes": [o for o in outcomes if o not in ("killed", "stalled")],
        "seconds": round(time.perf_counter() - start, 1),
        "params": [dict(t.params) for t in sorted(final, key=lambda t: t.number)],
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--anywhere", action="store_true")
    add_out(parser, "resume_kills")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            row = kill_and_resume(backend, Path(tmp) / backend.replace(":", "_"),
                                  trials=args.trials, kills=args.kills,
                                  anywhere=args.anywhere)
            row.pop("params")
            rows.append(row)
            print(f"{backend:<14} {row['kills']} SIGKILLs ({row['mode']}): {row['lost']} lost, "
                  f"{row['duplicated']} duplicated params, {row['stalled']} stalled restarts; "
                  f"{row['complete']}/{row['trials']} COMPLETE, final run {row['final']}, "
                  f"{row['seconds']} s", flush=True)
    write_report(args.out, "resume_kills", rows)
    return rows


if __name__ == "__main__":
    main()
