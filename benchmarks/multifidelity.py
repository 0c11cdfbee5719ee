"""The multi-fidelity family: pruners and schedulers on an objective that reports per epoch.

The objective is a one-hidden-layer MLP (scikit-learn's ``MLPClassifier``, Adam) trained
one epoch at a time (``partial_fit``) on scikit-learn's digits, a fixed stratified 70/30
train/validation split, for at most ``EPOCHS`` epochs. After each epoch it reports the
validation accuracy (``trial.report(accuracy, epoch)``, which raises ``ut.TrialPruned``
when the backend stops the trial) and keeps its model as a checkpoint (Ray's
synchronous Hyperband pauses trials and resumes them from it). Same params, same numbers:
the weights and the shuffling are seeded (``random_state=0``).

The variants (``VARIANTS``, the ``(label, backend, options)`` tuples ``ut.compare``
takes) are no pruning (TPE, and random search: full training), Optuna's median,
successive-halving and Hyperband pruners (under TPE, as Optuna users combine them, and
successive halving under random search too: the same search as Ray's ASHA), and Ray's
ASHA, Hyperband and median stopping rule (Ray's random searcher), with ``ray:random``
as ASHA's paired full training (the same seed draws the same configs in the same
order). Their budgets follow one set of rules, ``SCHEDULE`` (see the comment there).

The figure is the best accuracy reached against the epochs spent (``budget_curve``);
the anchor (``asha_anchor``): ASHA's best accuracy against full training's, and the
share of the epochs it spent, over seeds.

    python benchmarks/multifidelity.py [--n-trials 40] [--seeds 10] [--variants ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `unitune` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unitune as ut
from benchmarks._results import add_out, write_report

EPOCHS = 27  # 3**3: rungs at 1, 3, 9, 27 epochs with a reduction factor of 3
SPACE = ut.Space(
    learning_rate_init=ut.Float(1e-4, 1e-1, log=True),
    alpha=ut.Float(1e-6, 1e-1, log=True),  # L2 penalty
    hidden_size=ut.Int(16, 128, log=True),
    batch_size=ut.Categorical([32, 64, 128, 256]),
    activation=ut.Categorical(["relu", "tanh", "logistic"]),
)
_DATA: dict[str, Any] = {}  # a plain dict, not lru_cache: Ray may pickle the module by value


def digits() -> tuple[Any, Any, Any, Any]:
    """The scaled float32 train/validation split of the digits (once per process)."""
    if "split" not in _DATA:
        import numpy as np
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        X, y = load_digits(return_X_y=True)
        X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0,
                                                  stratify=y)
        scaler = StandardScaler().fit(X_tr)
        _DATA["split"] = (scaler.transform(X_tr).astype(np.float32),
                          scaler.transform(X_va).astype(np.float32), y_tr, y_va)
    return _DATA["split"]


def mlp_digits(params: dict[str, Any], trial: ut.Trial, epochs: int = EPOCHS) -> float:
    """Validation accuracy after ``epochs`` epochs; reports each epoch's (step = epochs
    trained) and continues from the trial's checkpoint when the backend resumes it."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    X_tr, X_va, y_tr, y_va = digits()
    state = trial.restore()
    if state is None:
        model = MLPClassifier(hidden_layer_sizes=(params["hidden_size"],),
                              activation=params["activation"], alpha=params["alpha"],
                              batch_size=params["batch_size"],
                              learning_rate_init=params["learning_rate_init"], random_state=0)
        done = 0
    else:
        model, done = state
    accuracy = float(model.score(X_va, y_va)) if done else 0.0
    with threadpool_limits(1), warnings.catch_warnings():  # small matrices: one thread
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(done + 1, epochs + 1):
            model.partial_fit(X_tr, y_tr, classes=np.arange(10))
            accuracy = float(model.score(X_va, y_va))
            trial.checkpoint((model, epoch))  # before the report: on Ray it goes with it
            trial.report(accuracy, epoch)  # raises ut.TrialPruned if the backend stops it
    return accuracy


