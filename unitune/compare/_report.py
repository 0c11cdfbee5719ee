"""The figures and the markdown report of a comparison (matplotlib, loaded here only)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unitune.errors import BackendNotInstalled

if TYPE_CHECKING:
    from unitune.compare._comparison import Comparison

__all__ = ["markdown", "plot_curves", "write_report"]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise BackendNotInstalled("Comparison.plot and .report draw with matplotlib: "
                                  "pip install 'unitune[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(cmp: Comparison, path: Any, *, by: str = "trial") -> Path:
    """Median best-so-far over seeds per label, with the interquartile band."""
    if by not in ("trial", "seconds"):
        raise ValueError(f"by={by!r} must be 'trial' or 'seconds'")
    plt = _pyplot()
    import numpy as np

    df = cmp.curves()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    figure = _ylabel(cmp)
    regret = not cmp.multi and cmp.optimum is not None
    for label in cmp.labels:
        d = df[df["label"] == label]
        if regret:
            d = d.assign(best=(d["best"] - cmp.optimum).abs())
        if by == "trial":
            grid = d.pivot_table(index="trial", columns="seed", values="best")
        else:  # each seed's best so far at a common grid of seconds
            grid = _on_time_grid(d)
        x = np.asarray(grid.index, dtype=float)
        q = grid.quantile([0.25, 0.5, 0.75], axis=1).to_numpy()
        line, = ax.plot(x, q[1], label=label, linewidth=1.6)
        ax.fill_between(x, q[0], q[2], alpha=0.18, color=line.get_color(), linewidth=0)
    if regret and (df["best"] - cmp.optimum).abs().gt(0).all():
        ax.set_yscale("log")
    ax.set_xlabel("finished trials" if by == "trial" else "wall time (s)")
    ax.set_ylabel(("regret (best - optimum)" if regret else figure)
                  + f", median and IQR over {len(cmp.seeds)} seeds")
    ax.set_title(str(cmp.meta.get("study_name", "")))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def _on_time_grid(d: Any) -> Any:
    import numpy as np
    import pandas as pd

    end = d["seconds"].max()
    grid = np.linspace(0.0, end if end > 0 else 1.0, 100)
    columns = {}
    for seed, s in d.sort_values("seconds").groupby("seed"):
        idx = np.searchsorted(s["seconds"].to_numpy(), grid, side="right") - 1
        values = s["best"].to_numpy()
        columns[seed] = [values[i] if i >= 0 else math.nan for i in idx]
    return pd.DataFrame(columns, index=grid)


def _ylabel(cmp: Comparison) -> str:
    return "hypervolume" if cmp.multi else "best value"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def markdown(df: Any, index: bool = True) -> str:
    """A DataFrame as a markdown table, numbers to 4 significant digits."""
    head = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, row in df.iterrows():
        cells = ([str(key)] if index else []) + [_cell(v) for v in row.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(cmp: Comparison, directory: Any) -> Path:
    """``directory/README.md`` with the summary table, the figures and what was run."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    plot_curves(cmp, out / "curves.png", by="trial")
    plot_curves(cmp, out / "curves-time.png", by="seconds")
    finals = cmp.finals()
    finals.to_json(out / "finals.json", orient="records", indent=1, double_precision=15)
    meta = {k: v for k, v in cmp.meta.items() if k != "variants"}
    text = [
        f"# Comparison: {cmp.meta.get('study_name', '')}", "",
        f"{len(cmp.labels)} backends x {len(cmp.seeds)} seeds ({list(cmp.seeds)}), "
        f"{cmp.n_trials} trials each, directions {list(cmp.directions)}"
        + ("" if cmp.optimum is None else f", optimum {cmp.optimum:.6g}")
        + ("" if cmp.reference is None else f", reference {list(cmp.reference)}") + ".", "",
        "## Summary", "", _figure_words(cmp), "", markdown(cmp.summary()), "",
        "## Anytime curves", "", "![by trial](curves.png)", "",
        "![by wall time](curves-time.png)", "",
        "## Runs", "", markdown(finals, index=False), "",
        "## Variants", "", markdown(_variants(cmp), index=False), "",
        "## Settings", "", "```json", json.dumps(meta, indent=1, default=str), "```", ""]
    path = out / "README.md"
    path.write_text("\n".join(text))
    return path


def _figure_words(cmp: Comparison) -> str:
    figure = ("hypervolume of each run's front (higher is better)" if cmp.multi
              else "best value of each run")
    base = (f"0 = {cmp.baseline}'s median, 1 = "
            + ("the optimum" if cmp.optimum is not None else "the best value any run found")
            if cmp.baseline else "no baseline")
    return (f"median, q25, q75: the {figure} over seeds; normalised: {base}; mean_rank: "
            "rank among the backends on the same seed, averaged (1 = best); trials_per_s: "
            "finished trials over the study's wall time; reports: intermediate values "
            "reported (epochs spent), median over seeds.")


def _variants(cmp: Comparison) -> Any:
    import pandas as pd

    rows = [{"label": v["label"], "backend": v["backend"],
             "options": json.dumps(v["options"], sort_keys=True, default=str),
             "note": v.get("note") or ""} for v in cmp.meta.get("variants", [])]
    return pd.DataFrame(rows, columns=["label", "backend", "options", "note"])
