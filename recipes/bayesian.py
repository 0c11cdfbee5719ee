"""Bayesian optimisation: the slide's MLP and skopt space in SearchCV, with the best-so-far curve.

Slide 3 gives skopt's ``BayesSearchCV`` an ``MLPClassifier`` and a ``search_space`` of
skopt ``Integer``/``Real`` dimensions (log-uniform priors), 50 iterations of 5-fold CV
(25 here by default, see ``main``).
Here the same estimator and the same dimensions go to ``unitune.sklearn.SearchCV``,
which reads them as they are. ``skopt:gp`` (gp_minimize's Gaussian process, by
ask/tell, as BayesSearchCV) spends ``--n-initial-points`` random candidates, then
proposes each next one where the surrogate expects the most gain. The best mean
accuracy so far is printed every ``--every`` candidates; compare it with a search
without a model on the same budget (``--backend optuna:random``), or with Optuna's
TPE (``optuna:tpe``) or a genetic algorithm (``pymoo:ga``).

    python recipes/bayesian.py                            # skopt:gp, 25 candidates, 5-fold
    python recipes/bayesian.py --backend optuna:random    # the same budget, no model
    python recipes/bayesian.py --n-trials 3 --cv 2 --n-samples 300  # a few seconds
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import unitune as ut

SLIDE = 3
BACKEND = "skopt:gp"
DIRECTION = "maximize"


def _search_space() -> dict:
    from skopt.space import Integer, Real

    return {  # the slide's, as written; an int hidden_layer_sizes is one layer of that width
        "hidden_layer_sizes": Integer(50, 200),
        "learning_rate_init": Real(10**-4, 10**-1, prior="log-uniform"),
        "max_iter": Integer(100, 500),
        "alpha": Real(10**-5, 10**-1, prior="log-uniform"),
    }


SPACE = ut.Space.coerce(_search_space())  # for `unitune run recipes/bayesian.py:objective`


@lru_cache(maxsize=2)
def _data(n_samples: int | None = None):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    # The slide leaves X, y undefined; digits (1797 8x8 images, 10 classes) is a real task
    # where the network's width, step size and regularisation matter. Pixels are divided
    # by 16 (their maximum) so the inputs lie in [0, 1], as an MLP needs, with no fitted
    # scaler to leak between folds.
    X, y = load_digits(return_X_y=True)
    if n_samples is not None and n_samples < len(y):  # --n-samples: a stratified subset
        X, _, y, _ = train_test_split(X, y, train_size=n_samples, stratify=y, random_state=0)
    return X / 16.0, y


def mlp():
    """The slide's ``MLPClassifier()``, seeded: a candidate scores the same every time, so
    the surrogate models a function, not noise."""
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(random_state=0)


def quiet_convergence() -> None:
    """``max_iter`` is searched: a candidate that stops at its epoch limit is part of the
    search, not news, so its ConvergenceWarning (one per fold) is not printed."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def objective(params: dict, cv: int = 5, n_samples: int | None = None) -> float:
    """Mean ``cv``-fold accuracy of the MLP with these hyperparameters (SearchCV's score)."""
    from sklearn.model_selection import cross_val_score
    from threadpoolctl import threadpool_limits

    quiet_convergence()
    X, y = _data(n_samples)
    with threadpool_limits(1):  # see main
        return float(cross_val_score(mlp().set_params(**params), X, y, cv=cv).mean())


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
    # n_trials: the slide's n_iter=50 takes 6-14 min on this 2-core machine (5 MLP fits of
    # up to 500 epochs per candidate); 25, with 5 random starts (skopt's default is 10),
    # leave the surrogate 20 candidates in half the time.
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=25)
    parser.add_argument("--cv", type=int, default=5, help="folds (default 5, the slide's)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="images of digits to use (default all 1797)")
    parser.add_argument("--n-initial-points", type=int, default=5,
                        help="random candidates before the surrogate (skopt:*, default 5)")
    parser.add_argument("--every", type=int, default=5, help="print the curve every N trials")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from unitune.sklearn import SearchCV

    quiet_convergence()
    options = ({"n_initial_points": args.n_initial_points}
               if args.backend.startswith("skopt:") else None)
    curve = BestSoFar(args.every)
    print(parser.banner(args, f"maximize {args.cv}-fold accuracy of an MLPClassifier"))
    if args.workers > 1:  # SearchCV runs candidates one by one, the folds in parallel
        print(f"--workers {args.workers}: each candidate's folds fit in {args.workers} "
              "processes")
    search = SearchCV(mlp(), _search_space(), backend=args.backend, n_trials=args.n_trials,
                      cv=args.cv, seed=args.seed, storage=args.storage, study_name=args.study, options=options,
                      n_jobs=args.workers if args.workers > 1 else None,
                      callbacks=[*parser.callbacks(args), curve])
    # One BLAS thread per fit: on matrices this small, threads cost more than they give
    # (a fit is ~10x slower with a thread per core on a busy machine).
    with threadpool_limits(1):
        search.fit(*_data(args.n_samples))
    print(f"{args.backend}: {len(search.result_.trials)} candidates, best {args.cv}-fold "
          f"accuracy {search.best_score_:.4f} with {search.best_params_}")
    return search.result_


if __name__ == "__main__":
    main()
