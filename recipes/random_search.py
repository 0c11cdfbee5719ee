"""Random search: the slide's random forest and param_dist (scipy.stats, a list with None).

Slide 2 gives RandomizedSearchCV a ``RandomForestClassifier`` and a ``param_dist`` of
scipy.stats distributions and a list; unitune reads that dict as it is
(``ut.Space.coerce``): ``randint(100, 500)`` becomes ``Int(100, 499)`` (scipy excludes the
upper end), ``uniform(0.1, 0.9)`` is ``Float(0.1, 1.0)`` (loc, loc + scale) and
``[None] + list(range(5, 30))`` a ``Categorical`` of None (unlimited depth) and 5..29.
Each trial draws every parameter independently (``optuna:random``, RandomizedSearchCV's
search) and is scored by 5-fold accuracy; the slide's ``n_iter=100`` is ``--n-trials 100``
(30 by default, see ``main``). Any engine runs the same space and budget:
``optuna:tpe``, ``skopt:gp`` or ``pymoo:ga`` learn from the trials so far instead.

    python recipes/random_search.py                          # optuna:random, 30 trials
    python recipes/random_search.py --backend optuna:tpe     # the same budget, TPE
    python recipes/random_search.py --n-trials 3 --cv 2      # a few seconds
"""

from __future__ import annotations

from functools import lru_cache, partial

import unitune as ut

SLIDE = 2
BACKEND = "optuna:random"
DIRECTION = "maximize"


def _param_dist() -> dict:
    from scipy.stats import randint, uniform

    return {  # the slide's, as written
        "n_estimators": randint(100, 500),
        "max_depth": [None] + list(range(5, 30)),
        "min_samples_split": randint(2, 20),
        "min_samples_leaf": randint(1, 10),
        "max_features": uniform(0.1, 0.9),
    }


SPACE = ut.Space.coerce(_param_dist())


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_wine

    # The slide leaves X, y undefined; wine (178 samples, 13 features, 3 classes) is real,
    # small enough for many forests of up to 499 trees, and not solved by every setting
    # (5-fold accuracy ranges from ~0.90 to ~0.98 over this space).
    return load_wine(return_X_y=True)


def objective(params: dict, cv: int = 5) -> float:
    """Mean ``cv``-fold accuracy of a random forest with these hyperparameters."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    X, y = _data()
    # random_state: a point scores the same every time; n_jobs=1: --workers runs trials
    # in parallel instead of the slide's n_jobs=-1 inside each fit.
    model = RandomForestClassifier(**params, random_state=0, n_jobs=1)
    return float(cross_val_score(model, X, y, cv=cv, scoring="accuracy").mean())


def main(argv: list[str] | None = None) -> ut.Result:
    # n_trials: the slide's n_iter=100 takes 6-16 min on this 2-core machine (a forest of
    # up to 499 trees per fold); 30 random draws take a third of that.
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=30, execution=True)
    parser.add_argument("--cv", type=int, default=5, help="folds (default 5, the slide's)")
    args = parser.parse_args(argv)
    print(parser.banner(args, f"maximize {args.cv}-fold accuracy of a random forest"))
    result = ut.optimize(partial(objective, cv=args.cv), SPACE, backend=args.backend,
                         direction=DIRECTION, n_trials=args.n_trials,
                         n_workers=args.workers, seed=args.seed, storage=args.storage, study_name=args.study,
                         callbacks=parser.callbacks(args), **parser.execution(args))
    print(f"{result.backend}: {len(result.trials)} trials, best {args.cv}-fold accuracy "
          f"{result.best_value:.4f} with {result.best_params}")
    top = sorted(result.completed, key=lambda t: -t.values[0])[:5]
    print("the five best trials:")
    for t in top:
        print(f"  trial {t.number:3d}  accuracy {t.values[0]:.4f}  {dict(t.params)}")
    return result


if __name__ == "__main__":
    main()