# The fairness rules of the scheduler budgets, in one place (tests/test_multifidelity.py
# checks them against what each engine is built with, and the defaults named here against
# the engines' own signatures):
# - the same full training everywhere: at most EPOCHS epochs (Ray's max_t, Optuna
#   Hyperband's max_resource; the objective itself stops at EPOCHS);
# - the same minimum resource: a trial may be stopped from its first epoch on (Ray's
#   grace_period 1 is unitune's default, Optuna SH's min_resource="auto" estimates 1 at
#   27 epochs, Hyperband's r_min is 1 in both engines); written out, so that it does not
#   depend on an estimate;
# - the same reduction factor 3 for every halving rule (Optuna's successive halving and
#   Hyperband, Ray's ASHA and Hyperband): Hyperband's default in both engines and the
#   Hyperband paper's eta; Optuna SH and Ray ASHA default to 4. With 27 epochs the rungs
#   are then the same epochs 1, 3, 9, 27 in every engine (Hyperband: 4 brackets in both);
# - the same start for the median rules: 5 trials before the rule applies (Optuna's
#   MedianPruner default n_startup_trials, which counts completed trials; Ray's
#   MedianStoppingRule defaults to min_samples_required=3 trials that reached the epoch)
#   and the same first epoch (Optuna's n_warmup_steps, Ray's grace_period: the earliest
#   step at which a trial may be stopped).
# No pruning is asked for explicitly: unitune's optuna:* backends prune with the median
# rule by default (Optuna's own default pruner).
SCHEDULE: dict[str, int] = {"max_epochs": EPOCHS, "min_epochs": 1, "reduction_factor": 3,
                            "median_startup_trials": 5}
SCHEDULE_RULE = ("max epochs E=27 everywhere; minimum resource / grace period 1 epoch; "
                 "reduction factor 3 for successive halving, Hyperband and ASHA (rungs 1, 3, "
                 "9, 27); median rules: 5 trials before they apply, from epoch 1; no "
                 "pruning: pruner='none' (optuna:* prunes with the median rule by default)")


def scheduler_options(kind: str, schedule: dict[str, int] = SCHEDULE) -> dict[str, Any]:
    """The options of one pruning rule under ``schedule``, in its engine's own terms.
    ``kind``: optuna median|successive_halving|hyperband, ray asha|hyperband|median."""
    e, r, eta, n = (schedule["max_epochs"], schedule["min_epochs"],
                    schedule["reduction_factor"], schedule["median_startup_trials"])
    options: dict[str, dict[str, Any]] = {
        "optuna:median": {"pruner": "median", "pruner_options": {
            "n_startup_trials": n, "n_warmup_steps": r}},
        "optuna:successive_halving": {"pruner": "successive_halving", "pruner_options": {
            "min_resource": r, "reduction_factor": eta, "min_early_stopping_rate": 0}},
        "optuna:hyperband": {"pruner": "hyperband", "pruner_options": {
            "min_resource": r, "max_resource": e, "reduction_factor": eta}},
        "ray:asha": {"max_t": e, "grace_period": r, "reduction_factor": eta},
        "ray:hyperband": {"max_t": e, "reduction_factor": eta},
        "ray:median": {"grace_period": r, "min_samples_required": n},
    }
    return options[kind]


NO_PRUNING = {"pruner": "none"}


def variants(schedule: dict[str, int] = SCHEDULE) -> list[tuple[str, str, dict[str, Any]]]:
    """The family's ``(label, backend, options)`` variants under ``schedule``."""
    opt = scheduler_options
    return [
        ("tpe", "optuna:tpe", dict(NO_PRUNING)),
        ("random (full training)", "optuna:random", dict(NO_PRUNING)),
        ("tpe+median", "optuna:tpe", opt("optuna:median", schedule)),
        ("tpe+sh", "optuna:tpe", opt("optuna:successive_halving", schedule)),
        ("tpe+hyperband", "optuna:tpe", opt("optuna:hyperband", schedule)),
        ("random+sh", "optuna:random", opt("optuna:successive_halving", schedule)),
        ("ray:asha", "ray:asha", opt("ray:asha", schedule)),
        ("ray:hyperband", "ray:hyperband", opt("ray:hyperband", schedule)),
        ("ray:median", "ray:median", opt("ray:median", schedule)),
        ("ray:random (full training)", "ray:random", {}),
    ]


VARIANTS = variants()
FULL_TRAINING = "random (full training)"  # the anchor's reference: random search, no pruning
PAIRED_FULL_TRAINING = "ray:random (full training)"  # ASHA's own configs, trained in full


@dataclass(frozen=True)
class Run:
    """One (variant, seed) study, as ``ut.compare``'s ``Comparison.runs`` holds it."""

    label: str
    backend: str
    options: dict[str, Any]
    seed: int
    result: ut.Result


def run_variants(chosen: Sequence[tuple[str, str, dict[str, Any]]], n_trials: int,
                 seeds: Iterable[int], *, epochs: int = EPOCHS, storage: Any = None,
                 study_name: str = "multifidelity") -> list[Run]:
    """Each variant under each seed, one trial at a time (the same order, hence the same
    numbers, every time); studies ``<study_name>/<label>/seed<k>``."""
    import functools

    objective = mlp_digits if epochs == EPOCHS else functools.partial(mlp_digits,
                                                                      epochs=epochs)
    runs = []
    for label, backend, options in chosen:
        for seed in seeds:
            result = ut.optimize(objective, SPACE, backend=backend, direction="maximize",
                                 n_trials=n_trials, seed=seed, options=options,
                                 storage=storage, study_name=f"{study_name}/{label}/seed{seed}")
            runs.append(Run(label, backend, dict(options), seed, result))
    return runs


