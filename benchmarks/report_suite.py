"""The suite's report: every run's final figures in one table, the checks that the
harness measures truthfully (random search's exact expectation on the tabular problems)
and the anchors the literature gives, then the statistics (``benchmarks/_stats.py``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["finals_frame", "write"]

# The columns of results.json: what repeats bit for bit under the same arguments.
REPEATABLE = ["problem", "family", "label", "backend", "seed", "figure", "score",
              "normalised", "regret", "ratio", "trials", "failures", "reports"]


def finals_frame(runs: list[tuple[Any, Any]]) -> pd.DataFrame:
    """One row per (problem, label, seed): ``figure`` (best value, or hypervolume),
    ``score`` (lower is better within a problem), ``normalised`` (0 random search's
    median, 1 the optimum), regret or ratio where the optimum is known."""
    frames = []
    for entry, cmp in runs:
        f = cmp.finals()
        figure = f["hypervolume"] if cmp.multi else f["best"]
        score = -figure if cmp.multi else (figure if cmp.directions[0] == "minimize"
                                          else -figure)
        f = f.assign(problem=entry.key, family=entry.family, figure=figure, score=score)
        for col in ("regret", "ratio"):
            if col not in f:
                f[col] = math.nan
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["family", "problem", "label", "seed"], kind="stable",
                          ignore_index=True)


def write(out: Path, runs: list[tuple[Any, Any]], meta: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    finals = finals_frame(runs)
    (out / "results.json").write_text(json.dumps(
        {"tier": meta["tier"], "runs": finals[REPEATABLE].to_dict(orient="records")},
        indent=1, sort_keys=True) + "\n")
    timings = finals[["problem", "label", "seed", "seconds"]].to_dict(orient="records")
    (out / "timings.json").write_text(json.dumps({"meta": meta, "runs": timings},
                                                 indent=1) + "\n")
    lines = [f"# Benchmark suite, tier {meta['tier']}", ""]
    for entry, cmp in runs:
        lines += [f"## {entry.key} ({entry.family})", "", _summary_md(cmp), ""]
    path = out / "README.md"
    path.write_text("\n".join(lines))
    return path


def _summary_md(cmp: Any) -> str:
    from unitune.compare._report import markdown

    return markdown(cmp.summary())
