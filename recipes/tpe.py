"""TPE: the good/bad split Optuna's TPE makes and where it samples next, against random search.

Follows slide 7, whose hand-written ``TPEOptimizer`` tunes one parameter in [1e-4, 0.1]
for 50 trials: it ranks the trials, calls the best ``gamma`` of them "good" and the rest
"bad", fits a density to each and samples where good/bad is highest. Here the engine's
TPE does that (``optuna:tpe``, Optuna's ``TPESampler``; never re-implemented) on a real
model: an RBF SVC on scikit-learn's digits, its ``gamma`` over the slide's range and its
``C``, scored by 3-fold accuracy. The same budget with the same seed then runs on
``optuna:random``, and the script prints both best-so-far curves, the good/bad split of
the TPE run at its end (by Optuna's own default rule, read from Optuna), the range of
each group, and a histogram of where each method sampled its last half of the trials.

Another ``--backend`` (``skopt:gp``, ``pymoo:ga``, ``ray:optuna``...) is compared with
random search the same way; the good/bad split is then TPE's rule applied to that
backend's trials (it says so). ``optuna:random`` is refused: it is the baseline.

    python recipes/tpe.py                        # optuna:tpe against optuna:random, 50 trials
    python recipes/tpe.py --backend skopt:gp     # a Gaussian process against random search
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

import unitune as ut

SLIDE = 7
BACKEND = "optuna:tpe"
BASELINE = "optuna:random"  # what every backend is compared with, same seed and budget
DIRECTION = "maximize"
# The slide's range for gamma, on a log scale (TPE and random search then sample decades
# evenly, as one tunes a kernel width); C is the SVC's other knob. Raw pixel values (0-16,
# the same scale for every feature) need no scaler, so gamma's good region stays put.
SPACE = ut.Space(
    C=ut.Float(1e-2, 1e3, log=True),
    gamma=ut.Float(1e-4, 1e-1, log=True),
)
GRID_REFUSAL = "C and gamma are continuous: a grid cannot list them (grid.py is the grid recipe)"
BIN = 0.5  # histogram bins, in decades of each parameter


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


def objective(params: dict, cv: int = 3) -> float:
    """Mean ``cv``-fold accuracy of an RBF SVC on the digits (the slide's noisy score,
    made real)."""
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC
    from threadpoolctl import threadpool_limits

    X, y = _data()
    with threadpool_limits(1):  # one BLAS thread per fit: two workers fill two cores
        return float(cross_val_score(SVC(**params), X, y, cv=cv).mean())


def tpe_gamma() -> Callable[[int], int]:
    """How many of n completed trials Optuna's TPE calls good: the rule TPESampler uses
    on one objective when given no ``gamma`` (an option Optuna deprecated in 4.9; the
    slide's fixed 0.15 fraction is a simpler form of it)."""
    from optuna.samplers._tpe.sampler import default_gamma

    return default_gamma


def _rule(fn: Callable[[int], int]) -> str:
    """The rule as Optuna writes it: the return expression of its function."""
    try:
        lines = inspect.getsource(fn).strip().splitlines()
    except (OSError, TypeError):
        return fn.__name__
    return f"{fn.__name__}(x) = {lines[-1].strip().removeprefix('return ')}"


def split(result: ut.Result) -> tuple[list[ut.TrialRecord], list[ut.TrialRecord]]:
    """(good, bad): the completed trials as TPE splits them, best first."""
    done = sorted(result.completed, key=lambda t: t.values[0],
                  reverse=result.directions[0] == "maximize")
    n_good = tpe_gamma()(len(done))
    return done[:n_good], done[n_good:]


def best_so_far(result: ut.Result, after: int) -> float:
    values = [t.values[0] for t in result.trials[:after] if t.state is ut.TrialState.COMPLETE]
    return max(values) if values else math.nan


def mean_value(trials: list[ut.TrialRecord]) -> float:
    values = [t.values[0] for t in trials if t.state is ut.TrialState.COMPLETE]
    return sum(values) / len(values) if values else math.nan


def shared_start(a: ut.Result, b: ut.Result) -> int:
    """How many first trials of two runs drew the same params."""
    same = 0
    for x, y in zip(a.trials, b.trials):
        if dict(x.params) != dict(y.params):
            break
        same += 1
    return same


def checkpoints(n: int, points: int = 5) -> list[int]:
    """A few trial counts at which to read the best-so-far curves, ending at n."""
    return sorted({max(1, math.ceil(n * k / points)) for k in range(1, points + 1)})


def histogram(name: str, good: list, bad: list, last: dict[str, list]) -> list[str]:
    """Rows over log10(name): how many good and bad trials of the split fall in each bin
    (what TPE's two densities are built from), and a bar per method of where it sampled
    its last trials."""
    dist = SPACE[name]
    lo, hi = math.log10(dist.low), math.log10(dist.high)
    edges = [lo + i * BIN for i in range(math.ceil((hi - lo) / BIN - 1e-9) + 1)]

    def count(trials: list) -> list[int]:
        bins = [0] * (len(edges) - 1)
        for t in trials:
            x = math.log10(t.params[name])
            bins[min(int((x - lo) / BIN), len(bins) - 1)] += 1
        return bins

    g, b = count(good), count(bad)
    bars = {label: count(trials) for label, trials in last.items()}
    width = max(len(label) for label in bars) + 22
    head = f"  {'log10(' + name + ')':<14} good  bad   " + "".join(
        f"{label:<{width}}" for label in bars)
    rows = [head.rstrip()]
    for i in range(len(edges) - 1):
        cells = "".join(f"{'#' * n + (' ' + str(n) if n else ''):<{width}}"
                        for n in (bars[label][i] for label in bars))
        rows.append(f"  [{edges[i]:5.1f},{edges[i + 1]:5.1f})  {g[i]:4d} {b[i]:4d}   "
                    f"{cells}".rstrip())
    return rows


def compare(backend: str, n_trials: int, seed: int | None, *, cv: int = 3, workers: int = 1,
            storage: str | None = None, callbacks: list | None = None, **execution: Any,
            ) -> tuple[ut.Result, ut.Result]:
    """The chosen backend's run and random search's, on the same budget and seed
    (``execution``: ``ut.optimize``'s executor, trial_timeout and trial_memory)."""
    runs = []
    for name in (backend, BASELINE):
        print(f"-- {name}", flush=True)
        runs.append(ut.optimize(partial(objective, cv=cv), SPACE, direction=DIRECTION,
                                backend=name, n_trials=n_trials, n_workers=workers, seed=seed,
                                storage=storage, study_name=f"tpe-{name}",
                                callbacks=callbacks, **execution))
    return runs[0], runs[1]


def report(result: ut.Result, baseline: ut.Result, cv: int) -> None:
    backend, n = result.backend, len(result.trials)
    marks = checkpoints(n)
    print(f"best {cv}-fold accuracy so far, after " + " ".join(f"{m:>6d}" for m in marks)
          + " trials")
    for run in (result, baseline):
        print(f"  {run.backend:<34}" + " ".join(f"{best_so_far(run, m):6.4f}" for m in marks))
    same = shared_start(result, baseline)
    if same:
        print(f"  (the first {same} trials of both runs are the same points: random draws "
              "with the same seed)")
    good, bad = split(result)
    whose = "" if backend in ("optuna:tpe", "ray:optuna") else \
        f" ({backend} is not TPE: this is TPE's rule applied to its trials)"
    print(f"TPE's split of {backend}'s {len(good) + len(bad)} completed trials, by Optuna's "
          f"{_rule(tpe_gamma())}{whose}:")
    if good:
        print(f"  good: the best {len(good)}, accuracy {good[-1].values[0]:.4f} to "
              f"{good[0].values[0]:.4f}; bad: the other {len(bad)}")
    for name in SPACE:
        ranges = [f"{label} {min(t.params[name] for t in trials):.3g} .. "
                  f"{max(t.params[name] for t in trials):.3g}"
                  for label, trials in (("good", good), ("bad", bad)) if trials]
        print(f"  {name:<6} " + "   ".join(ranges))
    half = n // 2
    last = {run.backend: list(run.trials[half:]) for run in (result, baseline)}
    print(f"where each method sampled its last {n - half} trials (# = one trial), next to "
          f"the good and bad trials of {backend}'s split:")
    for name in SPACE:
        print("\n".join(histogram(name, good, bad, last)))
    print(f"mean accuracy of the last {n - half} trials: " + ", ".join(
        f"{label} {mean_value(trials):.4f}" for label, trials in last.items()))


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=50,  # the slide's budget
                             refuse={BASELINE: "it is the random search every backend is "
                                     "compared with; pick another, e.g. optuna:tpe",
                                     "optuna:grid": GRID_REFUSAL}, execution=True)
    parser.add_argument("--cv", type=int, default=3, help="folds of the accuracy (default 3)")
    args = parser.parse_args(argv)
    print(parser.banner(args, f"maximize {args.cv}-fold accuracy of an RBF SVC on digits")
          + f", against {BASELINE} with the same budget and seed")
    if args.backend == "optuna:tpe":
        import optuna

        startup = inspect.signature(optuna.samplers.TPESampler).parameters["n_startup_trials"]
        print(f"optuna:tpe samples its first {startup.default} trials at random "
              "(TPESampler's n_startup_trials), then from its good/bad densities")
    result, baseline = compare(args.backend, args.n_trials, args.seed, cv=args.cv,
                               workers=args.workers, storage=args.storage,
                               callbacks=parser.callbacks(args), **parser.execution(args))
    report(result, baseline, args.cv)
    print(f"{result.backend}: best {args.cv}-fold accuracy {result.best_value:.4f} with "
          f"{result.best_params}; {BASELINE}: {baseline.best_value:.4f}")
    return result


if __name__ == "__main__":
    main()
