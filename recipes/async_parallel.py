"""Asynchronous parallel search: 4 workers, a free one starts the next trial at once.

Follows slide 12: 20 trials on 4 workers over learning_rate 1e-4..0.1, hidden_size
32..256 and dropout_rate 0.1..0.5. The slide's ``AsyncParallelOptimizer`` (a process
pool that asks for new params whenever a future is done, informed by the completed
trials) is what ``ray:optuna`` does: Ray Tune runs ``--workers`` trials at once and asks
Optuna's TPE for the next configuration as soon as any trial ends, with no batch to
wait for. Each trial trains a small torch network (one hidden layer with dropout) on
scikit-learn's digits for 10 epochs, so trials last from under a second to a few
(wider networks cost more): the slide's ``time.sleep(uniform(0.1, 0.5))`` done by real
work. The script measures, from each trial's start time and duration in the ledger,
how many trials ran at once and the throughput.

On other engines (``optuna:tpe``, ``skopt:gp``, ``pymoo:ga``) ``--workers`` are threads
in this process: the engine proposes a new point whenever a thread is free, and torch
releases Python's lock while it computes, so threads overlap too (the script says so).

    python recipes/async_parallel.py                           # ray:optuna, 4 workers, 20 trials
    python recipes/async_parallel.py --workers 1               # the sequential baseline
    python recipes/async_parallel.py --backend optuna:tpe      # 4 threads
    python recipes/async_parallel.py --n-trials 3 --epochs 2   # a quick look
"""

from __future__ import annotations

import statistics
import time
from functools import lru_cache, partial
from typing import Any

import unitune as ut

SLIDE = 12
BACKEND = "ray:optuna"
DIRECTION = "maximize"
SPACE = ut.Space(
    # The slide's ranges; the learning rate on a log scale (uniformly, 9 in 10 would be
    # above 0.01).
    learning_rate=ut.Float(1e-4, 0.1, log=True),
    hidden_size=ut.Int(32, 256),
    dropout_rate=ut.Float(0.1, 0.5),
)
EPOCHS = 10


@lru_cache(maxsize=1)
def tensors() -> tuple[Any, Any, Any, Any]:
    """Train/validation tensors of scikit-learn's digits (real data instead of the
    slide's made-up score), pixels scaled to [0, 1]."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X / 16.0, y, test_size=0.3, random_state=0,
                                              stratify=y)
    f32 = torch.float32
    return (torch.tensor(X_tr, dtype=f32), torch.tensor(X_va, dtype=f32),
            torch.tensor(y_tr), torch.tensor(y_va))


def objective(params: dict[str, Any], epochs: int = EPOCHS) -> float:
    """Validation accuracy of a one-hidden-layer network with dropout after ``epochs``."""
    import torch
    from torch import nn

    torch.set_num_threads(1)  # one core per worker: the workers are the parallelism
    torch.manual_seed(0)  # the same params give the same network and the same score
    X_tr, X_va, y_tr, y_va = tensors()
    model = nn.Sequential(nn.Linear(64, params["hidden_size"]), nn.ReLU(),
                          nn.Dropout(params["dropout_rate"]),
                          nn.Linear(params["hidden_size"], 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=params["learning_rate"])
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(X_tr)).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(X_tr[batch]), y_tr[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return float((model(X_va).argmax(1) == y_va).float().mean())


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


def how(backend: str, workers: int) -> str:
    if backend.startswith("ray:"):
        return (f"{backend}: {workers} Ray worker process(es); a new trial starts as soon "
                "as one ends")
    return (f"{backend}: {workers} thread(s) in this process; a new point is proposed "
            "whenever a thread is free (torch computes outside Python's lock)")


def positive(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=20, workers=4, execution=True)
    parser.add_argument("--epochs", type=positive, default=EPOCHS,
                        help=f"epochs per trial (default {EPOCHS})")
    args = parser.parse_args(argv)
    print(parser.banner(args, f"maximize validation accuracy after {args.epochs} epochs"))
    print(how(args.backend, args.workers))
    started = time.perf_counter()
    result = ut.optimize(partial(objective, epochs=args.epochs), SPACE, direction=DIRECTION,
                         backend=args.backend, n_trials=args.n_trials, n_workers=args.workers,
                         seed=args.seed, storage=args.storage, study_name=args.study,
                         callbacks=parser.callbacks(args), **parser.execution(args))
    wall = time.perf_counter() - started
    times = spans(result)
    busy = sum(e - s for s, e in times)
    search = max(e for _, e in times) - min(s for s, _ in times)
    n = len(result.trials)
    print(f"{result.backend} with {args.workers} workers: {n} trials in {wall:.1f} s wall "
          f"(start-up included), {search:.1f} s from first start to last end "
          f"({n / search:.2f} trials/s); trials took {min(e - s for s, e in times):.1f} to "
          f"{max(e - s for s, e in times):.1f} s")
    print(f"at most {max_concurrency(result)} trials ran at once; mean concurrency "
          f"{busy / search:.2f}")
    scores = [t.value for t in result.completed]
    if scores:  # the slide's statistics
        print(f"mean score {statistics.fmean(scores):.4f}, std "
              f"{statistics.pstdev(scores):.4f}")
    print(f"best validation accuracy {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
