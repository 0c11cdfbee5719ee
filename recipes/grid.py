"""Grid search: every point of the slide's SVC param_grid, checked against GridSearchCV.

Slide 1 gives GridSearchCV an ``SVC()`` and a ``param_grid`` of 3 x 2 x 4 = 24 points;
unitune reads that dict as it is (``ut.Space.coerce``) and ``optuna:grid`` runs each point
exactly once (the whole grid unless ``--n-trials`` says fewer). Each point is scored by
the cross-validation GridSearchCV uses (stratified 5-fold accuracy), so when the whole
grid has run the two best scores are the same number, and the recipe checks it. The
slide's random labels are replaced by data with something to learn (see ``_data``).
Other engines search the same space but sample it: ``--backend skopt:gp`` or
``pymoo:ga`` run ``--n-trials`` points (24 by default), which may repeat a point and
miss another, so the GridSearchCV check runs only if every point was visited.

    python recipes/grid.py                       # optuna:grid, all 24 points, 5-fold CV
    python recipes/grid.py --backend skopt:gp    # 24 points chosen by a Gaussian process
    python recipes/grid.py --cv 2 --no-compare   # quicker
"""

from __future__ import annotations

from functools import lru_cache, partial

import unitune as ut

SLIDE = 1
BACKEND = "optuna:grid"
DIRECTION = "maximize"
PARAM_GRID = {  # the slide's, as written
    "C": [0.1, 1, 10],
    "kernel": ["rbf", "linear"],
    "gamma": ["scale", "auto", 0.1, 1],  # ignored by the linear kernel, as in GridSearchCV
}
SPACE = ut.Space.coerce(PARAM_GRID)


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import make_classification

    # The slide's two features, but labels with a signal (the slide's are coin flips, so
    # every point scores ~0.5): two clusters per class, which a curved (rbf) boundary
    # separates better than a line, so kernel, C and gamma matter. Fixed seed.
    return make_classification(n_samples=500, n_features=2, n_informative=2,
                               n_redundant=0, n_clusters_per_class=2, random_state=0)


def objective(params: dict, cv: int = 5) -> float:
    """Mean ``cv``-fold accuracy of ``SVC(**params)``, GridSearchCV's score of a point."""
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    X, y = _data()
    return float(cross_val_score(SVC(**params), X, y, cv=cv, scoring="accuracy").mean())


def gridsearchcv_best(cv: int = 5) -> tuple[float, dict]:
    """scikit-learn's own answer on the same grid and folds: best mean score, its params."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    search = GridSearchCV(SVC(), PARAM_GRID, cv=cv, scoring="accuracy").fit(*_data())
    return float(search.best_score_), dict(search.best_params_)


def main(argv: list[str] | None = None) -> ut.Result:
    n_points = len(SPACE.grid())
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=None, execution=True)
    parser.add_argument("--cv", type=int, default=5, help="folds (default 5, the slide's)")
    parser.add_argument("--no-compare", action="store_true", help="skip GridSearchCV")
    args = parser.parse_args(argv)
    is_grid = args.backend == "optuna:grid"
    if args.n_trials is None and not is_grid:
        args.n_trials = n_points  # a sampler has no "whole grid": as many trials as points
    print(parser.banner(args, f"maximize {args.cv}-fold accuracy of an SVC"))
    if not is_grid:
        print(f"{args.backend} samples the grid's values: a point may run twice and "
              "another never")
    result = ut.optimize(partial(objective, cv=args.cv), SPACE, backend=args.backend,
                         direction=DIRECTION, n_trials=args.n_trials,
                         n_workers=args.workers, seed=args.seed, storage=args.storage, study_name=args.study,
                         callbacks=parser.callbacks(args), **parser.execution(args))
    visited = {tuple(sorted(t.params.items(), key=str)) for t in result.completed}
    print(f"{result.backend}: {len(result.trials)} trials, {len(visited)} of {n_points} grid "
          f"points, best {args.cv}-fold accuracy {result.best_value:.6f} "
          f"with {result.best_params}")
    if not args.no_compare and len(visited) == n_points:
        score, params = gridsearchcv_best(args.cv)
        verdict = "equal" if score == result.best_value else "DIFFERENT"
        print(f"GridSearchCV: best {args.cv}-fold accuracy {score:.6f} with {params} "
              f"({verdict})")
    return result


if __name__ == "__main__":
    main()
