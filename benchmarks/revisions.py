"""Overhead before and after a change: the four overhead scripts, run alternately in this
checkout and in a checkout of ``--base``, each reporting unitune's cost over its engine
called directly (a ratio measured within one run); the medians over runs compared.

    python benchmarks/revisions.py --base REV [--runs 3] [--only optuna,skopt,pymoo,ray]

Each run of a script is a fresh process that imports the unitune of its own checkout.
Runs alternate (base first, then head first, ...) so that a machine getting busier
weighs on both alike. ``head / base`` near 1.00 means the change costs nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._results import add_out, write_report  # noqa: E402

# script -> (extra arguments, the key path of the unitune-over-engine ratio it reports)
SCRIPTS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "optuna": (["--out", "{tmp}/optuna.json"], ("ratio_unitune_over_direct",)),
    "skopt": (["--skip-quality", "--out", "{tmp}/skopt.json"], ("overhead", "ratio_wall")),
    "pymoo": ([], ("ratio",)),
    "ray": ([], ("ratio_unitune_to_tuner_fast",)),
}
_RUNNER = ("import json, sys; sys.path.insert(0, {root!r}); import importlib; "
           "m = importlib.import_module('benchmarks.overhead_{name}'); "
           "print('@@' + json.dumps(m.main({argv!r}), default=str))")


def measure(tree: Path, name: str, tmp: str) -> float:
    """Run one overhead script in ``tree``; return the ratio it reports."""
    argv = [a.format(tmp=tmp) for a in SCRIPTS[name][0]]
    code = _RUNNER.format(root=str(tree), name=name, argv=argv)
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True,
                         text=True, check=True).stdout
    report = json.loads(next(ln[2:] for ln in reversed(out.splitlines()) if ln.startswith("@@")))
    for key in SCRIPTS[name][1]:
        report = report[key]
    return float(report)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(SCRIPTS))
    add_out(parser, "revisions")
    args = parser.parse_args(argv)
    names = args.only.split(",")
    base_rev = subprocess.run(["git", "rev-parse", args.base], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    head_rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), base_rev], cwd=ROOT,
                       capture_output=True, check=True)
        try:
            ratios: dict[str, dict[str, list[float]]] = {n: {"base": [], "head": []}
                                                        for n in names}
            for run in range(args.runs):
                for name in names:
                    order = [("base", base), ("head", ROOT)]
                    for side, tree in order if run % 2 == 0 else order[::-1]:
                        ratios[name][side].append(measure(tree, name, tmp))
                    print(f"run {run}: {name} base {ratios[name]['base'][-1]:.4f} head "
                          f"{ratios[name]['head'][-1]:.4f}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           capture_output=True)
    report = {"base": base_rev, "head": head_rev, "runs": args.runs, "scripts": {}}
    for name, sides in ratios.items():
        b, h = statistics.median(sides["base"]), statistics.median(sides["head"])
        report["scripts"][name] = {"base_ratios": sides["base"], "head_ratios": sides["head"],
                                   "base_median": b, "head_median": h, "head_over_base": h / b}
        print(f"{name:<7} unitune/engine: base {b:.4f}, head {h:.4f}; head/base {h / b:.4f}")
    write_report(args.out, "revisions", report)
    return report


if __name__ == "__main__":
    main()
