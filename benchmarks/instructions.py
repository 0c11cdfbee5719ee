"""unitune's cost per trial before and after a change, in CPU instructions (valgrind's
callgrind): the same count whatever else the machine is doing, where timings on a
shared machine move by 10% from run to run.

    python benchmarks/instructions.py --base REV [--backends optuna:random,optuna:tpe,pymoo:ga]

Each backend runs Branin in memory for ``--low`` and ``--high`` trials, in this checkout
and in a checkout of ``--base``; the difference of the two counts over the difference
of the budgets is the cost of one trial (imports and set-up cancel out). Runs a
process under callgrind, about 50 times slower than normal: a minute or two a count.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._results import add_out, write_report  # noqa: E402

_RUN = """
import math, sys
sys.path.insert(0, {root!r})
import unitune as ut
def branin(p):
    x1, x2 = p["x1"], p["x2"]
    return ((x2 - 5.1 / (4 * math.pi ** 2) * x1 ** 2 + 5 / math.pi * x1 - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10)
space = ut.Space(x1=ut.Float(-5.0, 10.0), x2=ut.Float(0.0, 15.0))
options = {{"pop_size": 20}} if {backend!r}.startswith("pymoo") else None
ut.optimize(branin, space, backend={backend!r}, n_trials={n}, seed=0, options=options)
"""


def instructions(tree: Path, backend: str, n: int) -> int:
    code = _RUN.format(root=str(tree), backend=backend, n=n)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, "-c", code], cwd=tree, env=env, capture_output=True,
                         text=True, check=True).stderr
    found = re.search(r"Collected : (\d+)", out)
    if found is None:
        raise RuntimeError(f"callgrind printed no count:\n{out[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--backends", default="optuna:random,optuna:tpe,pymoo:ga")
    parser.add_argument("--low", type=int, default=20)
    parser.add_argument("--high", type=int, default=320)
    add_out(parser, "instructions")
    args = parser.parse_args(argv)
    base_rev = subprocess.run(["git", "rev-parse", args.base], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    report: dict = {"base": base_rev, "low": args.low, "high": args.high, "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), base_rev], cwd=ROOT,
                       capture_output=True, check=True)
        try:
            for backend in args.backends.split(","):
                per_trial = {}
                for side, tree in (("base", base), ("head", ROOT)):
                    low, high = (instructions(tree, backend, n) for n in (args.low, args.high))
                    per_trial[side] = (high - low) / (args.high - args.low)
                ratio = per_trial["head"] / per_trial["base"]
                report["backends"][backend] = {"instructions_per_trial": per_trial,
                                               "head_over_base": ratio}
                print(f"{backend:<14} instructions per trial: base {per_trial['base']:,.0f}, "
                      f"head {per_trial['head']:,.0f}; head/base {ratio:.4f}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           capture_output=True)
    write_report(args.out, "instructions", report)
    return report


if __name__ == "__main__":
    main()
