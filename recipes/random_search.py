"""Random search: a random forest on scikit-learn's wine data, log-scaled and stepped params.

Each trial draws every parameter independently: ``n_estimators`` on a lattice of 25
(``step``), depth and leaf size uniformly in log space (``log``: 2..4 is as likely as
16..32), the share of features per split on a 0.1 lattice. Mean stratified k-fold
accuracy is maximised; any backend runs the same space:

    python recipes/random_search.py                     # optuna:random, 40 trials, 5-fold
    python recipes/random_search.py --backend optuna:tpe --n-trials 60
"""

from __future__ import annotations

import argparse
from functools import lru_cache, partial

import unitune as ut

SPACE = ut.Space(
    n_estimators=ut.Int(25, 300, step=25),
    max_depth=ut.Int(2, 32, log=True),
    min_samples_leaf=ut.Int(1, 16, log=True),
    max_features=ut.Float(0.1, 1.0, step=0.1),
    criterion=ut.Categorical(["gini", "entropy"]),
)


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_wine

    return load_wine(return_X_y=True)


def objective(params: dict, cv: int = 5) -> float:
    """Mean ``cv``-fold accuracy of a random forest with these hyperparameters."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    X, y = _data()
    model = RandomForestClassifier(**params, random_state=0, n_jobs=1)
    return float(cross_val_score(model, X, y, cv=cv).mean())


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="optuna:random")
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    result = ut.optimize(partial(objective, cv=args.cv), SPACE, backend=args.backend,
                         direction="maximize", n_trials=args.n_trials,
                         n_workers=args.workers, seed=args.seed)
    print(f"{args.backend}: {len(result.trials)} trials, best {args.cv}-fold accuracy "
          f"{result.best_value:.4f} with {result.best_params}")
    top = sorted(result.completed, key=lambda t: -t.values[0])[:5]
    for t in top:
        print(f"  trial {t.number:3d}  accuracy {t.values[0]:.4f}  {dict(t.params)}")
    return result


if __name__ == "__main__":
    main()
