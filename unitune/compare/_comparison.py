"""``Comparison``: the runs of ``ut.compare`` and the tables made of them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from unitune.compare._metrics import auto_reference, curve, minimising, wall_seconds
from unitune.records import Result, TrialState

__all__ = ["Comparison", "Run"]


@dataclass(frozen=True)
class Run:
    """One cell of a comparison: a variant (label, backend, options) with one seed."""

    label: str
    backend: str
    options: Mapping[str, Any]
    seed: int
    result: Result


@dataclass
class Comparison:
    """What ``ut.compare`` returns: every run, and the tables and figures made of them.

    Single objective: a run's figure is its best value; ``normalised`` is 0 at the
    baseline's (random search's) median and 1 at ``optimum`` (or at the best value any
    run found when the optimum is unknown), bayesmark's convention. Several objectives:
    a run's figure is the hypervolume of its front against ``reference`` (given, or taken
    from every run's fronts), and ``ratio`` is that over ``optimum`` (the true front's)."""

    runs: list[Run]
    directions: tuple[str, ...]
    n_trials: int
    seeds: tuple[int, ...]
    optimum: float | None = None
    reference: tuple[float, ...] | None = None
    baseline: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.directions) > 1 and self.reference is None:
            self.reference = auto_reference([r.result for r in self.runs])
        # each run's curve once (a multi-objective one recomputes hypervolumes): the
        # finals, the curves and both plots of a report read it from here
        self._curves = {(r.label, r.seed): curve(r.result, self.reference) for r in self.runs}
        self._finals = {key: points[-1][1] if points else math.nan
                        for key, points in self._curves.items()}

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(r.label for r in self.runs))

    @property
    def multi(self) -> bool:
        return len(self.directions) > 1

    def _better_is_lower(self, value: float) -> float:
        """A run's figure turned so that lower is better (for ranks)."""
        if self.multi:
            return -value
        return minimising([value], self.directions)[0]

    def _anchors(self) -> tuple[float, float] | None:
        """(the score 0, the score 1) of ``normalised``, lower-is-better."""
        if self.baseline is None:
            return None
        base = [self._better_is_lower(v) for (label, _), v in self._finals.items()
                if label == self.baseline and not math.isnan(v)]
        if not base:
            return None
        zero = statistics.median(base)
        if self.optimum is not None:
            one = self._better_is_lower(self.optimum)
        else:
            one = min(self._better_is_lower(v) for v in self._finals.values()
                      if not math.isnan(v))
        return (zero, one) if zero != one else None

    def finals(self) -> Any:
        """One row per run: label, backend, seed, best (or hypervolume), normalised, regret
        (or ratio), trials, failures, reports (intermediate values: epochs spent), seconds
        (the study's wall time from the ledger)."""
        import pandas as pd

        anchors = self._anchors()
        rows = []
        for run in self.runs:
            value = self._finals[(run.label, run.seed)]
            trials = [t for t in run.result.trials if t.state.is_finished()]
            seconds = [s for s in wall_seconds(run.result) if not math.isnan(s)]
            row: dict[str, Any] = {
                "label": run.label, "backend": run.backend, "seed": run.seed,
                ("hypervolume" if self.multi else "best"): value,
                "normalised": (math.nan if anchors is None else
                               (anchors[0] - self._better_is_lower(value))
                               / (anchors[0] - anchors[1])),
            }
            if self.optimum is not None:
                row["ratio" if self.multi else "regret"] = (
                    value / self.optimum if self.multi else abs(value - self.optimum))
            row.update(trials=len(trials),
                       failures=sum(t.state is TrialState.FAIL for t in trials),
                       reports=sum(len(t.intermediate) for t in trials),
                       seconds=max(seconds) if seconds else math.nan)
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> Any:
        """One row per label: the median figure with its interquartile range, the median
        normalised score (and regret or ratio), the mean rank over seeds (1 = best), trials
        per second, failures, and the median number of reports."""
        import pandas as pd

        df = self.finals()
        figure = "hypervolume" if self.multi else "best"
        df["rank"] = _ranks(df, figure, self._better_is_lower)
        rows = []
        for label in self.labels:
            d = df[df["label"] == label]
            row: dict[str, Any] = {
                "label": label, "backend": d["backend"].iloc[0],
                "median": d[figure].median(), "q25": d[figure].quantile(0.25),
                "q75": d[figure].quantile(0.75), "normalised": d["normalised"].median()}
            extra = "ratio" if self.multi else "regret"
            if extra in d:
                row[extra] = d[extra].median()
            row.update({"mean_rank": d["rank"].mean(),
                        "trials_per_s": (d["trials"] / d["seconds"]).median(),
                        "failures": int(d["failures"].sum()),
                        "reports": d["reports"].median()})
            rows.append(row)
        return pd.DataFrame(rows).set_index("label")

    def curves(self) -> Any:
        """Tidy: one row per (label, seed, finished trial): ``trial`` (finished trials so
        far), ``seconds`` (wall time since the study's first trial) and ``best`` (best
        value so far; for several objectives the hypervolume so far, at up to 200
        points per run)."""
        import pandas as pd

        rows = []
        for run in self.runs:
            seconds = wall_seconds(run.result)
            for n, value in self._curves[(run.label, run.seed)]:
                rows.append({"label": run.label, "backend": run.backend, "seed": run.seed,
                             "trial": n, "seconds": seconds[n - 1], "best": value})
        return pd.DataFrame(rows)

    def plot(self, path: Any, *, by: str = "trial") -> Any:
        """Draw the anytime curves to ``path`` (PNG): per label, the median best so far
        over seeds with its interquartile band, by ``trial`` or by ``seconds``."""
        from unitune.compare._report import plot_curves

        return plot_curves(self, path, by=by)

    def report(self, directory: Any) -> Any:
        """Write ``directory/README.md`` (the summary, the runs, what was compared and
        how) with its figures (``curves.png``, ``curves-time.png``); returns the path."""
        from unitune.compare._report import write_report

        return write_report(self, directory)


def _ranks(df: Any, figure: str, lower: Any) -> list[float]:
    """Each run's rank among the labels that ran the same seed (1 = best, ties share)."""
    keyed = df.assign(_key=[lower(v) if not math.isnan(v) else math.inf for v in df[figure]])
    return list(keyed.groupby("seed")["_key"].rank(method="average"))


def sorted_runs(runs: Sequence[Run], labels: Sequence[str]) -> list[Run]:
    order = {label: i for i, label in enumerate(labels)}
    return sorted(runs, key=lambda r: (order[r.label], r.seed))
