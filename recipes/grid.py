"""Grid search: every point of an SVC's param_grid on breast_cancer, checked against GridSearchCV.

The grid is the dict of lists you would give scikit-learn's GridSearchCV; unitune reads
it as is (``ut.Space.coerce``) and ``optuna:grid`` runs each point exactly once (the whole
grid unless ``--n-trials`` says fewer). Each point is scored by the same cross-validation
GridSearchCV uses (scaler + SVC, stratified folds), so when the whole grid has run the
two best scores are the same number, and the recipe checks it:

    python recipes/grid.py                     # 4 x 2 x 3 = 24 points, 5-fold CV
    python recipes/grid.py --cv 3 --no-compare
"""

from __future__ import annotations

import argparse
from functools import lru_cache, partial

import unitune as ut

PARAM_GRID = {
    "C": [0.1, 1.0, 10.0, 100.0],
    "kernel": ["linear", "rbf"],
    "gamma": ["scale", 0.001, 0.01],  # ignored by the linear kernel, as in GridSearchCV
}
SPACE = ut.Space.coerce(PARAM_GRID)


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def _model(**params):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(**params))


def objective(params: dict, cv: int = 5) -> float:
    """Mean ``cv``-fold accuracy of a standardised SVC with these hyperparameters."""
    from sklearn.model_selection import cross_val_score

    X, y = _data()
    return float(cross_val_score(_model(**params), X, y, cv=cv).mean())


def gridsearchcv_best(cv: int = 5) -> tuple[float, dict]:
    """scikit-learn's own answer on the same grid: best mean score and its params."""
    from sklearn.model_selection import GridSearchCV

    grid = {f"svc__{name}": values for name, values in PARAM_GRID.items()}
    search = GridSearchCV(_model(), grid, cv=cv).fit(*_data())
    params = {k.removeprefix("svc__"): v for k, v in search.best_params_.items()}
    return float(search.best_score_), params


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="optuna:grid")
    parser.add_argument("--n-trials", type=int, default=None,
                        help="points to run (default: the whole grid)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-compare", action="store_true", help="skip GridSearchCV")
    args = parser.parse_args(argv)
    n_points = len(SPACE.grid())
    result = ut.optimize(partial(objective, cv=args.cv), SPACE, backend=args.backend,
                         direction="maximize", n_trials=args.n_trials or n_points,
                         n_workers=args.workers, seed=args.seed)
    visited = {tuple(sorted(t.params.items(), key=str)) for t in result.completed}
    print(f"{args.backend}: {len(result.trials)} trials, {len(visited)} of {n_points} grid "
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
