"""Optuna TPE + XGBoost with pruning and early stopping on breast_cancer.

``xgboost.train`` boosts on a training split and evaluates AUC on a validation
split; every ``--report-every`` rounds the current validation AUC goes to
``trial.report`` so the pruner (median by default) stops hopeless trials, and
XGBoost's own ``early_stopping_rounds`` stops a trial whose AUC has stalled.

    python recipes/optuna_xgboost.py                       # 40 trials, median pruner
    python recipes/optuna_xgboost.py --pruner hyperband --n-trials 60
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

import unitune as ut

SPACE = ut.Space(
    eta=ut.Float(1e-3, 0.5, log=True),
    max_depth=ut.Int(2, 10),
    min_child_weight=ut.Float(1e-2, 10.0, log=True),
    subsample=ut.Float(0.5, 1.0),
    colsample_bytree=ut.Float(0.5, 1.0),
    reg_lambda=ut.Float(1e-3, 10.0, log=True),
)

_DATA: dict[str, Any] = {}


def dmatrices() -> tuple[Any, Any]:
    """Train/validation DMatrix of breast_cancer (built once per process)."""
    if "d" not in _DATA:
        import xgboost as xgb
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import train_test_split

        X, y = load_breast_cancer(return_X_y=True)
        X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0,
                                                  stratify=y)
        _DATA["d"] = (xgb.DMatrix(X_tr, label=y_tr), xgb.DMatrix(X_va, label=y_va))
    return _DATA["d"]


def objective(params: dict[str, Any], trial: ut.Trial, rounds: int = 300, every: int = 10,
              patience: int = 30) -> float:
    """Best validation AUC of up to ``rounds`` rounds; reports the AUC every ``every``
    rounds and stops after ``patience`` rounds without improvement."""
    import xgboost as xgb

    class Report(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):  # noqa: ANN001
            if (epoch + 1) % every == 0:
                trial.report(evals_log["val"]["auc"][-1], epoch + 1)  # raises TrialPruned
            return False

    dtrain, dval = dmatrices()
    booster = xgb.train({**params, "objective": "binary:logistic", "eval_metric": "auc",
                         "nthread": 1, "seed": 0, "verbosity": 0},
                        dtrain, num_boost_round=rounds, evals=[(dval, "val")],
                        early_stopping_rounds=patience, callbacks=[Report()],
                        verbose_eval=False)
    return float(booster.best_score)


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="optuna:tpe")
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pruner", default="median")
    parser.add_argument("--rounds", type=int, default=300, help="max boosting rounds")
    parser.add_argument("--report-every", type=int, default=10)
    parser.add_argument("--patience", type=int, default=30, help="early_stopping_rounds")
    args = parser.parse_args(argv)
    options = {"pruner": args.pruner} if args.backend.startswith("optuna") else {}
    result = ut.optimize(partial(objective, rounds=args.rounds, every=args.report_every,
                                 patience=args.patience), SPACE, backend=args.backend, direction="maximize",
                         n_trials=args.n_trials, seed=args.seed, options=options)
    states = [t.state for t in result.trials]
    rounds = [args.report_every * len(t.intermediate) for t in result.completed]
    print(f"{args.backend} ({args.pruner} pruner): {len(states)} trials, "
          f"{states.count(ut.TrialState.PRUNED)} pruned, "
          f"{states.count(ut.TrialState.COMPLETE)} complete, "
          f"{states.count(ut.TrialState.FAIL)} failed")
    stopped = sum(r < args.rounds for r in rounds)
    print(f"early stopping ended {stopped} of {len(rounds)} complete trials before "
          f"{args.rounds} rounds")
    print(f"best validation AUC {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