def epochs_spent(result: ut.Result) -> int:
    """Epochs trained: one report per epoch, a pruned trial's included."""
    return sum(len(t.intermediate) for t in result.trials)


def budget_curve(result: ut.Result) -> list[tuple[int, float]]:
    """(epochs spent, best accuracy of a completed trial so far) after each trial that
    ended, in the order they ended. A trial's epochs count when it ends: exact with one
    worker except for Hyperband's paused trials (counted when they end, later)."""
    def end(t: ut.TrialRecord) -> float:
        start = t.datetime_start.timestamp() if t.datetime_start else 0.0
        return start + (t.duration or 0.0)

    spent, best, out = 0, float("-inf"), []
    for t in sorted(result.trials, key=lambda t: (end(t), t.number)):
        spent += len(t.intermediate)
        if t.state is ut.TrialState.COMPLETE and t.value is not None:
            best = max(best, t.value)
        out.append((spent, best))
    return out


def wall_seconds(result: ut.Result) -> float:
    """From the first trial's start to the last one's end. (The sum of the trials'
    durations is no measure of cost under Ray's Hyperband: a paused trial's duration runs
    on while it waits.)"""
    starts = [t.datetime_start.timestamp() for t in result.trials if t.datetime_start]
    ends = [t.datetime_start.timestamp() + (t.duration or 0.0) for t in result.trials
            if t.datetime_start]
    return max(ends) - min(starts) if starts else 0.0


def finals(runs: Iterable[Run]) -> list[dict[str, Any]]:
    """One row per run: its best accuracy, epochs spent, trials pruned, wall seconds."""
    return [{"label": r.label, "backend": r.backend, "seed": r.seed,
             "best": r.result.best_value, "epochs": epochs_spent(r.result),
             "trials": len(r.result.trials),
             "pruned": sum(t.state is ut.TrialState.PRUNED for t in r.result.trials),
             "seconds": wall_seconds(r.result)} for r in runs]


def summary(runs: Sequence[Run], epochs: int = EPOCHS) -> list[dict[str, Any]]:
    """One row per variant: median best accuracy (and IQR), median epochs and their share
    of full training's (n_trials x epochs), median pruned trials and seconds."""
    rows = finals(runs)
    out = []
    for label in dict.fromkeys(r["label"] for r in rows):
        mine = [r for r in rows if r["label"] == label]
        best = sorted(r["best"] for r in mine)
        q = statistics.quantiles(best, n=4) if len(best) > 1 else [best[0]] * 3
        full = mine[0]["trials"] * epochs
        out.append({"label": label, "backend": mine[0]["backend"], "seeds": len(mine),
                    "median_best": statistics.median(best), "q25": q[0], "q75": q[2],
                    "median_epochs": statistics.median(r["epochs"] for r in mine),
                    "epochs_share": statistics.median(r["epochs"] / full for r in mine),
                    "median_pruned": statistics.median(r["pruned"] for r in mine),
                    "median_seconds": statistics.median(r["seconds"] for r in mine)})
    return out


def asha_anchor(runs: Sequence[Run], pruned: str = "ray:asha",
                full: str = FULL_TRAINING) -> dict[str, Any]:
    """The issue's anchor: does ``pruned`` reach within 1 accuracy point of ``full``
    training's best on at most 1/3 of its epochs? Per seed, then the medians over seeds
    (the claim is about the medians; ``seeds_holding`` counts the seeds where both hold)."""
    by = {(r.label, r.seed): r.result for r in runs}
    rows = []
    for seed in sorted(s for (label, s) in by if label == pruned and (full, s) in by):
        a, f = by[(pruned, seed)], by[(full, seed)]
        rows.append({"seed": seed, "pruned_best": a.best_value, "full_best": f.best_value,
                     "gap_points": 100 * (f.best_value - a.best_value),
                     "pruned_epochs": epochs_spent(a), "full_epochs": epochs_spent(f),
                     "epochs_ratio": epochs_spent(a) / epochs_spent(f)})
    if not rows:
        return {"pruned": pruned, "full": full, "seeds": []}
    gap = statistics.median(r["gap_points"] for r in rows)
    ratio = statistics.median(r["epochs_ratio"] for r in rows)
    return {"pruned": pruned, "full": full, "seeds": rows,
            "median_gap_points": gap, "max_gap_points": max(r["gap_points"] for r in rows),
            "median_epochs_ratio": ratio,
            "max_epochs_ratio": max(r["epochs_ratio"] for r in rows),
            "holds": gap <= 1.0 and ratio <= 1 / 3,
            "seeds_holding": sum(r["gap_points"] <= 1.0 and r["epochs_ratio"] <= 1 / 3
                                 for r in rows)}


