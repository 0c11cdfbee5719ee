"""What a comparison measures of each run: the best value so far (single objective) or
the hypervolume so far (several), by finished trial and by wall time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from unitune.records import Result, TrialRecord, TrialState

__all__ = ["auto_reference", "curve", "minimising", "wall_seconds"]

# The most hypervolume points a curve of a multi-objective run holds (plus the last
# trial): the hypervolume is recomputed at each, so 20,000 trials cost 200 computations.
HV_POINTS = 200


def minimising(values: Sequence[float], directions: Sequence[str]) -> tuple[float, ...]:
    """``values`` turned so that smaller is better in every direction."""
    return tuple(v if d == "minimize" else -v for v, d in zip(values, directions))


def _finished(result: Result) -> list[TrialRecord]:
    return sorted((t for t in result.trials if t.state.is_finished()), key=lambda t: t.number)


def _scored(t: TrialRecord) -> bool:
    return (t.state is TrialState.COMPLETE and t.values is not None and t.feasible
            and all(math.isfinite(v) for v in t.values))


def wall_seconds(result: Result) -> list[float]:
    """For each finished trial (in number order), the seconds from the study's first
    trial start to its end, as the ledger recorded them (NaN where it did not)."""
    trials = _finished(result)
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    if not starts:
        return [math.nan] * len(trials)
    origin = min(starts)
    return [math.nan if t.datetime_start is None else
            (t.datetime_start - origin).total_seconds() + (t.duration or 0.0) for t in trials]


def curve(result: Result, reference: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """(finished trials so far, best so far) after each finished trial: the best value in
    the study's direction, NaN before the first completed one; for several objectives the
    hypervolume (minimising, against ``reference``) at up to ``HV_POINTS`` points."""
    trials = _finished(result)
    if len(result.directions) == 1:
        return _best_curve(trials, result.directions[0])
    assert reference is not None
    return _hv_curve(trials, result.directions, reference)


def _best_curve(trials: list[TrialRecord], direction: str) -> list[tuple[int, float]]:
    sign = 1.0 if direction == "minimize" else -1.0
    best = math.inf
    out = []
    for i, t in enumerate(trials, 1):
        if _scored(t):
            assert t.values is not None
            best = min(best, sign * t.values[0])
        out.append((i, math.nan if best == math.inf else sign * best))
    return out


def _hv_curve(trials: list[TrialRecord], directions: Sequence[str],
              reference: Sequence[float]) -> list[tuple[int, float]]:
    import numpy as np

    n = len(trials)
    stops = sorted({max(1, round(n * k / HV_POINTS)) for k in range(1, HV_POINTS + 1)} | {n})
    points = np.array([minimising(t.values, directions) if _scored(t) and t.values else
                       [math.nan] * len(directions) for t in trials], dtype=float)
    ref = np.array(minimising(reference, directions), dtype=float)
    front = np.empty((0, len(directions)))
    out, done = [], 0
    for stop in stops if n else []:
        new = points[done:stop]
        new = new[~np.isnan(new).any(axis=1)]
        front = _nondominated(np.vstack([front, new]))
        out.append((stop, _hypervolume(front, ref)))
        done = stop
    return out


def _nondominated(points: Any) -> Any:
    """The rows of ``points`` no other row dominates (minimising), duplicates once."""
    import numpy as np

    if len(points) == 0:
        return points
    points = np.unique(points, axis=0)
    le = (points[:, None, :] <= points[None, :, :]).all(axis=2)
    lt = (points[:, None, :] < points[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)
    return points[~dominated]


def _hypervolume(front: Any, ref: Any) -> float:
    import numpy as np
    from optuna._hypervolume import compute_hypervolume

    inside = front[(front < ref).all(axis=1)] if len(front) else front
    if len(inside) == 0:
        return 0.0
    return float(compute_hypervolume(np.asarray(inside), ref, assume_pareto=True))


def auto_reference(results: Sequence[Result]) -> tuple[float, ...]:
    """A hypervolume reference point from every run's fronts: the worst value of the
    union of completed trials in each objective, moved out by a tenth of its range (in
    each direction's own terms), so that every front's extreme points count."""
    directions = results[0].directions
    rows = [minimising(t.values, directions) for r in results for t in r.trials
            if _scored(t) and t.values is not None]
    if not rows:
        raise ValueError("no completed trial to take a hypervolume reference from")
    worst = [max(col) for col in zip(*rows)]
    best = [min(col) for col in zip(*rows)]
    ref = [w + 0.1 * ((w - b) or 1.0) for w, b in zip(worst, best)]
    return minimising(ref, directions)  # back in the study's own directions
