"""Multi-objective: the Pareto front of a network's accuracy against its number of weights.

Follows slide 8: a population of 50 networks (``num_layers`` 1-4, ``hidden_size`` 32-256,
``learning_rate`` 1e-4-0.1), each scored on two competing objectives, and the
non-dominated ones kept. The slide sorts one random population by hand; here the engine
(``pymoo:nsga2``, or ``optuna:nsga2``) does NSGA-II's sorting and crowding and breeds
the next generations from it. The slide's simulated accuracy is an MLPClassifier's real
validation accuracy on a synthetic 4-class problem, and its cost (training time) is the
network's number of weights: what training time grows with, but the same on every
machine and run, so the front does not move with the load of the machine.

Any backend that does several objectives runs it (``optuna:tpe`` and ``ray:random``
search without generations, and ``--pop-size`` is then unused); single-objective ones
(``skopt:*``, ``pymoo:ga``...) are refused when the flags are read.

    python recipes/multi_objective.py                         # pymoo:nsga2, 2 generations of 50
    python recipes/multi_objective.py --backend optuna:nsga2  # Optuna's NSGA-II
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from functools import lru_cache, partial

import unitune as ut

SLIDE = 8
BACKEND = "pymoo:nsga2"
DIRECTIONS = ["maximize", "minimize"]
METRICS = ["accuracy", "n_weights"]
SPACE = ut.Space(
    num_layers=ut.Int(1, 4),
    hidden_size=ut.Categorical([32, 64, 128, 256]),
    # the slide draws it uniformly; a log scale gives each decade the same share
    learning_rate=ut.Float(1e-4, 0.1, log=True),
)
GRID_REFUSAL = "learning_rate is continuous: a grid cannot list it (grid.py is the grid recipe)"
N_FEATURES, N_CLASSES = 20, 4
POP_OPTION = {"pymoo": "pop_size", "optuna": "population_size"}  # a generation's size


def n_weights(num_layers: int, hidden_size: int) -> int:
    """Weights and biases of the MLP: the cost, known before training."""
    sizes = [N_FEATURES] + [hidden_size] * num_layers + [N_CLASSES]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


MAX_WEIGHTS = n_weights(4, 256)
REF_POINT = (0.0, MAX_WEIGHTS + 1)  # the hypervolume's worst corner: accuracy 0, more weights


@lru_cache(maxsize=1)
def _data():
    """A fixed train/validation split of a nonlinear 4-class problem (make_classification,
    as the slide simulates its data): wider and deeper networks do buy accuracy on it,
    so the front has a trade-off to show (on digits a 32-unit network already scores 98%)."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=2000, n_features=N_FEATURES, n_informative=12,
                               n_classes=N_CLASSES, n_clusters_per_class=3, random_state=0)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def objective(params: dict, max_iter: int = 50) -> dict:
    """Validation accuracy of the MLP, and its number of weights."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    X_tr, X_va, y_tr, y_va = _data()
    layers, width = params["num_layers"], params["hidden_size"]
    model = MLPClassifier(hidden_layer_sizes=(width,) * layers,
                          learning_rate_init=params["learning_rate"],
                          max_iter=max_iter, random_state=0)  # seeded: the same net each time
    with warnings.catch_warnings(), threadpool_limits(1):  # one BLAS thread per fit
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the budget
        model.fit(X_tr, y_tr)
    return {"accuracy": float(model.score(X_va, y_va)), "n_weights": n_weights(layers, width)}


def options_for(backend: str, pop_size: int) -> dict:
    """A generation of ``pop_size`` for the backends that breed generations."""
    engine = backend.partition(":")[0]
    genetic = engine == "pymoo" or backend in ("optuna:nsga2", "optuna:nsga3")
    return {POP_OPTION[engine]: pop_size} if genetic else {}


def distinct_front(result: ut.Result) -> list[tuple[tuple[float, ...], int, ut.TrialRecord]]:
    """Each distinct point of the Pareto front once, cheapest first: (values, how many
    trials hit it, the first of them). Trials that differ only in a parameter that
    changes neither objective land on the same point."""
    front = result.pareto_front
    hits = Counter(t.values for t in front)
    first: dict = {}
    for t in front:
        first.setdefault(t.values, t)
    return [(v, hits[v], first[v]) for v in sorted(hits, key=lambda v: (v[1], -v[0]))]


def front_lines(result: ut.Result) -> list[str]:
    """The Pareto front as printed: each distinct point once, with how many trials hit it
    and the params of the first of them."""
    points = distinct_front(result)
    lines = [f"{result.backend}: {len(result.trials)} trials, Pareto front of {len(points)} "
             f"distinct points ({len(result.pareto_front)} trials)",
             f"  {'accuracy':>8}  {'weights':>7}  trials  layers x size  learning_rate"]
    for values, hits, t in points:
        lines.append(f"  {values[0]:8.4f}  {int(values[1]):7d}  {hits:6d}  "
                     f"{t.params['num_layers']} x {t.params['hidden_size']:<6}  "
                     f"{t.params['learning_rate']:.3g}")
    return lines


def hypervolumes(result: ut.Result, block: int) -> list[tuple[int, float]]:
    """The front's hypervolume after each ``block`` trials (a generation, for NSGA-II)."""
    n = len(result.trials)
    ends = list(range(block, n, block)) + [n]
    return [(end, dataclasses.replace(result, trials=result.trials[:end]).hypervolume(
        REF_POINT)) for end in ends]


def main(argv: list[str] | None = None) -> ut.Result:
    # two generations of the slide's 50: about 1.5 CPU minutes (--n-trials 150 for three)
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=100, needs={"multi_objective"},
                             refuse={"optuna:grid": GRID_REFUSAL}, execution=True)
    parser.add_argument("--pop-size", type=int, default=50,
                        help="a generation's size on NSGA-II backends (default 50, the slide's)")
    parser.add_argument("--max-iter", type=int, default=50, help="epochs per fit (default 50)")
    args = parser.parse_args(argv)
    print(parser.banner(args, "maximize validation accuracy, minimize number of weights"))
    options = options_for(args.backend, args.pop_size)
    if not options:
        print(f"{args.backend} breeds no generations: --pop-size is not used")
    result = ut.optimize(partial(objective, max_iter=args.max_iter), SPACE,
                         directions=DIRECTIONS, metrics=METRICS, backend=args.backend,
                         n_trials=args.n_trials, n_workers=args.workers, seed=args.seed,
                         storage=args.storage, study_name=args.study, callbacks=parser.callbacks(args),
                         **parser.execution(args),
                         options=options)
    block = args.pop_size if options else max(1, args.n_trials // 3)
    unit = "generation of" if options else "block of"
    print(f"hypervolume (reference {REF_POINT}) after each {unit} {block} trials: "
          + ", ".join(f"{hv:.0f} ({end})" for end, hv in hypervolumes(result, block)))
    print("\n".join(front_lines(result)))
    return result


if __name__ == "__main__":
    main()
