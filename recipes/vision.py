"""A small convolutional network (torch, CPU) on scikit-learn's 8x8 digits images.

Tunes the learning rate (log scale), the number of channels, dropout and the
batch size; each trial trains for ``--epochs`` epochs and reports its
validation accuracy after every epoch, so the pruner (median by default) stops
trials that fall behind. torch uses one thread per process (two cores are
enough for two workers) and every trial is seeded.

    python recipes/vision.py                              # 30 trials, 10 epochs
    python recipes/vision.py --pruner hyperband --n-trials 50
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

import unitune as ut

SPACE = ut.Space(
    lr=ut.Float(1e-4, 3e-2, log=True),
    channels=ut.Int(8, 48, step=8),
    dropout=ut.Float(0.0, 0.5),
    batch_size=ut.Categorical([16, 32, 64, 128]),
)

_DATA: dict[str, Any] = {}


def tensors() -> tuple[Any, Any, Any, Any]:
    """Train/validation tensors of the digits as 1x8x8 images in [0, 1]."""
    if "split" not in _DATA:
        import torch
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_tr, X_va, y_tr, y_va = train_test_split(X / 16.0, y, test_size=0.3,
                                                  random_state=0, stratify=y)
        img = lambda a: torch.tensor(a, dtype=torch.float32).reshape(-1, 1, 8, 8)  # noqa: E731
        _DATA["split"] = (img(X_tr), img(X_va), torch.tensor(y_tr), torch.tensor(y_va))
    return _DATA["split"]


def network(channels: int, dropout: float) -> Any:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),        # 4x4
        nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 2x2
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(8 * channels, 10))


def cnn_digits(params: dict[str, Any], trial: ut.Trial, epochs: int = 10) -> float:
    """Validation accuracy after the last epoch; reported after each (step = epoch)."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    X_tr, X_va, y_tr, y_va = tensors()
    model = network(params["channels"], params["dropout"])
    optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
    accuracy = 0.0
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in torch.randperm(len(X_tr)).split(params["batch_size"]):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X_tr[batch]), y_tr[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = float((model(X_va).argmax(1) == y_va).float().mean())
        trial.report(accuracy, epoch)  # raises ut.TrialPruned when the pruner says so
    return accuracy


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="optuna:tpe")
    parser.add_argument("--n-trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--pruner", default="median", help="Optuna pruner")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    options = {"pruner": args.pruner} if args.backend.startswith("optuna") else {}
    if args.backend in ("ray:asha", "ray:hyperband"):
        options = {"max_t": args.epochs}
    result = ut.optimize(partial(cnn_digits, epochs=args.epochs), SPACE, backend=args.backend, direction="maximize",
                         n_trials=args.n_trials, n_workers=args.workers, seed=args.seed,
                         options=options)
    states = [t.state for t in result.trials]
    print(f"{args.backend}: {len(states)} trials, {states.count(ut.TrialState.PRUNED)} "
          f"pruned, {states.count(ut.TrialState.COMPLETE)} complete, "
          f"{states.count(ut.TrialState.FAIL)} failed")
    print(f"best validation accuracy {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
