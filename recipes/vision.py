"""Computer vision: three small CNN architectures and their training, tuned with early stopping.

Follows slide 14's search: ``base_model`` (resnet, efficientnet, mobilenet),
``learning_rate`` 1e-4-1e-2 (log), ``batch_size`` 16-128, ``dropout`` 0.1-0.5 and
``epochs`` 30/50/100, on real images instead of the slide's random noise:
scikit-learn's 8x8 digits (1,797 images, 10 classes). The slide fine-tunes pretrained
ResNet-50 / EfficientNet / MobileNet backbones on 224-pixel images; no pretrained
weights are available offline and 8x8 images have no room for them, so each name is a
small CNN trained from scratch, built from that family's block and sized in the
slide's order (resnet: residual blocks, the largest; efficientnet: inverted residuals
with squeeze-and-excitation; mobilenet: depthwise-separable convolutions, the smallest).
Each trial reports its validation accuracy after every epoch: ``optuna:*`` prunes with
``--pruner`` (median), ``ray:asha`` / ``ray:hyperband`` stop trials at their rungs,
and backends without early stopping (``skopt:*``, ``pymoo:*``) train every trial fully.

    python recipes/vision.py                              # optuna:tpe + median pruner, 20 trials
    python recipes/vision.py --backend ray:asha --workers 2
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

import unitune as ut

SLIDE = 14
BACKEND = "optuna:tpe"
DIRECTION = "maximize"
SPACE = ut.Space(
    base_model=ut.Categorical(["resnet", "efficientnet", "mobilenet"]),
    learning_rate=ut.Float(1e-4, 1e-2, log=True),
    batch_size=ut.Categorical([16, 32, 64, 128]),
    dropout=ut.Float(0.1, 0.5),
    epochs=ut.Categorical([30, 50, 100]),
)
GRID_REFUSAL = ("learning_rate and dropout are continuous: a grid cannot list them "
                "(grid.py is the grid recipe)")
# The slide's epochs are for a large backbone on a GPU; on a CPU, digits converge in a
# few epochs, so a trial trains epochs x EPOCH_SCALE of them (3, 5 or 10): --epoch-scale.
EPOCH_SCALE = 0.1


@lru_cache(maxsize=1)
def tensors() -> tuple[Any, Any, Any, Any]:
    """Stratified train/validation tensors of the digits as 1x8x8 images in [0, 1]."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X / 16.0, y, test_size=0.3, random_state=0,
                                              stratify=y)
    img = lambda a: torch.tensor(a, dtype=torch.float32).reshape(-1, 1, 8, 8)  # noqa: E731
    return img(X_tr), img(X_va), torch.tensor(y_tr), torch.tensor(y_va)


def _conv(c_in: int, c_out: int, k: int = 3, stride: int = 1, groups: int = 1) -> Any:
    from torch import nn

    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


