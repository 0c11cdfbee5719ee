"""Population Based Training: trials copy the best trials' state and mutate their params.

The digits SGD classifier of ``recipes/asha.py`` checkpoints its model after
each epoch (``trial.checkpoint``) and continues from whatever ``trial.restore``
gives it. Every ``--interval`` epochs, ``ray:pbt`` replaces the worst quarter of
the population with a copy of the best quarter's model and a perturbed
``alpha``/``eta0``; the ledger keeps each trial's params history
(``trial.user_attrs["unitune:params_history"]``), which this script prints.

By default this is Ray's asynchronous PBT: each trial is ranked against the
others' latest scores as soon as it reaches the interval. ``--synch`` waits
until every trial has reached the interval's epoch, then ranks them (Ray's
synchronous PBT): each interval the worst quarter copies the best quarter once.

    python recipes/pbt.py                    # population of 4, 30 epochs
    python recipes/pbt.py --n-trials 8 --interval 3
    python recipes/pbt.py --synch
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import unitune as ut

try:  # run as `python recipes/pbt.py` or imported as `recipes.pbt`
    from recipes.asha import EPOCHS, SPACE, sgd_digits
except ImportError:  # pragma: no cover - script mode puts recipes/ itself on sys.path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from asha import EPOCHS, SPACE, sgd_digits  # type: ignore[no-redef]

HISTORY = "unitune:params_history"


def exploits(result: ut.Result) -> list[dict[str, Any]]:
    """Each exploit step: which trial, at which epoch, copied from which, params before
    and after."""
    events = []
    for t in result.trials:
        history = t.user_attrs.get(HISTORY) or []
        for before, after in zip(history, history[1:]):
            events.append({"trial": t.number, "epoch": after["step"], "copied_from":
                           after["from"], "params_before": before["params"],
                           "params_after": after["params"]})
    return events


def run(n_trials: int, interval: int, seed: int, backend: str = "ray:pbt",
        synch: bool = False) -> ut.Result:
    options: dict[str, Any] = {"cpus_per_trial": 0.5}
    if backend == "ray:pbt":
        options.update(perturbation_interval=interval, synch=synch,
                       hyperparam_mutations=["alpha", "eta0"])
    # The whole population trains at once (PBT compares trials at the same epoch).
    return ut.optimize(sgd_digits, SPACE, backend=backend, direction="maximize",
                       n_trials=n_trials, n_workers=n_trials, seed=seed, options=options)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="ray:pbt")
    parser.add_argument("--n-trials", type=int, default=4, help="the population size")
    parser.add_argument("--interval", type=int, default=5, help="epochs between exploits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synch", action="store_true",
                        help="synchronous PBT: the population meets at each interval "
                             "(default: Ray's asynchronous PBT)")
    args = parser.parse_args(argv)
    result = run(args.n_trials, args.interval, args.seed, args.backend, args.synch)
    events = exploits(result)
    out = {
        "backend": result.backend,
        "population": len(result.trials),
        "synchronous": args.synch,
        "epochs": EPOCHS,
        "exploit_events": len(events),
        "events": events,
        "final_accuracy": {t.number: t.value for t in result.completed},
        "best_accuracy": result.best_value,
        "best_params": result.best_params,
    }
    print(json.dumps(out, indent=2, default=str))
    return out


if __name__ == "__main__":
    main()
