"""Cross-problem statistics of the benchmark suite (the carps / bayesmark / Demšar way).

The input is one DataFrame ``finals``, one row per (problem, family, label, seed), with a
``score`` that is lower-is-better and comparable within a problem (regret, 1 - normalised
score, minus the hypervolume ratio). A run that found nothing has score NaN or +inf and
counts as the worst score of its problem.

    ranks = mean_ranks(finals)          # per family and overall ('(all)'), with a 95% interval
    test = friedman(finals, "synthetic")   # Friedman over the family's problems

Ranks, tests and diagrams use a *complete block*: the problems of the group and the labels
that ran on every one of them (a label missing on one problem is left out and named in
``Block.dropped``), each cell the label's median score over seeds on that problem. The
overall group ('(all)') is the largest set of problems that ran one family's labels (the
multi-fidelity or multi-objective families run other labels: see ``Block.left_out``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from unitune.errors import InvalidOption

__all__ = ["ALL", "REQUIRED", "Block", "Friedman", "add_normalised", "block", "check_finals",
           "friedman", "mean_ranks"]

REQUIRED = ("problem", "family", "label", "seed", "score")
KEYS = ["problem", "family", "label", "seed"]
ALL = "(all)"  # the family name of the overall rows


def check_finals(finals: object) -> pd.DataFrame:
    """``finals`` checked: the columns, one row per (problem, label, seed), one family per
    problem, numeric scores (never -inf), at least 2 labels. Raises ``InvalidOption`` with
    one line naming what is wrong."""
    if not isinstance(finals, pd.DataFrame):
        raise InvalidOption(f"finals: expected a pandas DataFrame with columns "
                            f"{', '.join(REQUIRED)}, got {type(finals).__name__}")
    missing = [c for c in REQUIRED if c not in finals.columns]
    if missing:
        raise InvalidOption(f"finals: missing column(s) {', '.join(missing)} "
                            f"(needs {', '.join(REQUIRED)})")
    if finals.empty:
        raise InvalidOption("finals: no rows (needs one row per problem, label and seed)")
    try:
        score = pd.to_numeric(finals["score"], errors="raise").astype(float)
    except (TypeError, ValueError) as e:
        raise InvalidOption(f"finals: column score must be numbers ({e})") from None
    if bool((score == -math.inf).any()):
        raise InvalidOption("finals: score -inf (lower is better: a run that found nothing "
                            "is NaN or +inf)")
    dup = finals.duplicated(["problem", "label", "seed"])
    if bool(dup.any()):
        row = finals.loc[dup].head(1).to_dict("records")[0]
        problem, label, seed = (getattr(row[k], "item", lambda v=row[k]: v)()
                                for k in ("problem", "label", "seed"))
        raise InvalidOption(f"finals: more than one row for problem {problem!r}, "
                            f"label {label!r}, seed {seed!r}")
    families = finals.groupby("problem", sort=True)["family"].nunique()
    if bool((families > 1).any()):
        raise InvalidOption(f"finals: problem {families[families > 1].index[0]!r} is in "
                            "more than one family")
    labels = sorted(finals["label"].unique())
    if len(labels) < 2:
        raise InvalidOption(f"finals: only one label ({labels[0]!r}); comparing needs at "
                            "least 2")
    return finals.assign(score=score)


@dataclass(frozen=True)
class Block:
    """The complete block of a group: ``medians`` is problems x labels (sorted), each cell
    the label's median score over seeds; ``dropped`` the labels left out because they did
    not run on every problem of the group; ``left_out`` the problems left out of the
    overall group (they ran other labels)."""

    group: str
    medians: pd.DataFrame
    dropped: tuple[str, ...]
    left_out: tuple[str, ...] = ()

    @property
    def problems(self) -> list[str]:
        return list(self.medians.index)

    @property
    def labels(self) -> list[str]:
        return list(self.medians.columns)


def _worst_as_inf(score: pd.Series) -> pd.Series:
    return score.where(np.isfinite(score), math.inf)


def _group(finals: pd.DataFrame, family: str | None) -> pd.DataFrame:
    if family is None or family == ALL:
        return finals
    rows = finals[finals["family"] == family]
    if rows.empty:
        known = ", ".join(sorted(finals["family"].unique()))
        raise InvalidOption(f"family {family!r} has no rows in finals (families: {known})")
    return rows


def _common_labels(rows: pd.DataFrame) -> frozenset[str]:
    per_problem = rows.groupby("label", sort=True)["problem"].nunique()
    return frozenset(str(x) for x in per_problem.index[per_problem == rows["problem"].nunique()])


def _overall(rows: pd.DataFrame) -> pd.DataFrame:
    """The overall group's rows: families often run different labels (pruners, several
    objectives), so it is the largest complete block whose labels are one family's common
    labels: the problems that ran all of them (most problems, then most labels)."""
    holds = {str(p): frozenset(map(str, g)) for p, g in rows.groupby("problem")["label"]}
    candidates = {_common_labels(sub) for _, sub in rows.groupby("family", sort=True)}
    candidates = {c for c in candidates if len(c) >= 2}
    if not candidates:
        return rows

    def size(labels: frozenset[str]) -> tuple[int, int, list[str]]:
        return sum(labels <= h for h in holds.values()), len(labels), sorted(labels)

    labels = max(candidates, key=size)
    problems = [p for p, h in holds.items() if labels <= h]
    return rows[rows["problem"].isin(problems) & rows["label"].isin(labels)]


def block(finals: pd.DataFrame, family: str | None = None) -> Block:
    """The complete block of ``family`` (None or ``ALL``: every problem, or when families
    ran different labels the largest group of problems that ran the same labels, see
    ``_overall``). Raises ``InvalidOption`` when fewer than 2 labels ran on every problem
    of the group."""
    family = None if family == ALL else family
    everything = _group(check_finals(finals), family)
    rows = everything if family is not None else _overall(everything)
    group = ALL if family is None else family
    labels = sorted(_common_labels(rows))
    n_problems = rows["problem"].nunique()
    dropped = tuple(sorted(set(map(str, everything["label"])) - set(labels)))
    if len(labels) < 2:
        raise InvalidOption(
            f"family {group!r}: {len(labels)} label(s) ran on all of its {n_problems} "
            f"problem(s) (needs at least 2; not on every problem: {', '.join(dropped)})")
    kept = rows[rows["label"].isin(labels)].assign(score=lambda d: _worst_as_inf(d["score"]))
    medians = kept.pivot_table(index="problem", columns="label", values="score",
                               aggfunc="median", sort=True)
    medians.columns.name = None
    left_out = tuple(sorted(set(map(str, everything["problem"])) - set(map(str, medians.index))))
    return Block(group, medians, dropped, left_out)


def _boot_mean_ranks(rows: pd.DataFrame, blk: Block, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, labels) mean ranks, the seeds of each (problem, label) resampled."""
    rng = np.random.default_rng(seed)
    rows = rows.sort_values(["problem", "label", "seed"], kind="stable")  # row order: no matter
    scores = _worst_as_inf(rows["score"])
    cells = {key: s.to_numpy() for key, s in scores.groupby([rows["problem"], rows["label"]],
                                                             sort=True)}
    medians = np.empty((n_boot, len(blk.problems), len(blk.labels)))
    for i, problem in enumerate(blk.problems):
        for j, label in enumerate(blk.labels):
            s = cells[(problem, label)]
            draws = s[rng.integers(0, len(s), size=(n_boot, len(s)))]
            medians[:, i, j] = np.median(draws, axis=1)
    return stats.rankdata(medians, axis=2, method="average").mean(axis=1)