def _blocks() -> tuple[Any, Any, Any]:
    """The three families' blocks (torch is imported only when a trial runs)."""
    from torch import nn

    class Residual(nn.Module):  # ResNet's basic block: two 3x3 convs and a shortcut
        def __init__(self, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.body = nn.Sequential(_conv(c_in, c_out, 3, stride),
                                      nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(c_out))
            self.skip = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

        def forward(self, x: Any) -> Any:
            return (self.body(x) + self.skip(x)).relu()

    class MBConv(nn.Module):  # EfficientNet's block: expand, depthwise, squeeze-excite, project
        def __init__(self, c_in: int, c_out: int, stride: int, expand: int = 4) -> None:
            super().__init__()
            mid = c_in * expand
            self.expand, self.depthwise = _conv(c_in, mid, 1), _conv(mid, mid, 3, stride, mid)
            self.excite = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, mid // 4, 1),
                                        nn.ReLU(), nn.Conv2d(mid // 4, mid, 1), nn.Sigmoid())
            self.project = nn.Sequential(nn.Conv2d(mid, c_out, 1, bias=False),
                                         nn.BatchNorm2d(c_out))
            self.residual = stride == 1 and c_in == c_out

        def forward(self, x: Any) -> Any:
            h = self.depthwise(self.expand(x))
            h = self.project(h * self.excite(h))
            return h + x if self.residual else h

    def separable(c_in: int, c_out: int, stride: int) -> Any:  # MobileNet's block
        return nn.Sequential(_conv(c_in, c_in, 3, stride, c_in), _conv(c_in, c_out, 1))

    return Residual, MBConv, separable


def network(base_model: str, dropout: float) -> Any:
    """The named small CNN: 8x8 -> 4x4 -> global pooling -> dropout -> 10 classes."""
    from torch import nn

    Residual, MBConv, separable = _blocks()
    if base_model == "resnet":
        body, width = [_conv(1, 16), Residual(16, 16, 1), Residual(16, 32, 2),
                       Residual(32, 32, 1)], 32
    elif base_model == "efficientnet":
        body, width = [_conv(1, 16), MBConv(16, 24, 2), MBConv(24, 24, 1),
                       _conv(24, 96, 1)], 96
    else:
        body, width = [_conv(1, 16), separable(16, 32, 2), separable(32, 64, 1)], 64
    return nn.Sequential(*body, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                         nn.Linear(width, 10))


def n_weights(base_model: str) -> int:
    return sum(p.numel() for p in network(base_model, 0.0).parameters())


def epochs_trained(params: dict, epoch_scale: float = EPOCH_SCALE) -> int:
    return max(1, round(params["epochs"] * epoch_scale))


def objective(params: dict, trial: ut.Trial | None = None,
              epoch_scale: float = EPOCH_SCALE) -> float:
    """Validation accuracy after the last epoch; reported after each (step = epoch)."""
    import torch

    torch.set_num_threads(1)  # one core per trial: two workers fill two cores
    torch.manual_seed(0)  # a trial's score depends on its params only
    X_tr, X_va, y_tr, y_va = tensors()
    model = network(params["base_model"], params["dropout"])
    optimizer = torch.optim.Adam(model.parameters(), lr=params["learning_rate"])
    accuracy = 0.0
    for epoch in range(1, epochs_trained(params, epoch_scale) + 1):
        model.train()
        for batch in torch.randperm(len(X_tr)).split(params["batch_size"]):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X_tr[batch]), y_tr[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = float((model(X_va).argmax(1) == y_va).float().mean())
        if trial is not None:
            trial.report(accuracy, epoch)  # raises ut.TrialPruned when the pruner says so
    return accuracy


def early_stopping(backend: str, pruner: str, max_epochs: int) -> tuple[dict, str]:
    """The backend's options for stopping trials early, and a line that says what stops them."""
    engine = backend.partition(":")[0]
    if engine == "optuna":
        return {"pruner": pruner}, f"Optuna's {pruner} pruner stops trials that fall behind"
    if backend in ("ray:asha", "ray:hyperband"):
        return {"max_t": max_epochs}, f"{backend} stops trials at its rungs (max_t={max_epochs})"
    if backend == "ray:median":
        return {}, "ray:median stops trials below the median of the others"
    return {}, f"{backend} does not stop trials early: each trains all its epochs"


def summary(result: ut.Result) -> list[str]:
    """Per architecture: its size, trials, how many were stopped early, its best accuracy."""
    lines = []
    for name in SPACE["base_model"].choices:
        trials = [t for t in result.trials if t.params["base_model"] == name]
        done = [t.values[0] for t in trials if t.state is ut.TrialState.COMPLETE]
        pruned = sum(t.state is ut.TrialState.PRUNED for t in trials)
        best = f"best {max(done):.4f}" if done else "none completed"
        lines.append(f"  {name:<12} {n_weights(name):6d} weights: {len(trials):2d} trials, "
                     f"{pruned:2d} stopped early, {best}")
    return lines


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=20,  # the slide's default
                             refuse={"optuna:grid": GRID_REFUSAL}, execution=True)
    parser.add_argument("--epoch-scale", type=float, default=EPOCH_SCALE,
                        help="epochs trained per epoch of the space (default 0.1: 3, 5 or 10)")
    parser.add_argument("--pruner", default="median",
                        help="Optuna's pruner on optuna:* backends (default median)")
    args = parser.parse_args(argv)
    print(parser.banner(args, "maximize validation accuracy of a CNN on 8x8 digits"))
    max_epochs = epochs_trained({"epochs": max(SPACE["epochs"].choices)}, args.epoch_scale)
    options, how = early_stopping(args.backend, args.pruner, max_epochs)
    print(how)
    result = ut.optimize(partial(objective, epoch_scale=args.epoch_scale), SPACE,
                         direction=DIRECTION, backend=args.backend, n_trials=args.n_trials,
                         n_workers=args.workers, seed=args.seed, storage=args.storage, study_name=args.study,
                         callbacks=parser.callbacks(args),
                         **parser.execution(args), options=options)
    print("\n".join(summary(result)))
    print(f"{result.backend}: {len(result.trials)} trials, best validation accuracy "
          f"{result.best_value:.4f} with {result.best_params} "
          f"({epochs_trained(result.best_params, args.epoch_scale)} epochs trained)")
    return result


if __name__ == "__main__":
    main()
