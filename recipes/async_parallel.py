"""Asynchronous parallel search on Ray: Optuna's TPE as Ray Tune's searcher.

``ray:optuna`` asks TPE for a new configuration as soon as any worker is free
(no waiting for a batch), so ``--workers`` trials run at once. Each trial
cross-validates a RandomForest on scikit-learn's wine. The script prints the
throughput and how many trials actually overlapped, measured from each trial's
start time and duration in the ledger.

    python recipes/async_parallel.py                     # 2 workers, 30 trials
    python recipes/async_parallel.py --workers 1         # the sequential baseline
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import unitune as ut

SPACE = ut.Space(
    n_estimators=ut.Int(20, 200, step=20),
    max_depth=ut.Int(2, 16),
    min_samples_leaf=ut.Int(1, 10),
    max_features=ut.Categorical(["sqrt", "log2", None]),
)

_DATA: dict[str, Any] = {}  # a plain dict, not lru_cache: Ray pickles __main__ by value


def forest_wine(params: dict[str, Any]) -> float:
    """Mean 3-fold accuracy of a RandomForest on wine (one core per trial)."""
    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    if "Xy" not in _DATA:
        _DATA["Xy"] = load_wine(return_X_y=True)
    X, y = _DATA["Xy"]
    model = RandomForestClassifier(**params, n_jobs=1, random_state=0)
    return float(cross_val_score(model, X, y, cv=3).mean())


def spans(result: ut.Result) -> list[tuple[float, float]]:
    """(start, end) in epoch seconds of every trial that has both."""
    return [(t.datetime_start.timestamp(), t.datetime_start.timestamp() + t.duration)
            for t in result.trials if t.datetime_start is not None and t.duration is not None]


def max_concurrency(result: ut.Result) -> int:
    """Most trials running at the same moment, from start times and durations."""
    events = sorted([(s, 1) for s, _ in spans(result)] + [(e, -1) for _, e in spans(result)])
    running = peak = 0
    for _, delta in events:  # an end sorts before a start at the same instant
        running += delta
        peak = max(peak, running)
    return peak


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="ray:optuna")
    parser.add_argument("--n-trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = ut.optimize(forest_wine, SPACE, backend=args.backend, direction="maximize",
                         n_trials=args.n_trials, n_workers=args.workers, seed=args.seed)
    wall = time.perf_counter() - started
    times = spans(result)
    busy = sum(e - s for s, e in times)
    search = max(e for _, e in times) - min(s for s, _ in times)
    n = len(result.trials)
    print(f"{args.backend} with {args.workers} workers: {n} trials in {wall:.1f} s wall "
          f"({n / wall:.2f} trials/s with Ray start-up), {search:.1f} s from first start to "
          f"last end ({n / search:.2f} trials/s)")
    print(f"at most {max_concurrency(result)} trials ran at once; mean concurrency "
          f"{busy / search:.2f}")
    print(f"best accuracy {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
