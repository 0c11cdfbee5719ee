"""Two objectives: cross-validated accuracy against the number of trees of a forest.

More trees cost memory and prediction time; the Pareto front says how much accuracy
each extra tree buys on scikit-learn's wine data (3-fold cross-validation). Any
multi-objective backend runs it; the hypervolume (reference point: accuracy 0 with
``MAX_TREES + 1`` trees) compares the fronts of two backends:

    python recipes/multi_objective.py --backend pymoo:nsga2
    python recipes/multi_objective.py --backend optuna:nsga2 --n-trials 200
"""

from __future__ import annotations

import argparse
from functools import lru_cache

import unitune as ut

MAX_TREES = 128
SPACE = ut.Space(
    n_estimators=ut.Int(1, MAX_TREES, log=True),
    max_depth=ut.Int(1, 12),
    min_samples_leaf=ut.Int(1, 10),
    max_features=ut.Categorical(["sqrt", "log2", None]),
    criterion=ut.Categorical(["gini", "entropy"]),
)
DIRECTIONS = ("maximize", "minimize")
METRICS = ("accuracy", "n_trees")
REF_POINT = (0.0, MAX_TREES + 1)
POP_OPTION = {"pymoo": "pop_size", "optuna": "population_size"}  # a generation's size


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_wine

    return load_wine(return_X_y=True)


def objective(params: dict) -> dict:
    """Mean 3-fold accuracy of a random forest, and its number of trees."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    X, y = _data()
    model = RandomForestClassifier(**params, random_state=0, n_jobs=1)
    accuracy = float(cross_val_score(model, X, y, cv=3).mean())
    return {"accuracy": accuracy, "n_trees": params["n_estimators"]}


def run(backend: str = "pymoo:nsga2", n_trials: int = 200, seed: int = 0,
        pop_size: int = 20, n_workers: int = 1) -> ut.Result:
    """The study, with a generation of ``pop_size`` for genetic backends."""
    engine = backend.partition(":")[0]
    options = {POP_OPTION[engine]: pop_size} if "nsga" in backend or engine == "pymoo" else {}
    return ut.optimize(objective, SPACE, backend=backend, directions=list(DIRECTIONS),
                       metrics=list(METRICS), n_trials=n_trials, seed=seed,
                       n_workers=n_workers, options=options)


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="pymoo:nsga2")
    parser.add_argument("--n-trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pop-size", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    result = run(args.backend, args.n_trials, args.seed, args.pop_size, args.workers)
    front = sorted(result.pareto_front, key=lambda t: t.values[1])
    print(f"{args.backend}: {len(result.trials)} trials, {len(front)} on the front, "
          f"hypervolume {result.hypervolume(REF_POINT):.4f} (ref {REF_POINT})")
    for t in front:
        print(f"  accuracy {t.values[0]:.4f}  trees {int(t.values[1]):4d}  {dict(t.params)}")
    return result


if __name__ == "__main__":
    main()
