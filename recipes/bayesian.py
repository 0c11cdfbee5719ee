"""Bayesian optimisation: gradient-boosted trees on breast_cancer, with the best-so-far curve.

``skopt:gp`` (scikit-optimize's gp_minimize, by ask/tell) spends ``--n-initial-points``
random trials, then proposes each next point where a Gaussian-process surrogate expects
the most gain. The curve of the best mean k-fold accuracy found so far is printed every
``--every`` trials as the study runs; compare it with a random search's:

    python recipes/bayesian.py                          # skopt:gp, 50 trials, 5-fold
    python recipes/bayesian.py --backend optuna:random  # the same budget, no model
"""

from __future__ import annotations

import argparse
from functools import lru_cache, partial

import unitune as ut

SPACE = ut.Space(
    learning_rate=ut.Float(0.01, 0.5, log=True),
    max_iter=ut.Int(20, 200, step=20),
    max_leaf_nodes=ut.Int(4, 64, log=True),
    min_samples_leaf=ut.Int(2, 64, log=True),
    l2_regularization=ut.Float(1e-6, 10.0, log=True),
)
SKOPT_OPTION = "n_initial_points"


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def objective(params: dict, cv: int = 5) -> float:
    """Mean ``cv``-fold accuracy of a HistGradientBoostingClassifier (one thread per fit)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_score
    from threadpoolctl import threadpool_limits

    X, y = _data()
    model = HistGradientBoostingClassifier(**params, early_stopping=False, random_state=0)
    with threadpool_limits(1):  # OpenMP over small data oversubscribes a busy machine
        return float(cross_val_score(model, X, y, cv=cv).mean())


class BestSoFar:
    """Callback: the best value after each finished trial, printed every ``every`` trials."""

    def __init__(self, every: int = 10) -> None:
        self.every, self.curve = every, []

    def __call__(self, record: ut.TrialRecord) -> None:
        done = record.state is ut.TrialState.COMPLETE
        value = record.values[0] if done else float("-inf")
        self.curve.append(max(self.curve[-1], value) if self.curve else value)
        if len(self.curve) % self.every == 0:
            print(f"  after {len(self.curve):4d} trials: best {self.curve[-1]:.4f}", flush=True)


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="skopt:gp")
    parser.add_argument("--n-trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--n-initial-points", type=int, default=10,
                        help="random trials before the surrogate (skopt:* backends)")
    parser.add_argument("--every", type=int, default=10, help="print the curve every N trials")
    args = parser.parse_args(argv)
    options = {SKOPT_OPTION: args.n_initial_points} if args.backend.startswith("skopt") else {}
    curve = BestSoFar(args.every)
    print(f"{args.backend}: best {args.cv}-fold accuracy so far")
    result = ut.optimize(partial(objective, cv=args.cv), SPACE, backend=args.backend,
                         direction="maximize", n_trials=args.n_trials, seed=args.seed,
                         options=options, callbacks=[curve])
    print(f"{args.backend}: {len(result.trials)} trials, best {args.cv}-fold accuracy "
          f"{result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
