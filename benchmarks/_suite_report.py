"""The suite's report: ``write_suite_report(dir, finals, comparisons, meta)`` writes

    dir/README.md          the run (meta), mean ranks with their interval, per family the
                           Friedman test, CD diagram, normalised scores and anytime curves
    dir/results.json       the raw finals (sorted, full precision), the ranks and tests
    dir/cd-<family>.png    one critical-difference diagram per family, cd-all.png overall
    dir/curves-<problem>.png   each comparison's anytime plot (``comparisons[p].plot``)

The same inputs give the same bytes in README.md, results.json and the CD diagrams (the
suite checks that a run repeats by comparing results.json).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from benchmarks._cd_diagram import cd_diagram
from benchmarks._stats import ALL, REQUIRED, Friedman, block, check_finals, friedman, mean_ranks
from unitune.errors import InvalidOption

__all__ = ["normalised_table", "rank_table", "write_suite_report"]


class Plottable(Protocol):
    def plot(self, path: str | Path) -> Any: ...


def _md(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "n/a"


def slug(name: str) -> str:
    """A file-name-safe form of a problem or family name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)).strip("-") or "x"


def _unique_files(names: list[str], what: str, prefix: str,
                  reserved: str = "") -> dict[str, str]:
    """``prefix-<slug>.png`` for each name, refused when two names would share a file."""
    files: dict[str, str] = {}
    for name in names:
        file = f"{prefix}-{slug(name)}.png"
        twin = [repr(n) for n, f in files.items() if f == file] or (
            ["the overall diagram"] if file == reserved else [])
        if twin:
            raise InvalidOption(f"{what} {name!r} and {twin[0]} would both write {file} "
                                "(rename one)")
        files[name] = file
    return files


def rank_table(ranks: pd.DataFrame) -> str:
    """``mean_ranks``' frame as markdown: family, label, mean rank, 95% interval, problems."""
    rows = [[str(r.family), f"`{r.label}`", _num(r.mean_rank, 2),
             f"[{_num(r.low, 2)}, {_num(r.high, 2)}]", str(r.problems)]
            for r in ranks.itertuples(index=False)]
    return _md(["family", "label", "mean rank", "95% interval", "problems"], rows)


def _normalised(finals: pd.DataFrame) -> pd.DataFrame:
    finals = check_finals(finals)
    if "normalised" not in finals.columns:
        raise InvalidOption("finals: no column normalised (add it with "
                            "benchmarks._stats.add_normalised(finals, baseline, optimum))")
    return finals.assign(normalised=pd.to_numeric(finals["normalised"]).astype(float))


def normalised_table(finals: pd.DataFrame, by: str = "problem",
                     family: str | None = None) -> str:
    """Markdown table of the ``normalised`` column (0 = the baseline's median, 1 = the
    optimum, higher is better). ``by="problem"``: a row per problem (of ``family``, None:
    all), a column per label, each cell the median over seeds and its interquartile range.
    ``by="family"``: a row per label, a column per family and 'all', each cell the mean
    over the problems it ran on of its per-problem median (bayesmark's aggregate)."""
    rows = _normalised(finals)
    if family is not None:
        rows = rows[rows["family"] == family]
        if rows.empty:
            raise InvalidOption(f"normalised_table: family {family!r} has no rows")
    cells = rows.groupby(["family", "problem", "label"], sort=True)["normalised"]
    q = pd.DataFrame({"median": cells.median(), "q25": cells.quantile(0.25),
                      "q75": cells.quantile(0.75)})
    labels = sorted(rows["label"].unique())
    if by == "problem":
        out = []
        for (fam, problem), sub in q.groupby(level=["family", "problem"], sort=True):
            got = sub.droplevel(["family", "problem"])
            out.append([str(fam), str(problem)] + [
                f"{_num(got.at[lb, 'median'])} ({_num(got.at[lb, 'q25'])}–"
                f"{_num(got.at[lb, 'q75'])})" if lb in got.index else "–" for lb in labels])
        return _md(["family", "problem", *[f"`{lb}`" for lb in labels]], out)
    if by != "family":
        raise InvalidOption(f"normalised_table: by={by!r} (use 'problem' or 'family')")
    med = q["median"].reset_index()
    families = sorted(med["family"].unique())
    per = med.groupby(["label", "family"], sort=True)["median"].mean()
    overall = med.groupby("label", sort=True)["median"].mean()
    out = [[f"`{lb}`", *[_num(per[(lb, f)]) if (lb, f) in per.index else "–"
                         for f in families], _num(overall[lb])] for lb in labels]
    return _md(["label", *families, "all"], out)


