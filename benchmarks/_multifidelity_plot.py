"""The multi-fidelity family's figure: the best accuracy reached against the epochs spent
(``benchmarks/multifidelity.py`` computes the curves)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.multifidelity import EPOCHS, FULL_TRAINING, PAIRED_FULL_TRAINING, budget_curve

__all__ = ["curve_table", "plot"]


def curve_table(runs: Sequence[Any], points: int = 60) -> list[dict[str, Any]]:
    """Median and IQR over seeds of the best accuracy reached by each number of epochs
    spent (a log-spaced grid up to the largest run), per variant: the figure's data."""
    import numpy as np

    curves = [(r.label, budget_curve(r.result)) for r in runs]
    top = max(c[-1][0] for _, c in curves)
    grid = np.unique(np.geomspace(1, top, points).round().astype(int))
    rows = []
    for label in dict.fromkeys(label for label, _ in curves):
        mine = [c for lab, c in curves if lab == label]
        best = np.array([[max((b for e, b in c if e <= x), default=np.nan) for x in grid]
                         for c in mine], dtype=float)
        best[~np.isfinite(best)] = np.nan  # before the first completed trial
        spent = max(c[-1][0] for c in mine)
        for i, x in enumerate(grid):
            column = best[:, i]
            if x > spent or np.isnan(column).mean() > 0.5:
                continue  # past the variant's budget, or most seeds have no trial done
            q25, median, q75 = np.nanpercentile(column, [25, 50, 75])
            rows.append({"label": label, "epochs": int(x), "median": float(median),
                         "q25": float(q25), "q75": float(q75)})
    return rows


def _panels(runs: Sequence[Any]) -> list[tuple[str, list[str]]]:
    """Optuna's pruners on the left, Ray's schedulers on the right, full training on both."""
    backend = {r.label: r.backend for r in runs}
    full = [label for label in (FULL_TRAINING, PAIRED_FULL_TRAINING) if label in backend]
    panels = []
    for engine, title in (("optuna:", "Optuna's pruners"), ("ray:", "Ray's schedulers")):
        mine = [label for label, b in backend.items()
                if b.startswith(engine) and label not in full]
        if mine:
            panels.append((title, [*mine, *full]))
    return panels or [("", list(backend))]


def plot(runs: Sequence[Any], path: str | Path, anchor: dict[str, Any] | None = None) -> Path:
    """PNG: median best accuracy (IQR band) against epochs spent, one line per variant;
    Optuna's pruners and Ray's schedulers side by side, full training on both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = curve_table(runs)
    panels = _panels(runs)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 5), sharey=True,
                             squeeze=False)
    colours = {label: f"C{i}" for i, label in enumerate(dict.fromkeys(r.label for r in runs))}
    for ax, (title, labels) in zip(axes[0], panels):
        for label in labels:
            mine = [r for r in rows if r["label"] == label]
            x = [r["epochs"] for r in mine]
            style = "--" if label in (FULL_TRAINING, PAIRED_FULL_TRAINING) else "-"
            ax.plot(x, [r["median"] for r in mine], style, color=colours[label], label=label)
            ax.fill_between(x, [r["q25"] for r in mine], [r["q75"] for r in mine],
                            color=colours[label], alpha=0.12)
        if anchor and anchor.get("seeds"):
            full = statistics.median(r["full_best"] for r in anchor["seeds"])
            ax.axhline(full - 0.01, color="grey", lw=0.8, ls=":",
                       label=f"{anchor['full']}'s median best - 1 point")
        ax.set_xscale("log")
        ax.set_xlabel("epochs spent (sum of every trial's reports)")
        ax.set_title(title)
        ax.legend(fontsize=8, loc="lower right")
    axes[0][0].set_ylabel("best validation accuracy of a completed trial")
    axes[0][0].set_ylim(bottom=max(0.9, axes[0][0].get_ylim()[0]))
    epochs = max((max(t.intermediate, default=0) for r in runs for t in r.result.trials),
                 default=EPOCHS)
    fig.suptitle(f"MLP on digits, up to {epochs} epochs a trial: median over "
                 f"{len({r.seed for r in runs})} seeds, IQR band")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
