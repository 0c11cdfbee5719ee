"""Population-Based Training: the worst members copy a better one's network and perturb its params.

Follows slide 5: a population of 10 trains for 10 steps over learning_rate 1e-4..0.1,
batch_size 16..256 and num_layers 1..5. Each step is one epoch of a scikit-learn MLP
on the digits (``partial_fit``): the trial saves its network (``trial.checkpoint``) and
reports its validation accuracy. The slide's ``PBTOptimizer`` is what ``ray:pbt``
(Ray Tune's PopulationBasedTraining) does: every ``--interval`` steps a member in the
bottom 20% (the slide's ``exploit_threshold=0.2``) goes on from a copy of a top
member's network (``trial.restore``) with its params multiplied by 0.8 or 1.2 (the
slide's factors), or resampled. The whole population trains at once (``--workers``
defaults to the population there; each member reserves a share of the cores). The
ledger keeps each trial's params history, which this script prints. What differs from the slide: real validation scores instead of
random numbers; Ray exploits the bottom fraction rather than each member with
probability 0.2; only learning_rate and batch_size are perturbed, because num_layers is
the shape of the copied network (a member takes it from its donor, unchanged).

Other engines cannot copy a network between trials: there each trial trains its own
fixed params for the same 10 steps, with no exploit/explore (the script says so);
``optuna:*`` runs without a pruner, and ``ray:asha``/``ray:hyperband``/``ray:median``
stop trials as their scheduler does.

    python recipes/pbt.py                          # ray:pbt: population 10, 10 steps
    python recipes/pbt.py --synch --interval 2     # Ray's synchronous PBT
    python recipes/pbt.py --backend optuna:tpe     # fixed params per trial
"""

from __future__ import annotations

import os
import warnings
from functools import lru_cache, partial
from typing import Any

import unitune as ut

SLIDE = 5
BACKEND = "ray:pbt"
DIRECTION = "maximize"
SPACE = ut.Space(
    # The slide's ranges, sampled on a log scale as a practitioner does (uniformly, 9 in
    # 10 learning rates would be above 0.01 and most batch sizes above 40).
    learning_rate=ut.Float(1e-4, 0.1, log=True),
    batch_size=ut.Int(16, 256, log=True),
    num_layers=ut.Int(1, 5),
)
WIDTH = 64  # units per hidden layer: the slide does not say, 64 suits 8x8 digits
STEPS = 10
HISTORY = "unitune:params_history"  # where the ledger keeps a PBT trial's params over time


@lru_cache(maxsize=1)
def digits() -> tuple[Any, Any, Any, Any]:
    """Scaled train/validation split of scikit-learn's digits (real data instead of the
    slide's random scores), as float32 (half the cost of float64 per epoch)."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0,
                                              stratify=y)
    scaler = StandardScaler().fit(X_tr)
    return (scaler.transform(X_tr).astype(np.float32),
            scaler.transform(X_va).astype(np.float32), y_tr, y_va)


def network(params: dict[str, Any]) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(WIDTH,) * params["num_layers"],
                         learning_rate_init=params["learning_rate"],
                         batch_size=params["batch_size"], random_state=0)  # seeded weights


def train_on(model: Any, params: dict[str, Any]) -> Any:
    """The copied network trains on with the perturbed learning rate and batch size.
    sklearn's Adam keeps the rate it was created with, so it is set there too."""
    model.set_params(learning_rate_init=params["learning_rate"],
                     batch_size=params["batch_size"])
    if hasattr(model, "_optimizer"):
        model._optimizer.learning_rate_init = params["learning_rate"]
    return model