def _plain(value: Any) -> Any:
    """A finals cell as JSON: Python numbers at full precision, non-finite as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def results_json(finals: pd.DataFrame, meta: Mapping[str, Any], ranks: pd.DataFrame | None,
                 tests: Mapping[str, Friedman | str]) -> str:
    """results.json's text: meta, the finals sorted by (problem, label, seed), every column
    at full precision (floats are written so they read back bit for bit; NaN/inf as null),
    the mean ranks and the Friedman tests: the same inputs (in any row order), the same bytes."""
    finals = finals.sort_values(["problem", "label", "seed"], kind="stable")
    columns = [*REQUIRED, *sorted(c for c in finals.columns if c not in REQUIRED)]
    records = [{c: _plain(v) for c, v in zip(columns, row)}
               for row in zip(*(finals[c].tolist() for c in columns))]
    doc = {
        "meta": dict(meta),
        "finals": records,
        "mean_ranks": [] if ranks is None else [
            {c: _plain(v) for c, v in r.items()} for r in ranks.to_dict("records")],
        "friedman": {g: t if isinstance(t, str) else {
            "statistic": t.statistic, "pvalue": t.pvalue, "problems": t.problems,
            "labels": t.labels, "dropped": list(t.dropped)} for g, t in tests.items()},
    }
    return json.dumps(doc, indent=1, allow_nan=False, default=str) + "\n"


def _meta_section(meta: Mapping[str, Any]) -> list[str]:
    lines = ["## The run", ""]
    for key, value in meta.items():
        if isinstance(value, (dict, list, tuple)):
            text = json.dumps(value, indent=2, sort_keys=True, default=str)
            lines += [f"- **{key}**:", "", "```json", text, "```", ""]
        else:
            lines.append(f"- **{key}**: {value}")
    return lines if lines[-1] == "" else [*lines, ""]


def _group_section(out: Path, finals: pd.DataFrame, family: str | None,
                   curves: Mapping[str, str]) -> list[str]:
    name = ALL if family is None else family
    lines = [f"## {'All problems' if family is None else 'Family: ' + family}", ""]
    png = f"cd-{'all' if family is None else slug(family)}.png"
    try:
        note = cd_diagram(finals, out / png, family)
        blk = block(finals, family)
        left = "".join([
            f" Left out (not run on every problem): {', '.join(blk.dropped)}."
            if blk.dropped else "",
            f" Problems left out (they ran other labels): {', '.join(blk.left_out)}."
            if blk.left_out else ""])
        bars = " A bar joins the labels the Nemenyi test cannot tell apart." if (
            "Nemenyi" in note) else ""
        lines += [f"![critical-difference diagram, {name}]({png})", "",
                  f"{note}.{left}{bars}", ""]
    except InvalidOption as e:
        lines += [f"No critical-difference diagram: {e}.", ""]
    if family is not None:
        if "normalised" in finals.columns:
            lines += ["Normalised score per problem: median over seeds (interquartile "
                      "range); 0 = the baseline's median, 1 = the optimum.", "",
                      normalised_table(finals, "problem", family), ""]
        problems = sorted(finals.loc[finals["family"] == family, "problem"].unique())
        links = [f"[{p}]({curves[p]})" for p in problems if p in curves]
        if links:
            lines += ["Anytime curves: " + ", ".join(links) + ".", ""]
    return lines


def _tests(finals: pd.DataFrame, groups: list[str | None]) -> dict[str, Friedman | str]:
    tests: dict[str, Friedman | str] = {}
    for family in groups:
        try:
            tests[ALL if family is None else family] = friedman(finals, family)
        except InvalidOption as e:
            tests[ALL if family is None else family] = str(e)
    return tests


def _ranks(finals: pd.DataFrame, n_boot: int, seed: int) -> tuple[pd.DataFrame | None, str]:
    try:
        ranks = mean_ranks(finals, "family", n_boot=n_boot, seed=seed)
    except InvalidOption as e:
        return None, f"No mean ranks: {e}"
    return ranks, rank_table(ranks)


def write_suite_report(dir: str | Path, finals: pd.DataFrame,
                       comparisons: Mapping[str, Plottable], meta: Mapping[str, Any], *,
                       n_boot: int = 1000, seed: int = 0,
                       title: str = "unitune benchmark suite") -> Path:
    """Write ``dir/README.md``, ``dir/results.json``, the CD diagrams and each problem's
    anytime curves (``comparisons[problem].plot(dir/curves-<problem>.png)``); returns the
    README's path. ``meta`` (tier, seeds, budgets, versions, commit, fairness rules...)
    is written as given, in its order; it must not hold timestamps if the report is to
    repeat byte for byte."""
    finals = check_finals(finals)
    out = Path(dir)
    out.mkdir(parents=True, exist_ok=True)
    families = sorted(finals["family"].unique())
    _unique_files(families, "family", "cd", reserved="cd-all.png")
    curves = _unique_files(sorted(comparisons), "problem", "curves")
    for problem, file in curves.items():
        comparisons[problem].plot(out / file)
    tests = _tests(finals, [*families, None])
    ranks, table = _ranks(finals, n_boot, seed)
    lines = [f"# {title}", "", *_meta_section(meta), "## Mean ranks", "",
             "Per problem, each label's median score over seeds is ranked (1 = best, ties "
             "averaged), then the ranks are averaged over the problems of the family; only "
             "the labels that ran on every problem of the family count. The interval is "
             f"the 2.5-97.5 percentile over {n_boot} bootstrap replicates (seeds resampled "
             f"within each problem and label, seed {seed}). Family '{ALL}' is the largest "
             "set of problems that ran the same labels (see All problems).", "", table, ""]
    for family in [*families, None]:
        lines += _group_section(out, finals, family, curves)
    if "normalised" in finals.columns:
        lines += ["## Normalised score by family", "",
                  "Mean over the problems a label ran on (– where it ran on none of the "
                  "family) of its median normalised score over seeds (0 = the baseline's "
                  "median, 1 = the optimum; higher is better).", "",
                  normalised_table(finals, "family"), ""]
    others = sorted(set(curves) - set(finals["problem"]))
    if others:
        lines += ["## Other anytime curves", "",
                  ", ".join(f"[{p}]({curves[p]})" for p in others) + ".", ""]
    lines += ["Raw results: [results.json](results.json).", ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    (out / "results.json").write_text(results_json(finals, meta, ranks, tests),
                                      encoding="utf-8")
    return out / "README.md"