def _ranks_of(finals: pd.DataFrame, family: str | None, n_boot: int,
              seed: int) -> pd.DataFrame:
    blk = block(finals, family)
    point = stats.rankdata(blk.medians.to_numpy(), axis=1, method="average").mean(axis=0)
    boot = _boot_mean_ranks(_group(finals, family), blk, n_boot, seed)
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    return pd.DataFrame({
        "family": blk.group, "label": blk.labels, "mean_rank": point, "low": low,
        "high": high, "problems": len(blk.problems), "labels": len(blk.labels)})


def mean_ranks(finals: pd.DataFrame, by: str | None = "family", *, n_boot: int = 1000,
               seed: int = 0) -> pd.DataFrame:
    """Mean rank of each label over the problems of each family (``by="family"``), and
    over every problem (family ``'(all)'``): per problem, the labels' median scores are
    ranked (1 = best, ties averaged), then averaged over problems. ``low``/``high`` is
    the 2.5-97.5 percentile interval over ``n_boot`` bootstrap replicates, seeds resampled
    within each (problem, label); ``seed`` makes it repeat. Sorted by family (overall
    last), then mean rank. A family where fewer than 2 labels ran on every problem is
    left out (``block`` says why)."""
    if by not in ("family", None):
        raise InvalidOption(f"mean_ranks: by={by!r} (use 'family' or None)")
    if n_boot < 1:
        raise InvalidOption(f"mean_ranks: n_boot={n_boot} (needs at least 1)")
    finals = check_finals(finals)
    groups: list[str | None] = [None]
    if by == "family":
        groups = [*sorted(finals["family"].unique()), None]
    tables = []
    for family in groups:
        try:
            tables.append(_ranks_of(finals, family, n_boot, seed))
        except InvalidOption:
            if family is None and not tables:
                raise
    out = pd.concat(tables, ignore_index=True)
    order = out["family"].map(lambda f: (f == ALL, f))
    return (out.assign(_o=order).sort_values(["_o", "mean_rank", "label"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))


@dataclass(frozen=True)
class Friedman:
    """A Friedman test over the problems of a group (labels as treatments)."""

    group: str
    statistic: float
    pvalue: float
    problems: int
    labels: int
    dropped: tuple[str, ...] = ()

    def line(self) -> str:
        return (f"Friedman chi2 = {self.statistic:.3f}, p = {self.pvalue:.3g} "
                f"({self.labels} labels over {self.problems} problems)")


def friedman(finals: pd.DataFrame, family: str | None = None) -> Friedman:
    """Friedman test (``scipy.stats.friedmanchisquare``) over the problems of ``family``
    (None: every problem), each label's median score per problem. Raises ``InvalidOption``
    with fewer than 3 labels or 2 problems. Every label tied on every problem gives
    statistic 0, p = 1 (scipy's tie correction would divide 0 by 0)."""
    blk = block(finals, family)
    m = blk.medians.to_numpy()
    n, k = m.shape
    if k < 3 or n < 2:
        raise InvalidOption(
            f"family {blk.group!r}: the Friedman test needs at least 3 labels and 2 problems "
            f"(has {k} label(s) on {n} problem(s))")
    if all(len(set(row)) == 1 for row in m.tolist()):
        return Friedman(blk.group, 0.0, 1.0, n, k, blk.dropped)
    res = stats.friedmanchisquare(*m.T)
    return Friedman(blk.group, float(res.statistic), float(res.pvalue), n, k, blk.dropped)


def add_normalised(finals: pd.DataFrame, baseline: str = "optuna:random",
                   optimum: float | Mapping[str, float] = 0.0) -> pd.DataFrame:
    """``finals`` with a ``normalised`` column, bayesmark-style: 0 = the ``baseline``
    label's median score on the problem, 1 = the ``optimum`` score (0 for regret, -1 for
    minus the hypervolume ratio; one per problem as a mapping), higher is better. A run
    that found nothing gets NaN."""
    finals = check_finals(finals)
    out = []
    for problem, rows in finals.groupby("problem", sort=False):
        base = rows.loc[rows["label"] == baseline, "score"]
        if base.empty:
            raise InvalidOption(f"add_normalised: baseline {baseline!r} did not run on "
                                f"problem {problem!r}")
        if isinstance(optimum, Mapping) and str(problem) not in optimum:
            raise InvalidOption(f"add_normalised: optimum has no score for problem {problem!r}")
        best = optimum[str(problem)] if isinstance(optimum, Mapping) else optimum
        zero = float(_worst_as_inf(base).median())
        span = zero - best
        norm = (zero - rows["score"]) / span if math.isfinite(span) and span > 0 else np.nan
        out.append(rows.assign(normalised=pd.Series(norm, index=rows.index).where(
            np.isfinite(rows["score"]))))
    return pd.concat(out).loc[finals.index]
