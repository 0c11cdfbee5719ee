"""Evolutionary search: a genetic algorithm evolves an MLP's hyperparameters over generations.

Follows slide 10: a population of 20 configurations (``learning_rate`` 1e-4-0.1,
``hidden_size`` 32-256, ``num_layers`` 1-5) evolved for 10 generations by selection,
crossover and mutation, printing the best fitness of each generation. The slide's
hand-written ``EvolutionaryOptimizer`` is the engine's genetic algorithm here
(``pymoo:ga``: tournament selection, simulated binary crossover, polynomial mutation;
or ``optuna:nsga2``, Optuna's genetic sampler), and its simulated fitness is the real
validation accuracy of an MLPClassifier on scikit-learn's digits. ``--n-trials`` counts
evaluations: 200 are the slide's 10 generations of 20.

Other backends run the same objective without generations (``optuna:tpe``, ``skopt:gp``,
``ray:random``...): the script then prints blocks of ``--pop-size`` trials and says so.

    python recipes/evolutionary.py                            # pymoo:ga, 10 generations of 20
    python recipes/evolutionary.py --backend optuna:nsga2     # Optuna's genetic sampler
"""

from __future__ import annotations

from functools import lru_cache, partial

import unitune as ut

SLIDE = 10
BACKEND = "pymoo:ga"
DIRECTION = "maximize"
SPACE = ut.Space(
    # the slide draws it uniformly; a log scale gives each decade the same share
    learning_rate=ut.Float(1e-4, 0.1, log=True),
    hidden_size=ut.Int(32, 256),
    num_layers=ut.Int(1, 5),
)
GRID_REFUSAL = "learning_rate is continuous: a grid cannot list it (grid.py is the grid recipe)"
POP_OPTION = {"pymoo": "pop_size", "optuna": "population_size"}  # a generation's size
GENETIC = ("pymoo:ga", "pymoo:de", "pymoo:nsga2", "pymoo:nsga3", "optuna:nsga2",
           "optuna:nsga3")


@lru_cache(maxsize=1)
def _data():
    """A fixed, stratified train/validation split of the digits, standardised on the
    training part (the slide's fitness is one validation score, not a cross-validation)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_va), y_tr, y_va


def objective(params: dict, max_iter: int = 10) -> float:
    """Validation accuracy of an MLP with ``num_layers`` layers of ``hidden_size`` units."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    X_tr, X_va, y_tr, y_va = _data()
    model = MLPClassifier(hidden_layer_sizes=(params["hidden_size"],) * params["num_layers"],
                          learning_rate_init=params["learning_rate"],
                          max_iter=max_iter, random_state=0)  # seeded: the same net each time
    with warnings.catch_warnings(), threadpool_limits(1):  # one BLAS thread per fit
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the budget
        model.fit(X_tr, y_tr)
    return float(model.score(X_va, y_va))


def generations(result: ut.Result, size: int) -> list[list[ut.TrialRecord]]:
    """The trials in generations of ``size``, in the order they were bred (each
    generation is proposed whole before the next, so the ledger keeps them in blocks)."""
    return [list(result.trials[i:i + size]) for i in range(0, len(result.trials), size)]


def fitness_lines(result: ut.Result, size: int, label: str) -> list[str]:
    """Per generation: its best and mean fitness, and the best found so far."""
    lines, best = [], float("-inf")
    for g, trials in enumerate(generations(result, size), 1):
        values = [t.values[0] for t in trials if t.state is ut.TrialState.COMPLETE]
        if not values:
            lines.append(f"  {label} {g:2d}: no completed trial")
            continue
        best = max(best, *values)
        lines.append(f"  {label} {g:2d}: best fitness {max(values):.4f}, mean "
                     f"{sum(values) / len(values):.4f}, best so far {best:.4f}")
    return lines


def main(argv: list[str] | None = None) -> ut.Result:
    # the slide's 10 generations of 20; 10 epochs per fit keep them near 1.5 CPU minutes
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=200,
                             refuse={"optuna:grid": GRID_REFUSAL}, execution=True)
    parser.add_argument("--pop-size", type=int, default=20,
                        help="a generation's size (default 20, the slide's)")
    parser.add_argument("--max-iter", type=int, default=10,
                        help="epochs per MLP fit (default 10)")
    args = parser.parse_args(argv)
    print(parser.banner(args, "maximize validation accuracy of an MLP on digits"))
    genetic = args.backend in GENETIC
    options = {POP_OPTION[args.backend.partition(":")[0]]: args.pop_size} if genetic else {}
    if not genetic:
        print(f"{args.backend} breeds no generations: blocks of {args.pop_size} trials below")
    result = ut.optimize(partial(objective, max_iter=args.max_iter), SPACE,
                         direction=DIRECTION, backend=args.backend, n_trials=args.n_trials,
                         n_workers=args.workers, seed=args.seed, storage=args.storage, study_name=args.study,
                         callbacks=parser.callbacks(args),
                         **parser.execution(args), options=options)
    print("\n".join(fitness_lines(result, args.pop_size,
                                  "generation" if genetic else "block")))
    print(f"{result.backend}: {len(result.trials)} trials, best validation accuracy "
          f"{result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
