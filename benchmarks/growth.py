"""Does the cost of a trial grow with the study? unitune next to Optuna called directly.

    python benchmarks/growth.py [--trials 20000] [--window 500] [--storages memory journal
        sqlite postgresql] [--out benchmarks/results/growth.json]

``optuna:random`` (a sampler that costs nearly nothing, so what is measured is the
bookkeeping) on an instant objective. The time between two consecutive calls of the
objective is what one trial costs around it; the script reports its mean over the first
``window`` trials and over the last, for unitune and for the same loop written with
Optuna (``study.optimize`` with ``RandomSampler``) on the same kind of storage:

- memory: Optuna's ``InMemoryStorage``;
- journal: unitune's embedded journal (a path), and Optuna's ``JournalFileBackend``;
- sqlite, postgresql: Optuna's RDB storage (``UNITUNE_TEST_POSTGRES_URL`` names the
  database; the study is deleted after the run).

A study's total bookkeeping is quadratic if the per-trial cost grows linearly: the
slope (ms per 1,000 trials) is the figure to compare with Optuna's own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import unitune as ut  # noqa: E402
from benchmarks._timing import write_json  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = {"x": ut.Float(-5.0, 5.0), "y": ut.Float(-5.0, 5.0)}


def _stamps() -> tuple[list[float], Any]:
    stamps: list[float] = []

    def objective(params: dict[str, float]) -> float:
        stamps.append(time.perf_counter())
        return params["x"] ** 2 + params["y"] ** 2

    return stamps, objective


def ours(n: int, storage: Any) -> list[float]:
    stamps, objective = _stamps()
    ut.optimize(objective, SPACE, backend="optuna:random", n_trials=n, seed=0,
                storage=storage, study_name="growth-unitune")
    return stamps


def direct(n: int, storage: Any) -> list[float]:
    stamps, objective = _stamps()
    study = optuna.create_study(storage=storage, study_name="growth-optuna",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: objective({"x": t.suggest_float("x", -5.0, 5.0),
                                        "y": t.suggest_float("y", -5.0, 5.0)}), n_trials=n)
    return stamps


def storages(kind: str, tmp: Path) -> tuple[Any, Any]:
    """(what unitune is given, what Optuna is given) for one kind of storage."""
    if kind == "memory":
        return None, None
    if kind == "journal":
        from optuna.storages.journal import JournalFileBackend

        return tmp / "ours.journal", optuna.storages.JournalStorage(
            JournalFileBackend(str(tmp / "optuna.journal")))
    if kind == "sqlite":
        return f"sqlite:///{tmp}/ours.db", f"sqlite:///{tmp}/optuna.db"
    url = os.environ.get("UNITUNE_TEST_POSTGRES_URL")
    if not url:
        raise SystemExit("postgresql: set UNITUNE_TEST_POSTGRES_URL")
    for name in ("growth-unitune", "growth-optuna"):
        try:
            optuna.delete_study(study_name=name, storage=url)
        except KeyError:
            pass
    return url, url


def windows(stamps: list[float], window: int) -> dict[str, float]:
    """Mean ms per trial over the first and last ``window`` trials, and the slope."""
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    first = sum(gaps[:window]) / window * 1e3
    last = sum(gaps[-window:]) / window * 1e3
    span = (len(gaps) - window) / 1000
    return {"first_ms": round(first, 3), "last_ms": round(last, 3),
            "slope_ms_per_1000": round((last - first) / span, 4) if span > 0 else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--window", type=int, default=500)
    parser.add_argument("--storages", nargs="+", default=["memory", "journal", "sqlite",
                                                          "postgresql"])
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for kind in args.storages:
        with tempfile.TemporaryDirectory() as tmp:
            mine, theirs = storages(kind, Path(tmp))
            row = {"unitune": windows(ours(args.trials, mine), args.window),
                   "optuna": windows(direct(args.trials, theirs), args.window)}
        results[kind] = row
        print(f"{kind:10s} unitune {row['unitune']}\n{'':10s} optuna  {row['optuna']}",
              flush=True)
    if args.out:  # storages measured by separate runs are kept side by side
        report = json.loads(args.out.read_text()) if args.out.exists() else {"runs": {}}
        for kind, row in results.items():
            report["runs"][kind] = {"command": " ".join(["python", *sys.argv]),
                                    "trials": args.trials, "window": args.window, **row}
        write_json(args.out, report)


if __name__ == "__main__":
    main()
