"""Quickstart: tune an SVM on scikit-learn's digits with 5-fold cross-validation.

From the command line (the space is in quickstart.yaml, trials go to the embedded
journal file, and running the same command again resumes the study):

    unitune run recipes/quickstart.py:objective --space recipes/quickstart.yaml \
        --direction maximize --n-trials 30 --seed 0

or as a script, with any backend:

    python recipes/quickstart.py --backend skopt:gp --n-trials 30
"""

from __future__ import annotations

from functools import lru_cache

import unitune as ut

SLIDE = None  # no slide: the README's first example
BACKEND = "optuna:tpe"
DIRECTION = "maximize"  # accuracy: higher is better
SPACE = ut.Space(
    C=ut.Float(1e-2, 1e3, log=True),
    gamma=ut.Float(1e-5, 1e-1, log=True),
    kernel=ut.Categorical(["rbf", "sigmoid"]),
)


@lru_cache(maxsize=1)
def _data():
    from sklearn.datasets import load_digits

    # Bundled with scikit-learn (no download), 10 classes, and an SVM's C and gamma move
    # its accuracy from ~0.1 to ~0.99: a search with something to find, in seconds.
    return load_digits(return_X_y=True)


def objective(params: dict) -> float:
    """Mean 5-fold accuracy of an SVC with these hyperparameters."""
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    X, y = _data()
    return float(cross_val_score(SVC(**params), X, y, cv=5).mean())


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=30, execution=True)
    args = parser.parse_args(argv)
    print(parser.banner(args, "maximize 5-fold accuracy of an SVM on digits"))
    result = ut.optimize(objective, SPACE, backend=args.backend, direction=DIRECTION,
                         n_trials=args.n_trials, n_workers=args.workers, seed=args.seed,
                         storage=args.storage, study_name=args.study, callbacks=parser.callbacks(args),
                         **parser.execution(args))
    print(f"{result.backend}: best accuracy {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