def curve_table(runs: Sequence[Run], points: int = 60) -> list[dict[str, Any]]:
    """Median and IQR over seeds of the best accuracy reached by each number of epochs
    spent (a log-spaced grid up to the largest run), per variant: the figure's data."""
    import numpy as np

    curves = {id(r): budget_curve(r.result) for r in runs}
    top = max(c[-1][0] for c in curves.values())
    grid = np.unique(np.geomspace(1, top, points).round().astype(int))
    rows = []
    for label in dict.fromkeys(r.label for r in runs):
        best = np.array([[max((b for e, b in curves[id(r)] if e <= x), default=np.nan)
                          for x in grid] for r in runs if r.label == label], dtype=float)
        best[~np.isfinite(best)] = np.nan  # before the first completed trial
        spent = max(curves[id(r)][-1][0] for r in runs if r.label == label)
        for i, x in enumerate(grid):
            column = best[:, i]
            if x > spent or np.isnan(column).mean() > 0.5:
                continue  # past the variant's budget, or most seeds have no trial done
            q25, median, q75 = np.nanpercentile(column, [25, 50, 75])
            rows.append({"label": label, "epochs": int(x), "median": float(median),
                         "q25": float(q25), "q75": float(q75)})
    return rows


def plot(runs: Sequence[Run], path: str | Path, anchor: dict[str, Any] | None = None) -> Path:
    """PNG: median best accuracy (IQR band) against epochs spent, one line per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = curve_table(runs)
    fig, ax = plt.subplots(figsize=(8, 5))
    for label in dict.fromkeys(r["label"] for r in rows):
        mine = [r for r in rows if r["label"] == label]
        x = [r["epochs"] for r in mine]
        style = "--" if "full training" in label or label == "tpe" else "-"
        (line,) = ax.plot(x, [r["median"] for r in mine], style, label=label)
        ax.fill_between(x, [r["q25"] for r in mine], [r["q75"] for r in mine],
                        color=line.get_color(), alpha=0.12)
    if anchor and anchor.get("seeds"):
        full = statistics.median(r["full_best"] for r in anchor["seeds"])
        ax.axhline(full - 0.01, color="grey", lw=0.8, ls=":",
                   label="full training's median best - 1 point")
    ax.set_xscale("log")
    ax.set_xlabel("epochs spent (sum of every trial's reports)")
    ax.set_ylabel("best validation accuracy of a completed trial")
    ax.set_ylim(bottom=max(0.9, ax.get_ylim()[0]))
    ax.set_title(f"MLP on digits, up to {EPOCHS} epochs per trial: median over "
                 f"{len({r.seed for r in runs})} seeds, IQR band")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| variant | backend | median best (IQR) | median epochs | share of full | "
             "pruned | seconds |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['backend']} | {r['median_best']:.4f} "
                     f"({r['q25']:.4f}-{r['q75']:.4f}) | {r['median_epochs']:g} | "
                     f"{r['epochs_share']:.0%} | {r['median_pruned']:g} | "
                     f"{r['median_seconds']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    labels = [label for label, _, _ in VARIANTS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--variants", nargs="+", default=labels, choices=labels)
    parser.add_argument("--storage", default=None, help="ledger (default: in memory)")
    parser.add_argument("--plot", default=None, help="also draw the figure to this PNG")
    add_out(parser, "multifidelity")
    args = parser.parse_args(argv)
    chosen = [v for v in VARIANTS if v[0] in args.variants]
    start = time.perf_counter()
    runs = run_variants(chosen, args.n_trials, range(args.seeds), storage=args.storage)
    rows = summary(runs)
    anchors = [asha_anchor(runs, full=full) for full in (FULL_TRAINING, PAIRED_FULL_TRAINING)]
    report = {"n_trials": args.n_trials, "seeds": args.seeds, "epochs": EPOCHS,
              "schedule": SCHEDULE, "schedule_rule": SCHEDULE_RULE,
              "variants": [list(v) for v in chosen], "summary": rows, "anchors": anchors,
              "runs": finals(runs), "wall_seconds": time.perf_counter() - start}
    print(f"{args.n_trials} trials, seeds 0..{args.seeds - 1}, {SCHEDULE_RULE}")
    print(table(rows))
    for a in anchors:
        if a["seeds"]:
            print(f"{a['pruned']} vs {a['full']}: median gap {a['median_gap_points']:.2f} "
                  f"points, median epochs ratio {a['median_epochs_ratio']:.3f}; holds: "
                  f"{a['holds']} ({a['seeds_holding']}/{len(a['seeds'])} seeds)")
    if args.plot:
        print(f"figure written to {plot(runs, args.plot, anchors[0])}")
    write_report(args.out, "multifidelity", report)
    return report


if __name__ == "__main__":
    main()
