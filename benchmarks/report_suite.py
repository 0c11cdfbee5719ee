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
    """The report: the statistics across problems (``benchmarks/_suite_report.py``), then
    the harness check, the anchors, and each problem's table; ``results.json`` holds what
    repeats, ``timings.json`` the wall times (which do not)."""
    from benchmarks._suite_report import write_suite_report
    from unitune.compare._report import markdown

    finals = finals_frame(runs)
    timing = {k: meta[k] for k in ("argv", "seconds") if k in meta}
    repeatable = {k: v for k, v in meta.items() if k not in timing}
    # The parallel family is not ranked: its 1- and 2-worker entries are one problem run
    # two ways, compared in its own section (and parallel.json) at equal trials and time.
    ranked = finals[finals["family"] != "parallel"]
    path = write_suite_report(out, ranked[REPEATABLE], {e.key: cmp for e, cmp in runs},
                              repeatable)
    pick = pick_table(ranked)
    (out / "pick.md").write_text(pick)
    lines = ["## Which backend to pick", "", pick, "",
             "## Does the harness measure truthfully?", "",
             "Random search on the tabular problems, whose every configuration is known: "
             "its mean best over seeds against the exact expectation of the best of n "
             "uniform draws over the table.", ""]
    check = random_expectation(finals, runs)
    lines += [markdown(check, index=False) if not check.empty else "(no tabular problem "
              "in this run)", "", "## Anchors", ""]
    for title, table in _anchors(finals):
        lines += [f"**{title}**", "", markdown(table, index=False) if not table.empty
                  else "(not in this run)", ""]
    lines += _family_sections(out, runs)
    lines += ["## Each problem", ""]
    for entry, cmp in runs:
        problem = entry.problem()
        lines += [f"### {entry.key} ({entry.family})", "", getattr(problem, "source", "")
                  or "", "", f"{cmp.n_trials} trials, seeds {list(cmp.seeds)}"
                  + (f", {entry.n_workers} workers" if entry.n_workers > 1 else "")
                  + ". Options: " + "; ".join(
                      f"{v['label']} {v['options']}" for v in cmp.meta["variants"]
                      if v["options"]) + ".", "", _summary_md(cmp), ""]
    with path.open("a", encoding="utf-8") as readme:
        readme.write("\n".join(lines))
    timings = finals[["problem", "label", "seed", "trials", "seconds"]]
    (out / "timings.json").write_text(json.dumps(
        {**timing, "runs": timings.to_dict(orient="records")}, indent=1) + "\n")
    return path


