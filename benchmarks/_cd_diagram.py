"""Critical-difference diagram (Demšar 2006) of a group of problems, drawn by
``scikit_posthocs.critical_difference_diagram``: the labels' mean ranks on an axis, a bar
joining the labels the Nemenyi test (``scikit_posthocs.posthoc_nemenyi_friedman``) cannot
tell apart, and the critical difference. The post-hoc test runs only when the Friedman
test rejects; otherwise one bar joins every label. With fewer than 3 labels or 2 problems
there is no test: the figure shows the mean ranks alone and says why.

The PNG repeats byte for byte for the same input (Agg, no Software/date metadata)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks._stats import block, friedman
from unitune.errors import InvalidOption

__all__ = ["cd_diagram", "nemenyi_cd"]


def nemenyi_cd(labels: int, problems: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of mean ranks (Demšar 2006, eq. in section 3.2.2):
    q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N)), q from the studentized range."""
    q = stats.studentized_range.ppf(1 - alpha, labels, math.inf) / math.sqrt(2)
    return float(q * math.sqrt(labels * (labels + 1) / (6 * problems)))


def _significance(medians: pd.DataFrame, family: str | None,
                  alpha: float, finals: pd.DataFrame) -> tuple[pd.DataFrame, float | None, str]:
    """The p-value matrix to draw, the critical difference (None: no bar), the note."""
    import scikit_posthocs as sp  # type: ignore[import-untyped]

    labels = list(medians.columns)
    k, n = len(labels), len(medians)
    try:
        test = friedman(finals, family)
    except InvalidOption:
        zeros = pd.DataFrame(np.zeros((k, k)), index=labels, columns=labels)
        return zeros, None, (f"No test: {k} label(s) on {n} problem(s) (Friedman needs "
                             "3 labels and 2 problems); mean ranks only")
    if not test.pvalue < alpha:
        ones = pd.DataFrame(np.ones((k, k)), index=labels, columns=labels)
        return ones, None, (f"{test.line()}: no difference detected at alpha {alpha}")
    pvalues = sp.posthoc_nemenyi_friedman(medians.reset_index(drop=True))
    cd = nemenyi_cd(k, n, alpha)
    return pvalues, cd, f"{test.line()}; Nemenyi CD = {cd:.3f} at alpha {alpha}"


def cd_diagram(finals: pd.DataFrame, path: str | Path, family: str | None = None, *,
               title: str | None = None, alpha: float = 0.05) -> str:
    """Draw the critical-difference diagram of ``family`` (None: every problem) to the PNG
    ``path``; returns a one-line note of what it shows (the Friedman result, the critical
    difference, or why there is no test). Raises ``InvalidOption`` when fewer than 2
    labels ran on every problem of the group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import scikit_posthocs as sp

    blk = block(finals, family)
    pvalues, cd, note = _significance(blk.medians, family, alpha, finals)
    # Labels as their positions while drawing: the library groups them in sets, whose order
    # for strings changes with each process's hash seed (and so would the PNG).
    k = len(blk.labels)
    ranks = pd.Series(stats.rankdata(blk.medians.to_numpy(), axis=1).mean(axis=0))
    pvalues = pd.DataFrame(pvalues.to_numpy(), index=range(k), columns=range(k))
    fig, ax = plt.subplots(figsize=(7.0, 1.6 + 0.3 * k))
    try:
        drawn = sp.critical_difference_diagram(
            ranks, pvalues, alpha=alpha, ax=ax, left_only=bool(ranks.nunique() == 1),
            label_fmt_left="{label}", label_fmt_right="{label}")
        for text in drawn["labels"]:
            i = int(text.get_text())
            name, rank = blk.labels[i], f"{ranks[i]:.2f}"
            left = text.get_horizontalalignment() == "right"
            text.set_text(f"{name} ({rank})" if left else f"({rank}) {name}")
        ax.set_xlim(0.8, k + 0.2)
        if cd is not None:  # above the tick labels (the library draws it over them)
            ax.plot([1, 1 + cd], [1.4, 1.4], color="k", linewidth=2)
            ax.text(1 + cd / 2, 1.6, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
            ax.set_ylim(top=2.2)
        heading = title or f"{blk.group}: mean rank over {len(blk.problems)} problem(s)"
        ax.set_title(f"{heading}\n{note}", fontsize=9, pad=18)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=100, bbox_inches="tight",
                    metadata={"Software": None})
    finally:
        plt.close(fig)
    return note
