"""Genetic search: a neural network's hyperparameters on scikit-learn's digits.

``pymoo:ga`` evolves a population of ``--pop-size`` configurations of an MLPClassifier
(hidden units and the two rates on a log scale, the activation a category), each scored
by its mean k-fold accuracy; ``--n-trials`` counts evaluations, so 60 trials are six
generations of 10. Generation by generation, the best of each is printed:

    python recipes/evolutionary.py                                   # pymoo:ga, 60 trials
    python recipes/evolutionary.py --pop-size 20 --n-trials 100 --max-iter 200
"""

from __future__ import annotations

import argparse
from functools import lru_cache, partial

import unitune as ut

SPACE = ut.Space(
    hidden_units=ut.Int(16, 256, log=True),
    alpha=ut.Float(1e-6, 1e-1, log=True),
    learning_rate_init=ut.Float(1e-4, 1e-1, log=True),
    activation=ut.Categorical(["relu", "tanh", "logistic"]),
)
POP_OPTION = {"pymoo": "pop_size", "optuna": "population_size"}  # a generation's size


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


def objective(params: dict, cv: int = 3, max_iter: int = 100) -> float:
    """Mean ``cv``-fold accuracy of a standardised one-hidden-layer MLPClassifier."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    params = dict(params)
    mlp = MLPClassifier(hidden_layer_sizes=(params.pop("hidden_units"),), **params,
                        max_iter=max_iter, random_state=0)
    X, y = _data()
    with warnings.catch_warnings(), threadpool_limits(1):  # one BLAS thread per fit
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the budget
        return float(cross_val_score(make_pipeline(StandardScaler(), mlp), X, y, cv=cv).mean())


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="pymoo:ga")
    parser.add_argument("--n-trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pop-size", type=int, default=10)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=100, help="epochs per MLP fit")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    engine = args.backend.partition(":")[0]
    genetic = engine == "pymoo" or "nsga" in args.backend
    options = {POP_OPTION[engine]: args.pop_size} if genetic else {}
    result = ut.optimize(partial(objective, cv=args.cv, max_iter=args.max_iter), SPACE,
                         backend=args.backend, direction="maximize", n_trials=args.n_trials,
                         n_workers=args.workers, seed=args.seed, options=options)
    size = args.pop_size if genetic else len(result.trials)
    for start in range(0, len(result.trials), size):
        generation = result.trials[start:start + size]
        batch = [t for t in generation if t.values]
        if batch:
            best = max(batch, key=lambda t: t.values[0])
            print(f"  trials {start:3d}-{start + len(generation) - 1:3d}: best "
                  f"{best.values[0]:.4f}  {dict(best.params)}")
    print(f"{args.backend}: {len(result.trials)} trials, best {args.cv}-fold accuracy "
          f"{result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
