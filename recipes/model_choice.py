"""Model choice: SVC, random forest or k-NN, each with its own parameters (a conditional space).

One search picks the model and its hyperparameters together. ``C``, ``gamma`` and
``kernel`` exist only when ``model == "svc"``, ``degree`` only for a polynomial kernel
(a second level), ``max_depth`` and ``n_estimators`` only for the forest and
``n_neighbors``/``weights`` only for k-NN, all declared with ``when=``. The objective
gets only the active parameters, the ledger stores only them, and every engine
searches the space: Optuna define-by-run (TPE models each group of parameters that
occur together), skopt, pymoo and Ray's random search flattened (see
``unitune backends``, column ``conditional``). Scored by 3-fold accuracy on
scikit-learn's breast-cancer data, scaled.

    python recipes/model_choice.py                           # optuna:tpe, 40 trials
    python recipes/model_choice.py --backend skopt:gp        # the same space, flattened
    python recipes/model_choice.py --n-trials 4 --cv 2       # a few seconds
"""

from __future__ import annotations

from functools import lru_cache, partial

import unitune as ut

SLIDE = None
BACKEND = "optuna:tpe"
DIRECTION = "maximize"

SPACE = ut.Space(
    model=ut.Categorical(["svc", "forest", "knn"]),
    C=ut.Float(1e-2, 1e3, log=True, when={"model": "svc"}),
    gamma=ut.Float(1e-4, 1.0, log=True, when={"model": "svc"}),
    kernel=ut.Categorical(["rbf", "poly"], when={"model": "svc"}),
    degree=ut.Int(2, 4, when={"kernel": "poly"}),
    n_estimators=ut.Int(10, 200, log=True, when={"model": "forest"}),
    max_depth=ut.Int(2, 16, when={"model": "forest"}),
    n_neighbors=ut.Int(1, 30, when={"model": "knn"}),
    weights=ut.Categorical(["uniform", "distance"], when={"model": "knn"}),
)


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def make_model(params: dict):
    """The estimator the active parameters describe (a scaler first, for SVC and k-NN)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    p = dict(params)
    model = p.pop("model")
    if model == "forest":
        return RandomForestClassifier(**p, random_state=0, n_jobs=1)
    estimator = SVC(**p) if model == "svc" else KNeighborsClassifier(**p)
    return make_pipeline(StandardScaler(), estimator)


def objective(params: dict, cv: int = 3) -> float:
    """Mean ``cv``-fold accuracy of the chosen model."""
    from sklearn.model_selection import cross_val_score

    X, y = _data()
    return float(cross_val_score(make_model(params), X, y, cv=cv, scoring="accuracy").mean())


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=40)
    parser.add_argument("--cv", type=int, default=3, help="folds (default 3)")
    args = parser.parse_args(argv)
    print(parser.banner(args, f"maximize {args.cv}-fold accuracy over SVC, forest and k-NN"))
    result = ut.optimize(partial(objective, cv=args.cv), SPACE, backend=args.backend,
                         direction=DIRECTION, n_trials=args.n_trials, n_workers=args.workers,
                         seed=args.seed, storage=args.storage, study_name=args.study,
                         callbacks=parser.callbacks(args))
    print(f"{result.backend}: {len(result.trials)} trials, best {args.cv}-fold accuracy "
          f"{result.best_value:.4f} with {result.best_params}")
    for model in SPACE["model"].choices:  # type: ignore[attr-defined]
        runs = [t for t in result.completed if t.params["model"] == model]
        best = max((t.values[0] for t in runs), default=float("nan"))
        print(f"  {model:6s} {len(runs):3d} trials, best {best:.4f}")
    return result


if __name__ == "__main__":
    main()