def _anchors(finals: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [("Model-based search against random search (median regret over seeds)",
             model_based_anchor(finals)),
            ("NSGA-II on ZDT1, 30 variables, 20,000 evaluations (hypervolume ratio to the "
             "true front's)", front_anchor(finals))]


def _summary_md(cmp: Any) -> str:
    from unitune.compare._report import markdown

    return markdown(cmp.summary())


# -- the checks of the harness, and the anchors from the literature -------------------
def random_expectation(finals: pd.DataFrame, runs: list[tuple[Any, Any]],
                       label: str = "optuna:random", alpha: float = 0.01) -> pd.DataFrame:
    """On each tabular problem: random search's mean best over seeds against the exact
    expectation of the best of n uniform draws over the table, in standard errors (the
    standard deviation computed exactly from the table). Each must be within the
    Bonferroni bound of a family-wise ``alpha`` over the problems (at least 3 SE); the
    last row pools them (the mean z times sqrt(k), standard normal when the harness is
    truthful)."""
    from scipy.stats import norm

    from benchmarks.problems import random_best_moments

    rows = []
    for entry, cmp in runs:
        if entry.family != "tabular":
            continue
        bests = finals[(finals["problem"] == entry.key) & (finals["label"] == label)]["figure"]
        if bests.empty:
            continue
        mean, sd = random_best_moments(entry.problem(), cmp.n_trials)
        se = sd / math.sqrt(len(bests))
        rows.append({"problem": entry.key, "trials": cmp.n_trials, "seeds": len(bests),
                     "mean best": bests.mean(), "exact expectation": mean,
                     "exact sd / sqrt(seeds)": se,
                     "z": (bests.mean() - mean) / se if se > 0 else 0.0})
    if not rows:
        return pd.DataFrame()
    bound = max(3.0, float(norm.ppf(1 - alpha / (2 * len(rows)))))
    for row in rows:
        row[f"within {bound:.2f} se"] = abs(row["z"]) <= bound
    pooled = sum(r["z"] for r in rows) / math.sqrt(len(rows))
    rows.append({"problem": f"pooled ({len(rows)} problems)", "z": pooled,
                 f"within {bound:.2f} se": abs(pooled) <= 3.0})
    return pd.DataFrame(rows)


def model_based_anchor(finals: pd.DataFrame, problems: tuple[str, ...] = ("branin",
                       "hartmann6"), labels: tuple[str, ...] = ("optuna:tpe", "optuna:gp",
                       "skopt:gp"), factor: float = 5.0) -> pd.DataFrame:
    """Model-based search beats random search by a wide margin on Branin and Hartmann6:
    median regret at least ``factor`` times lower (the anchor the issue names)."""
    rows = []
    for problem in problems:
        here = finals[finals["problem"] == problem]
        if here.empty:
            continue
        random = here[here["label"] == "optuna:random"]["regret"].median()
        for label in labels:
            regret = here[here["label"] == label]["regret"].median()
            if math.isnan(regret):
                continue
            rows.append({"problem": problem, "backend": label,
                         "trials": int(here["trials"].max()), "median regret": regret,
                         "random search's": random, "times lower": random / regret
                         if regret > 0 else math.inf,
                         f"at least {factor:g}x": random >= factor * regret})
    return pd.DataFrame(rows)


def front_anchor(finals: pd.DataFrame, problem: str = "zdt1-20k", label: str = "pymoo:nsga2",
                 at_least: float = 0.98) -> pd.DataFrame:
    """NSGA-II on ZDT1 (30 variables) at 20,000 evaluations: the hypervolume ratio to the
    true front's (pymoo itself reaches 0.99 at population 100 x 200 generations)."""
    here = finals[(finals["problem"] == problem) & (finals["label"] == label)]
    if here.empty:
        return pd.DataFrame()
    return pd.DataFrame([{"problem": problem, "backend": label, "trials": here["trials"].max(),
                          "median ratio": here["ratio"].median(), "min ratio":
                          here["ratio"].min(), f"median >= {at_least}":
                          here["ratio"].median() >= at_least}])


FAMILY_WORDS = {
    "synthetic": "continuous and mixed functions, 2-10 dimensions (100 trials)",
    "tabular": "neural-network hyperparameters, discrete grid (tabular, 50 trials)",
    "ml": "scikit-learn / XGBoost models, cross-validated (30 trials)",
    "multi-objective": "two or three objectives (hypervolume)",
    "multi-fidelity": "training reported per epoch (best accuracy for the epochs spent)",
}


def pick_table(finals: pd.DataFrame) -> str:
    """Which backend to pick for which kind of problem: per family, the best mean rank
    with its bootstrap interval, the labels whose interval overlaps it (not told apart
    by these runs), and the pick's median normalised score over the family's problems."""
    from benchmarks._stats import ALL, mean_ranks

    ranks = mean_ranks(finals[REPEATABLE], "family")
    lines = ["| kind of problem | pick | mean rank (95% interval) | not told apart from it "
             "| normalised score |", "|---|---|---|---|---|"]
    for family, group in ranks.groupby("family", sort=False):
        if family in (ALL, "multi-fidelity"):  # ranked by best value alone: see its table
            continue
        best = group.iloc[0]
        close = [f"{r.label} ({r.mean_rank:.1f})" for r in group.iloc[1:].itertuples()
                 if r.low <= best.high]
        here = finals[(finals["family"] == family) & (finals["label"] == best.label)]
        score = here.groupby("problem")["normalised"].median().median()
        twins = _same_runs(finals[finals["family"] == family], best.label)
        pick = f"**{best.label}**" + (f" (= {', '.join(twins)} here)" if twins else "")
        lines.append(f"| {FAMILY_WORDS.get(family, family)} | {pick} | "
                     f"{best.mean_rank:.2f} [{best.low:.2f}, {best.high:.2f}] of "
                     f"{len(group)}, {int(best.problems)} problems | "
                     f"{', '.join(close) or '-'} | {score:.2f} |")
    return "\n".join(lines) + "\n"


def _same_runs(finals: pd.DataFrame, label: str) -> list[str]:
    """The other labels whose score equals ``label``'s in every (problem, seed) it ran:
    the backend ``auto`` chose, run bit for bit."""
    scores = finals.set_index(["problem", "seed"]).groupby("label")["score"]
    mine = scores.get_group(label)
    return [other for other, theirs in scores if other != label and len(theirs) == len(mine)
            and theirs.reindex(mine.index).eq(mine).all()]


def _family_sections(out: Path, runs: list[tuple[Any, Any]]) -> list[str]:
    """The multi-fidelity family (best accuracy against epochs spent, ASHA's anchor) and
    the parallel family (1 against 2 workers, at equal trials and at equal time)."""
    from unitune.compare._report import markdown

    lines: list[str] = []
    for entry, cmp in runs:
        if entry.family == "multi-fidelity":
            from benchmarks.multifidelity import family_report

            part = family_report(cmp, out)
            lines += [f"**ASHA against full training ({entry.key}): within 1 accuracy point "
                      "on at most 1/3 of the epochs?**", "", part["markdown"], ""]
    pairs: dict[str, dict[int, Any]] = {}
    for entry, cmp in runs:
        if entry.family == "parallel":
            pairs.setdefault(entry.problem_name, {})[entry.n_workers] = cmp
    if pairs:
        from benchmarks.parallel import parallel_summary, rows_from
        from benchmarks.tiers import Entry

        lines += ["## Parallel: 1 against 2 workers", "",
                  "Equal trials: the best after the budget. Equal time: the best of the "
                  "trials ended by T, the time the 1-worker run of the same backend and seed "
                  "took for half its trials. Speed-up: the 1-worker run's wall time over "
                  "this one's (2 workers share this machine's 2 cores). Runs with 2 workers "
                  "do not repeat bit for bit.", ""]
        raw = {}
        for name, comps in pairs.items():
            problem = Entry(name, "parallel", (), 0, 0).problem()
            rows = rows_from(problem, comps)
            summary = parallel_summary(rows)
            lines += [markdown(summary, index=False), ""]
            raw[name] = {"summary": summary.to_dict(orient="records"),
                         "runs": rows.to_dict(orient="records")}
        (out / "parallel.json").write_text(json.dumps(raw, indent=1) + "\n")
        lines += ["Raw figures: [parallel.json](parallel.json).", ""]
    return lines