def objective(params: dict[str, Any], trial: ut.Trial, steps: int = STEPS) -> float:
    """Validation accuracy after ``steps`` epochs, reported after each (step = epochs
    trained). Goes on from the network ``trial.restore`` gives: this trial's own after
    a pause, or a better member's after PBT's exploit step."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    X_tr, X_va, y_tr, y_va = digits()
    state = trial.restore()
    if state is None:
        model, done = network(params), 0
    else:
        model, done = train_on(state["model"], params), state["epoch"]
    accuracy = float(model.score(X_va, y_va)) if done else 0.0
    with threadpool_limits(1):  # small matrices: one BLAS thread per trial is faster
        for epoch in range(done + 1, steps + 1):
            model.partial_fit(X_tr, y_tr, classes=np.arange(10))
            accuracy = float(model.score(X_va, y_va))
            trial.checkpoint({"model": model, "epoch": epoch})  # before the report (Ray)
            trial.report(accuracy, epoch)
    return accuracy


def exploits(result: ut.Result) -> list[dict[str, Any]]:
    """Each exploit step: which trial, at which step, copied from which, params before
    and after."""
    events = []
    for t in result.trials:
        history = t.user_attrs.get(HISTORY) or []
        for before, after in zip(history, history[1:]):
            events.append({"trial": t.number, "step": after["step"],
                           "copied_from": after["from"], "params_before": before["params"],
                           "params_after": after["params"]})
    return sorted(events, key=lambda e: (e["step"], e["trial"]))


def options_for(backend: str, steps: int, interval: int, synch: bool,
                population: int) -> dict[str, Any]:
    """PBT's options on ray:pbt only; elsewhere each trial keeps its params."""
    if backend == "ray:pbt":
        return {"perturbation_interval": interval, "synch": synch,
                "quantile_fraction": 0.2,  # the slide's exploit_threshold
                "hyperparam_mutations": ["learning_rate", "batch_size"],
                # the whole population trains at once on this machine's cores
                "cpus_per_trial": min(1.0, (os.cpu_count() or 1) / population)}
    if backend.startswith("optuna:"):
        return {"pruner": "none"}  # PBT stops no member: neither does this comparison
    if backend in ("ray:asha", "ray:hyperband"):
        return {"max_t": steps}
    return {}


def how(backend: str, options: dict[str, Any]) -> str:
    """What the backend does with the population, from the backend and its options."""
    if backend == "ray:pbt":
        return (f"{'synchronous' if options['synch'] else 'asynchronous'} PBT: every "
                f"{options['perturbation_interval']} step(s) the bottom "
                f"{options['quantile_fraction']:.0%} copy a top member's network and perturb "
                f"{' and '.join(options['hyperparam_mutations'])}")
    prunes = {b.name: b.capabilities.pruning for b in ut.backends()}[backend]
    stops = f", and {backend} stops trials early" if prunes and not options.get("pruner") else ""
    return (f"{backend}: no exploit/explore (that is ray:pbt): each trial trains its own "
            f"fixed params{stops}")


def positive(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=10, execution=True)
    parser.add_argument("--steps", type=positive, default=STEPS, help="epochs per member "
                        f"(default {STEPS}, the slide's steps)")
    parser.add_argument("--interval", type=positive, default=1,
                        help="ray:pbt: steps between exploits (default 1: every step, as "
                             "on the slide)")
    parser.add_argument("--synch", action="store_true",
                        help="ray:pbt: the population meets at each interval, then the "
                             "bottom copies the top (default: Ray's asynchronous PBT)")
    args = parser.parse_args(argv)
    if args.synch and args.backend != "ray:pbt":
        parser.error(f"--synch: synchronous PBT is ray:pbt's; {args.backend} has no "
                     "population to synchronise (drop --synch or use --backend ray:pbt)")
    if args.backend == "ray:pbt" and args.workers == 1:
        args.workers = args.n_trials  # PBT compares members training at the same time
    options = options_for(args.backend, args.steps, args.interval, args.synch,
                          args.workers)
    print(parser.banner(args, f"maximize validation accuracy after {args.steps} epochs"))
    print(how(args.backend, options))
    with warnings.catch_warnings():  # skopt's "does not prune" warning: nothing to prune
        warnings.filterwarnings("ignore", message=".*does not prune")
        result = ut.optimize(partial(objective, steps=args.steps), SPACE,
                             direction=DIRECTION, backend=args.backend,
                             n_trials=args.n_trials, n_workers=args.workers, seed=args.seed,
                             storage=args.storage, study_name=args.study, callbacks=parser.callbacks(args),
                             **parser.execution(args),
                             options=options)
    events = exploits(result)
    for e in events:
        changed = ", ".join(f"{k} {e['params_before'][k]:.4g} -> {v:.4g}"
                            for k, v in e["params_after"].items()
                            if v != e["params_before"][k])
        print(f"step {e['step']:>2}: trial {e['trial']} took trial {e['copied_from']}'s "
              f"network; {changed or 'params unchanged'}")
    final = ", ".join(f"{t.value:.3f}" for t in result.trials if t.value is not None)
    kind = (f"members, {len(events)} exploits" if result.backend == "ray:pbt"
            else "trials with fixed params")
    print(f"{result.backend}: {len(result.trials)} {kind}; final accuracies {final}")
    print(f"best validation accuracy {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
