"""Where a benchmark writes its figures: a new file in ``benchmarks/results/`` unless
``--out`` names one, so that running a script never replaces the committed figures.

    add_out(parser, "compare")          # --out PATH; '' writes nothing
    ...
    write_report(args.out, "compare", report)
    # -> benchmarks/results/compare-20250101-120000.json, its path printed

The committed figures are ``benchmarks/results/NAME.json``: replacing them is asked for
by name (``--out benchmarks/results/NAME.json``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = ["RESULTS", "add_out", "add_report", "fresh_dir", "fresh_path", "machine",
           "write_report"]

RESULTS = Path(__file__).resolve().parent / "results"


def add_out(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument(
        "--out", default=None,
        help=f"write the figures to this file (default: a new benchmarks/results/{name}-"
             f"DATE-TIME.json; --out benchmarks/results/{name}.json replaces the committed "
             "figures; --out '' writes none)")


def add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report", help="report directory (default: a new folder benchmarks/results/"
        "TIER-DATE-TIME; the committed t1 report is replaced by naming it: --report "
        "benchmarks/results/t1)")


def fresh_path(name: str) -> Path:
    """A file in ``benchmarks/results/`` that did not exist, created empty (so that two
    runs started in the same second get two files)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in itertools.count(1):
        path = RESULTS / (f"{name}-{stamp}.json" if n == 1 else f"{name}-{stamp}-{n}.json")
        try:
            path.open("x").close()
        except FileExistsError:
            continue
        return path
    raise AssertionError("unreachable")


def fresh_dir(name: str) -> Path:
    """A folder in ``benchmarks/results/`` that did not exist, created (``NAME-DATE-TIME``):
    the suite's report when ``--report`` names none."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in itertools.count(1):
        path = RESULTS / (f"{name}-{stamp}" if n == 1 else f"{name}-{stamp}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise AssertionError("unreachable")


def write_report(out: str | None, name: str, report: Any, *, indent: int = 2) -> Path | None:
    """Write ``report`` as JSON to ``out``, or to a fresh file when ``out`` is None;
    ``out=''`` writes nothing. Prints and returns the path written."""
    if out == "":
        return None
    path = Path(out) if out is not None else fresh_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=indent, default=str) + "\n")
    print(f"figures written to {path}", flush=True)
    return path


def machine(distributions: tuple[str, ...]) -> dict[str, Any]:
    """The machine and the software the figures were made on: cores, platform, Python,
    the installed versions of ``distributions`` and the commit."""
    versions = {}
    for dist in distributions:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=RESULTS.parent,
                          capture_output=True, text=True).stdout.strip()
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "processor": platform.processor(),
            "versions": versions, "commit": head}
